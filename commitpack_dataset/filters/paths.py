"""CommitPackFT rules on the file path (reference B.1 rules 5 and 6)."""

from __future__ import annotations

import posixpath

from commitpack_dataset.filters.base import Filter, Record, subject_of
from commitpack_dataset.languages import config_name

# The released script's per-language table of allowed last extensions (``LANG_TO_EXTENSIONS``),
# tested as ``new_file.split(".")[-1] in table[language directory]``. Its entries for python,
# java, javascript, rust, go, c++, c, html and xml carry a leading dot, so taken literally no row of
# those languages could pass; the data that was published shows they did, so the run that made it
# cannot have applied them and they are not applied here. Shell's entries have no dot: they filter.
ALLOWED_LAST_EXTENSIONS = {"shell": ("sh", "bash", "zsh", "csh", "slurm")}


class PathHasDot(Filter):
    """B.1-5: keep if the file path contains a dot (so bare ``Makefile`` paths are dropped)."""

    reason = "path_without_dot"

    def keep(self, record: Record) -> bool:
        return len(str(record["new_file"]).split(".")) > 1


class AllowedLastExtension(Filter):
    """B.1-5, the per-language table: for Shell the path's last ``.``-separated part must be one of
    ``sh, bash, zsh, csh, slurm`` (so ``x.ksh``, ``x.bats``, ``x.sh.in`` are dropped); other
    languages have no effective entry (see ``ALLOWED_LAST_EXTENSIONS``)."""

    reason = "extension_not_allowed_for_language"

    def __init__(self, table=None):
        self.table = ALLOWED_LAST_EXTENSIONS if table is None else table

    def keep(self, record: Record) -> bool:
        allowed = self.table.get(config_name(str(record.get("lang", ""))))
        if allowed is None:
            return True
        return str(record["new_file"]).split(".")[-1] in allowed


class FilenameInSubject(Filter):
    """B.1-6: drop if the basename component before its last dot occurs in the subject.

    For a dotfile (``.gitignore``) that component is empty and therefore always "in" the subject:
    ``faithful=True`` drops such files like the released script; ``faithful=False`` skips the
    rule for an empty component.
    """

    reason = "filename_in_subject"

    def __init__(self, faithful: bool = True):
        self.faithful = faithful

    def keep(self, record: Record) -> bool:
        basename = posixpath.basename(str(record["new_file"]))
        parts = basename.split(".")
        if len(parts) < 2:
            return True
        component = parts[-2]
        if not component and not self.faithful:
            return True
        return component not in subject_of(record)

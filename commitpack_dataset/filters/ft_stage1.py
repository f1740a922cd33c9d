"""CommitPackFT stage 1 rules (reference B.1, rules 1-16), each a small class with one job."""

from __future__ import annotations

import functools
import posixpath
import re
from importlib import resources
from typing import Tuple

from commitpack_dataset.filters.base import Filter, Mapper, Record, subject_of, with_subject


@functools.lru_cache(maxsize=1)
def imperative_verbs() -> Tuple[str, ...]:
    """The 257 English verbs of B.3, verbatim (``"plug "`` keeps its trailing space)."""
    text = resources.files("commitpack_dataset").joinpath("data/imperative_verbs.txt").read_text("utf-8")
    return tuple(line for line in text.split("\n") if line)


class OldContentsLength(Filter):
    """B.1-1: keep if ``len(old_contents) < 50,000`` characters."""

    reason = "old_contents_too_long"

    def keep(self, record: Record) -> bool:
        return len(str(record["old_contents"])) < 50_000


class NewContentsNonEmpty(Filter):
    """B.1-2: keep if ``new_contents`` is non-empty."""

    reason = "new_contents_empty"

    def keep(self, record: Record) -> bool:
        return str(record["new_contents"]) != ""


class ContentsChanged(Filter):
    """B.1-3: keep if ``old_contents != new_contents``."""

    reason = "contents_unchanged"

    def keep(self, record: Record) -> bool:
        return record["old_contents"] != record["new_contents"]


class SubjectHasHash(Filter):
    """B.1-4: drop if the subject contains ``#``."""

    reason = "subject_has_hash"

    def keep(self, record: Record) -> bool:
        return "#" not in subject_of(record)


class PathHasDot(Filter):
    """B.1-5: keep if the file path contains a dot (so bare ``Makefile`` paths are dropped)."""

    reason = "path_without_dot"

    def keep(self, record: Record) -> bool:
        return len(str(record["new_file"]).split(".")) > 1


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


class SubjectLength(Filter):
    """B.1-7 / B.1-9: keep if 10 < len(subject) < 1000 and 4 < word count < 1000."""

    def __init__(self, reason: str = "subject_length"):
        self.reason = reason

    def keep(self, record: Record) -> bool:
        subject = subject_of(record)
        return 10 < len(subject) < 1000 and 4 < len(subject.split()) < 1000


class StripSubject(Mapper):
    """B.1-8.1: strip surrounding whitespace."""

    name = "strip_subject"

    def __call__(self, record: Record) -> Record:
        return with_subject(record, subject_of(record).strip())


class RemoveSubjectLiteral(Mapper):
    """B.1-8.2 / B.2-3: remove a literal (``[skip ci]``, ``[ci skip]``) and re-strip."""

    def __init__(self, literal: str):
        self.literal = literal
        self.name = f"remove_{literal}"

    def __call__(self, record: Record) -> Record:
        return with_subject(record, subject_of(record).replace(self.literal, "").strip())


def _first_token_and_rest(subject: str) -> Tuple[str, str]:
    pieces = subject.split(maxsplit=1)
    if not pieces:
        return "", ""
    return pieces[0], pieces[1] if len(pieces) > 1 else ""


class DropLeadingBracketToken(Mapper):
    """B.1-8.3: drop a leading whitespace token enclosed in square brackets (``[core] Fix``)."""

    name = "drop_leading_bracket_token"

    def __call__(self, record: Record) -> Record:
        first, rest = _first_token_and_rest(subject_of(record))
        if first.startswith("[") and first.endswith("]"):
            return with_subject(record, rest)
        return record


class DropLeadingColonToken(Mapper):
    """B.1-8.4: drop a leading token ending in ``:`` (``demo/python/cmd.py: Fix``)."""

    name = "drop_leading_colon_token"

    def __call__(self, record: Record) -> Record:
        first, rest = _first_token_and_rest(subject_of(record))
        if first.endswith(":"):
            return with_subject(record, rest)
        return record


class DropTrailingBracketToken(Mapper):
    """B.1-8.5: drop a trailing whitespace token enclosed in square brackets (``Fix x [tests]``)."""

    name = "drop_trailing_bracket_token"

    def __call__(self, record: Record) -> Record:
        pieces = subject_of(record).rsplit(maxsplit=1)
        if len(pieces) == 2 and pieces[1].startswith("[") and pieces[1].endswith("]"):
            return with_subject(record, pieces[0])
        return record


class SubjectStartsUppercase(Filter):
    """B.1-10: keep if the first character of the stripped subject is uppercase."""

    reason = "subject_not_uppercase"

    def keep(self, record: Record) -> bool:
        return subject_of(record).strip()[:1].isupper()


class ImperativeStart(Filter):
    """B.1-12: keep if the lowercased subject starts with one of the 257 verbs plus one space."""

    reason = "subject_not_imperative"

    def __init__(self):
        self.prefixes = tuple(verb + " " for verb in imperative_verbs())

    def keep(self, record: Record) -> bool:
        return subject_of(record).lower().startswith(self.prefixes)


class SubjectExactBlocklist(Filter):
    """B.1-13: drop if the lowercased subject equals a boilerplate subject."""

    reason = "subject_exact_blocklist"
    SUBJECTS = frozenset(
        {"readme", "update", "dummy", "updated", "test", "update readme", "update readme.md",
         "updated readme.md", "updated readme"}
    )

    def keep(self, record: Record) -> bool:
        return subject_of(record).lower() not in self.SUBJECTS


class SubjectSubstringBlocklist(Filter):
    """B.1-14: drop if the lowercased subject contains an automation / merge marker."""

    reason = "subject_substring_blocklist"
    SUBSTRINGS = ("auto commit", "update contributing", "<?xml", "merge branch", "merge pull request",
                  "signed-off-by")

    def keep(self, record: Record) -> bool:
        lowered = subject_of(record).lower()
        return not any(marker in lowered for marker in self.SUBSTRINGS)


class VersionSubject(Filter):
    """B.1-15: drop if the lowercased subject starts with ``v?\\d+.\\d+.\\d+`` then end or non-space."""

    reason = "subject_is_version"
    PATTERN = re.compile(r"(?:v)?\d+\.\d+\.\d+(?=$|\S)")

    def keep(self, record: Record) -> bool:
        return self.PATTERN.match(subject_of(record).lower()) is None


class HexSubject(Filter):
    """B.1-16: drop if the lowercased subject is hex groups joined by hyphens."""

    reason = "subject_is_hex"
    PATTERN = re.compile(r"^[a-f0-9]+(?:-[a-f0-9]+)*$")

    def keep(self, record: Record) -> bool:
        return self.PATTERN.fullmatch(subject_of(record).lower()) is None

"""CommitPackFT rules on the file contents (reference B.1 rules 1-3; the token-length rule is ``tokens.py``)."""

from __future__ import annotations

from commitpack_dataset.filters.base import Filter, Record

MAX_OLD_CONTENTS_CHARACTERS = 50_000


class OldContentsLength(Filter):
    """B.1-1: keep if ``len(old_contents) < 50,000`` characters."""

    reason = "old_contents_too_long"

    def keep(self, record: Record) -> bool:
        return len(str(record["old_contents"])) < MAX_OLD_CONTENTS_CHARACTERS


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

"""Rule building blocks: filters say ``(keep, reason)``, mappers return an updated record.

Records are plain dicts with the CommitPack fields (``commit, old_file, new_file, old_contents,
new_contents, subject, message, lang, license, repos``).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

logger = logging.getLogger(__name__)

Record = Dict[str, object]
Verdict = Tuple[bool, str]


class Filter:
    """A rule that keeps or drops a record. Subclasses implement ``keep`` and set ``reason``."""

    reason: str = "filter"

    def keep(self, record: Record) -> bool:
        raise NotImplementedError

    def __call__(self, record: Record) -> Verdict:
        if self.keep(record):
            return True, ""
        return False, self.reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"


class Mapper:
    """A step that rewrites a record (e.g. cleans the subject); never drops."""

    name: str = "mapper"

    def __call__(self, record: Record) -> Record:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


Step = Union[Filter, Mapper]


class Pipeline:
    """Runs steps in order and counts kept records and drops per reason."""

    def __init__(self, steps: Sequence[Step]):
        self.steps: List[Step] = list(steps)
        self.dropped: Counter = Counter()
        self.kept = 0

    def process(self, record: Record) -> Tuple[Optional[Record], str]:
        """Return ``(record, "")`` if every filter keeps it, else ``(None, reason)``."""
        for step in self.steps:
            if isinstance(step, Mapper):
                record = step(record)
                continue
            keep, reason = step(record)
            if not keep:
                self.dropped[reason] += 1
                return None, reason
        self.kept += 1
        return record, ""

    def __call__(self, records: Iterable[Record]) -> Iterator[Record]:
        for record in records:
            kept, _ = self.process(record)
            if kept is not None:
                yield kept

    def reasons(self) -> List[str]:
        """The drop reasons of the filters, in pipeline order."""
        return [step.reason for step in self.steps if isinstance(step, Filter)]

    def table(self) -> str:
        """A plain-text table of kept and dropped counts in pipeline order."""
        rows = [("kept", self.kept)] + [(reason, self.dropped[reason]) for reason in self.reasons()]
        rows += [(reason, n) for reason, n in self.dropped.items() if reason not in self.reasons()]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {count:>10,}" for name, count in rows)


def subject_of(record: Record) -> str:
    """The record's subject as a string."""
    return str(record.get("subject", ""))


def with_subject(record: Record, subject: str) -> Record:
    """A copy of ``record`` with a new subject."""
    updated = dict(record)
    updated["subject"] = subject
    return updated

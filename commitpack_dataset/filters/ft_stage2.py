"""CommitPackFT stage 2 rules (reference B.2, rules 1-14), each a small class with one job."""

from __future__ import annotations

import hashlib
import re

from commitpack_dataset.filters.base import Filter, Record, subject_of


class CherryPickSubject(Filter):
    """B.2-1: drop if the subject contains ``cherry picked from commit``."""

    reason = "subject_cherry_pick"

    def keep(self, record: Record) -> bool:
        return "cherry picked from commit" not in subject_of(record)


class FullShaInSubject(Filter):
    """B.2-2: drop if the subject contains a 40-character hex string ``[a-f0-9]{40}``."""

    reason = "subject_has_sha"
    PATTERN = re.compile(r"[a-f0-9]{40}")

    def keep(self, record: Record) -> bool:
        return self.PATTERN.search(subject_of(record)) is None


class VersionBumpSample(Filter):
    """B.2-4: drop ``Bump`` / ``Set version`` / ``Update version`` subjects with probability 0.9.

    The released script used an unseeded generator; here the draw is a hash of the commit SHA,
    so the same commit is always kept or always dropped and about 90% are dropped.
    """

    reason = "subject_version_bump"
    PREFIXES = ("Bump", "Set version", "Update version")

    def __init__(self, drop_probability: float = 0.9):
        self.drop_probability = drop_probability

    def draw(self, commit: str) -> float:
        """A deterministic number in [0, 1) derived from the commit SHA."""
        digest = hashlib.sha256(commit.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def keep(self, record: Record) -> bool:
        if not subject_of(record).startswith(self.PREFIXES):
            return True
        return self.draw(str(record["commit"])) >= self.drop_probability


class FirstPersonSubject(Filter):
    """B.2-5: drop if the lowercased subject contains `` i ``, ``i've`` or ``i'm``."""

    reason = "subject_first_person"

    def keep(self, record: Record) -> bool:
        lowered = subject_of(record).lower()
        return not any(marker in lowered for marker in (" i ", "i've", "i'm"))


class ThanksToSubject(Filter):
    """B.2-6: drop if the lowercased subject has ``thanks to`` and the subject has ``for``."""

    reason = "subject_thanks_to"

    def keep(self, record: Record) -> bool:
        subject = subject_of(record)
        return not ("thanks to" in subject.lower() and "for" in subject)


class CodeReviewSubject(Filter):
    """B.2-7: drop if the lowercased subject contains ``code review``."""

    reason = "subject_code_review"

    def keep(self, record: Record) -> bool:
        return "code review" not in subject_of(record).lower()


class JokeSubject(Filter):
    """B.2-8: drop three joke subjects (exact, lowercased)."""

    reason = "subject_joke"
    SUBJECTS = frozenset(
        {"fix that bug where things didn't work but now they should", "put the thingie in the thingie",
         "add a beter commit message"}
    )

    def keep(self, record: Record) -> bool:
        return subject_of(record).lower() not in self.SUBJECTS


class IssueReferenceSubject(Filter):
    """B.2-9: drop ``issue N`` / ``bug N`` / ``feature N`` references, case-insensitive."""

    reason = "subject_issue_reference"
    PATTERN = re.compile(r"issue\s*\d+|bug\s*\d+|feature\s*\d+", re.IGNORECASE)

    def keep(self, record: Record) -> bool:
        return self.PATTERN.search(subject_of(record)) is None


class CodeReviewToolSubject(Filter):
    """B.2-10: drop if the subject contains ``cdpcp`` or ``//codereview``."""

    reason = "subject_review_tool"

    def keep(self, record: Record) -> bool:
        subject = subject_of(record)
        return "cdpcp" not in subject and "//codereview" not in subject


class WorkInProgressSubject(Filter):
    """B.2-11: drop ``work in progress`` and ``wip`` subjects.

    ``faithful=True`` tests the substring ``wip`` (so "wipe" and "swipe" are dropped too);
    ``faithful=False`` needs ``wip`` as a whole word, in any case (``WIP:`` is dropped, "wipe" kept).
    """

    reason = "subject_work_in_progress"
    WORD = re.compile(r"\bwip\b", re.IGNORECASE)

    def __init__(self, faithful: bool = True):
        self.faithful = faithful

    def keep(self, record: Record) -> bool:
        subject = subject_of(record)
        if "work in progress" in subject:
            return False
        if self.faithful:
            return "wip" not in subject
        return self.WORD.search(subject) is None


class UrlSubject(Filter):
    """B.2-12: drop if the subject contains ``https://`` or ``http://``."""

    reason = "subject_has_url"

    def keep(self, record: Record) -> bool:
        subject = subject_of(record)
        return "https://" not in subject and "http://" not in subject


class LeetcodeSubject(Filter):
    """B.2-13: drop if the subject contains ``| leetcode``."""

    reason = "subject_leetcode"

    def keep(self, record: Record) -> bool:
        return "| leetcode" not in subject_of(record)


class MinimumWords(Filter):
    """B.2-14: drop if the subject has fewer than 4 whitespace-separated words."""

    reason = "subject_too_few_words"

    def keep(self, record: Record) -> bool:
        return len(subject_of(record).split()) >= 4

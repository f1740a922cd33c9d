"""CommitPackFT rules on the commit subject (reference B.1 rules 4, 7, 9, 10, 12-16 and B.2 rules
1, 2, 4-14), each a small class with one job. "Lowercased" below is ``str.lower()`` of the subject,
as in the released scripts; the other tests are case-sensitive."""

from __future__ import annotations

import functools
import hashlib
import re
from importlib import resources
from typing import Tuple

from commitpack_dataset.filters.base import Filter, Record, subject_of

MIN_SUBJECT_CHARACTERS, MAX_SUBJECT_CHARACTERS = 10, 1000  # exclusive bounds
MIN_SUBJECT_WORDS, MAX_SUBJECT_WORDS = 4, 1000  # exclusive bounds


@functools.lru_cache(maxsize=1)
def imperative_verbs() -> Tuple[str, ...]:
    """The 257 English verbs of B.3, verbatim (``"plug "`` keeps its trailing space)."""
    text = resources.files("commitpack_dataset").joinpath("data/imperative_verbs.txt").read_text("utf-8")
    return tuple(line for line in text.split("\n") if line)


# ----------------------------------------------------------------------------- stage 1 (B.1)
class SubjectHasHash(Filter):
    """B.1-4: drop if the subject contains ``#``."""

    reason = "subject_has_hash"

    def keep(self, record: Record) -> bool:
        return "#" not in subject_of(record)


class SubjectLength(Filter):
    """B.1-7 / B.1-9: keep if 10 < len(subject) < 1000 and 4 < word count < 1000."""

    def __init__(self, reason: str = "subject_length"):
        self.reason = reason

    def keep(self, record: Record) -> bool:
        subject = subject_of(record)
        words = len(subject.split())
        return MIN_SUBJECT_CHARACTERS < len(subject) < MAX_SUBJECT_CHARACTERS and MIN_SUBJECT_WORDS < words < MAX_SUBJECT_WORDS


class SubjectStartsUppercase(Filter):
    """B.1-10: keep if the first character of the stripped subject is uppercase."""

    reason = "subject_not_uppercase"

    def keep(self, record: Record) -> bool:
        return subject_of(record).strip()[:1].isupper()


class ImperativeStart(Filter):
    """B.1-12: keep if the lowercased subject starts with one of the 257 verbs plus one space.

    ``faithful=True`` appends the space to every entry as the script does, so ``"plug "`` needs two
    spaces, which a cleaned subject never has; ``faithful=False`` reads it as ``plug``.
    """

    reason = "subject_not_imperative"

    def __init__(self, faithful: bool = True):
        verbs = imperative_verbs() if faithful else tuple(verb.rstrip() for verb in imperative_verbs())
        self.prefixes = tuple(verb + " " for verb in verbs)

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


# ----------------------------------------------------------------------------- stage 2 (B.2)
class _LowercasedSubstrings(Filter):
    """Drops a subject whose lowercased form contains one of ``SUBSTRINGS``."""

    SUBSTRINGS: Tuple[str, ...] = ()

    def keep(self, record: Record) -> bool:
        lowered = subject_of(record).lower()
        return not any(marker in lowered for marker in self.SUBSTRINGS)


class CherryPickSubject(Filter):
    """B.2-1: drop if the subject contains ``cherry picked from commit`` (case-sensitive)."""

    reason = "subject_cherry_pick"

    def keep(self, record: Record) -> bool:
        return "cherry picked from commit" not in subject_of(record)


class FullShaInSubject(Filter):
    """B.2-2: drop if the subject contains a 40-character hex string ``[a-f0-9]{40}`` (case-sensitive)."""

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

    @staticmethod
    def draw(commit: str) -> float:
        """A deterministic number in [0, 1) derived from the commit SHA."""
        digest = hashlib.sha256(commit.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def keep(self, record: Record) -> bool:
        if not subject_of(record).startswith(self.PREFIXES):
            return True
        return self.draw(str(record["commit"])) >= self.drop_probability


class FirstPersonSubject(_LowercasedSubstrings):
    """B.2-5: drop if the lowercased subject contains `` i ``, ``i've`` or ``i'm``."""

    reason = "subject_first_person"
    SUBSTRINGS = (" i ", "i've", "i'm")


class ThanksToSubject(Filter):
    """B.2-6: drop if the lowercased subject has ``thanks to`` and the subject has ``for`` (case-sensitive)."""

    reason = "subject_thanks_to"

    def keep(self, record: Record) -> bool:
        subject = subject_of(record)
        return not ("thanks to" in subject.lower() and "for" in subject)


class CodeReviewSubject(_LowercasedSubstrings):
    """B.2-7: drop if the lowercased subject contains ``code review``."""

    reason = "subject_code_review"
    SUBSTRINGS = ("code review",)


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


class CodeReviewToolSubject(_LowercasedSubstrings):
    """B.2-10: drop if the lowercased subject contains ``cdpcp`` or ``//codereview``."""

    reason = "subject_review_tool"
    SUBSTRINGS = ("cdpcp", "//codereview")


class WorkInProgressSubject(Filter):
    """B.2-11: drop if the lowercased subject contains ``work in progress`` or ``wip``.

    ``faithful=True`` tests the substring ``wip`` (so "wipe" and "swipe" are dropped too);
    ``faithful=False`` needs ``wip`` as a whole word (``WIP:`` is dropped, "wipe" kept).
    """

    reason = "subject_work_in_progress"
    WORD = re.compile(r"\bwip\b")

    def __init__(self, faithful: bool = True):
        self.faithful = faithful

    def keep(self, record: Record) -> bool:
        lowered = subject_of(record).lower()
        if "work in progress" in lowered:
            return False
        if self.faithful:
            return "wip" not in lowered
        return self.WORD.search(lowered) is None


class UrlSubject(_LowercasedSubstrings):
    """B.2-12: drop if the lowercased subject contains ``https://`` or ``http://``."""

    reason = "subject_has_url"
    SUBSTRINGS = ("https://", "http://")


class LeetcodeSubject(_LowercasedSubstrings):
    """B.2-13: drop if the lowercased subject contains ``| leetcode``."""

    reason = "subject_leetcode"
    SUBSTRINGS = ("| leetcode",)


class MinimumWords(Filter):
    """B.2-14: drop if the subject has fewer than 4 whitespace-separated words."""

    reason = "subject_too_few_words"

    def keep(self, record: Record) -> bool:
        return len(subject_of(record).split()) >= 4

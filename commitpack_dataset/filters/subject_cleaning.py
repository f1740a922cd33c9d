"""Subject cleaning (reference B.1 rule 8 and B.2 rule 3): mappers that rewrite, never drop.

The released script strips the subject, removes ``[skip ci]``, splits it on whitespace (Python's
``str.split()``: any run of spaces, tabs or non-breaking spaces), drops a leading ``[...]`` token,
a leading ``...:`` token and a trailing ``[...]`` token, and joins what is left with single spaces.
The cleaned subject is what the later rules test and what the record stores.
"""

from __future__ import annotations

from typing import List

from commitpack_dataset.filters.base import Mapper, Record, subject_of, with_subject


class StripSubject(Mapper):
    """B.1-8.1: strip surrounding whitespace."""

    name = "strip_subject"

    def __call__(self, record: Record) -> Record:
        return with_subject(record, subject_of(record).strip())


class RemoveSubjectLiteral(Mapper):
    """B.1-8.2 / B.2-3: remove a literal (``[skip ci]``, ``[ci skip]``; case-sensitive) and re-strip."""

    def __init__(self, literal: str):
        self.literal = literal
        self.name = f"remove_{literal}"

    def __call__(self, record: Record) -> Record:
        return with_subject(record, subject_of(record).replace(self.literal, "").strip())


def _bracketed(token: str) -> bool:
    return token.startswith("[") and token.endswith("]")


class _TokenMapper(Mapper):
    """Drops one token of the whitespace-split subject when ``drop`` says so (the rest are joined
    with single spaces); leaves the record as it is otherwise."""

    def drop(self, tokens: List[str]) -> List[str]:
        raise NotImplementedError

    def __call__(self, record: Record) -> Record:
        tokens = subject_of(record).split()
        kept = self.drop(tokens) if tokens else tokens
        return record if kept is tokens else with_subject(record, " ".join(kept))


class DropLeadingBracketToken(_TokenMapper):
    """B.1-8.3: drop a leading whitespace token enclosed in square brackets (``[core] Fix``)."""

    name = "drop_leading_bracket_token"

    def drop(self, tokens: List[str]) -> List[str]:
        return tokens[1:] if _bracketed(tokens[0]) else tokens


class DropLeadingColonToken(_TokenMapper):
    """B.1-8.4: drop a leading token ending in ``:`` (``demo/python/cmd.py: Fix``)."""

    name = "drop_leading_colon_token"

    def drop(self, tokens: List[str]) -> List[str]:
        return tokens[1:] if tokens[0].endswith(":") else tokens


class DropTrailingBracketToken(_TokenMapper):
    """B.1-8.5: drop a trailing whitespace token enclosed in square brackets (``Fix x [tests]``),
    also when it is the only token left."""

    name = "drop_trailing_bracket_token"

    def drop(self, tokens: List[str]) -> List[str]:
        return tokens[:-1] if _bracketed(tokens[-1]) else tokens


class JoinSubjectTokens(Mapper):
    """B.1-8.6: rebuild the subject from its whitespace-split tokens joined by single spaces
    (``Fix\\tthe  bug`` -> ``Fix the bug``; non-breaking spaces separate tokens too)."""

    name = "join_subject_tokens"

    def __call__(self, record: Record) -> Record:
        return with_subject(record, " ".join(subject_of(record).split()))

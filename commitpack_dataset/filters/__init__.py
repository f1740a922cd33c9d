"""CommitPack and CommitPackFT rules as small datatrove-style steps composed by a Pipeline.

``commitpack_pipeline`` runs the construction rules (A.2), ``commitpackft_pipeline`` the
CommitPackFT rules (B.1 then B.2) in the paper's order. ``faithful=True`` reproduces the released
scripts where our choice would change results (web-editor basename, dotfile rule, ``wip``).
"""

from __future__ import annotations

from typing import Any, List, Union

from commitpack_dataset.filters import ft_stage1 as s1
from commitpack_dataset.filters import ft_stage2 as s2
from commitpack_dataset.filters.base import Filter, Mapper, Pipeline, Record
from commitpack_dataset.filters.commitpack import commitpack_steps
from commitpack_dataset.filters.tokens import STARCODER_TOKENIZER, TokenLength


def commitpackft_steps(
    faithful: bool = True,
    tokenizer: Union[str, Any, None] = STARCODER_TOKENIZER,
    min_tokens: int = 50,
    max_tokens: int = 768,
) -> List[Union[Filter, Mapper]]:
    """The CommitPackFT steps: B.1 rules 1-16 then B.2 rules 1-14, in the paper's order."""
    stage1 = [
        s1.OldContentsLength(),
        s1.NewContentsNonEmpty(),
        s1.ContentsChanged(),
        s1.SubjectHasHash(),
        s1.PathHasDot(),
        s1.FilenameInSubject(faithful=faithful),
        s1.SubjectLength("subject_length"),
        s1.StripSubject(),
        s1.RemoveSubjectLiteral("[skip ci]"),
        s1.DropLeadingBracketToken(),
        s1.DropLeadingColonToken(),
        s1.DropTrailingBracketToken(),
        s1.SubjectLength("subject_length_after_cleaning"),
        s1.SubjectStartsUppercase(),
        TokenLength(tokenizer, min_tokens=min_tokens, max_tokens=max_tokens),
        s1.ImperativeStart(),
        s1.SubjectExactBlocklist(),
        s1.SubjectSubstringBlocklist(),
        s1.VersionSubject(),
        s1.HexSubject(),
    ]
    stage2 = [
        s2.CherryPickSubject(),
        s2.FullShaInSubject(),
        s1.RemoveSubjectLiteral("[ci skip]"),
        s2.VersionBumpSample(),
        s2.FirstPersonSubject(),
        s2.ThanksToSubject(),
        s2.CodeReviewSubject(),
        s2.JokeSubject(),
        s2.IssueReferenceSubject(),
        s2.CodeReviewToolSubject(),
        s2.WorkInProgressSubject(faithful=faithful),
        s2.UrlSubject(),
        s2.LeetcodeSubject(),
        s2.MinimumWords(),
    ]
    return stage1 + stage2


def commitpack_pipeline(faithful: bool = True) -> Pipeline:
    """A Pipeline of the CommitPack construction rules."""
    return Pipeline(commitpack_steps(faithful=faithful))


def commitpackft_pipeline(faithful: bool = True, tokenizer: Union[str, Any, None] = STARCODER_TOKENIZER,
                          min_tokens: int = 50, max_tokens: int = 768) -> Pipeline:
    """A Pipeline of the CommitPackFT rules (B.1 then B.2)."""
    return Pipeline(commitpackft_steps(faithful, tokenizer, min_tokens, max_tokens))


__all__ = [
    "Filter", "Mapper", "Pipeline", "Record", "TokenLength",
    "commitpack_pipeline", "commitpack_steps", "commitpackft_pipeline", "commitpackft_steps",
]

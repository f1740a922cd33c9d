"""CommitPack and CommitPackFT rules as small datatrove-style steps composed by a Pipeline.

``commitpack_pipeline`` runs the construction rules on message and path (A.2),
``commitpackft_pipeline`` the CommitPackFT rules (B.1 then B.2) in the released scripts' order.
``faithful=True`` reproduces the released scripts; ``faithful=False`` corrects them where they are
wrong (web-editor basename, dotfiles, ``wip`` as a word, ``"plug "``, case-insensitive opt-out
logins, extension lookup with the A.3 rules).

Modules, by what they test: ``commitpack`` (message and path, A.2), ``contents`` and ``tokens``
(file contents), ``paths`` (file path), ``subject_cleaning`` (mappers), ``subjects`` (the subject).
"""

from __future__ import annotations

from typing import List, Union

from commitpack_dataset.filters import contents, paths, subject_cleaning, subjects
from commitpack_dataset.filters.base import Filter, Mapper, Pipeline, Record
from commitpack_dataset.filters.commitpack import commitpack_steps
from commitpack_dataset.filters.tokens import MAX_TOKENS, MIN_TOKENS, STARCODER_TOKENIZER, TokenizerChoice, TokenLength


def commitpackft_steps(
    faithful: bool = True,
    tokenizer: TokenizerChoice = STARCODER_TOKENIZER,
    min_tokens: int = MIN_TOKENS,
    max_tokens: int = MAX_TOKENS,
) -> List[Union[Filter, Mapper]]:
    """The CommitPackFT steps: B.1 rules 1-16 then B.2 rules 1-14, in the released scripts' order."""
    stage1 = [
        contents.OldContentsLength(),
        contents.NewContentsNonEmpty(),
        contents.ContentsChanged(),
        subjects.SubjectHasHash(),
        paths.PathHasDot(),
        paths.AllowedLastExtension(),
        paths.FilenameInSubject(faithful=faithful),
        subjects.SubjectLength("subject_length"),
        subject_cleaning.StripSubject(),
        subject_cleaning.RemoveSubjectLiteral("[skip ci]"),
        subject_cleaning.DropLeadingBracketToken(),
        subject_cleaning.DropLeadingColonToken(),
        subject_cleaning.DropTrailingBracketToken(),
        subject_cleaning.JoinSubjectTokens(),
        subjects.SubjectLength("subject_length_after_cleaning"),
        subjects.SubjectStartsUppercase(),
        TokenLength(tokenizer, min_tokens=min_tokens, max_tokens=max_tokens),
        subjects.ImperativeStart(faithful=faithful),
        subjects.SubjectExactBlocklist(),
        subjects.SubjectSubstringBlocklist(),
        subjects.VersionSubject(),
        subjects.HexSubject(),
    ]
    stage2 = [
        subjects.CherryPickSubject(),
        subjects.FullShaInSubject(),
        subject_cleaning.RemoveSubjectLiteral("[ci skip]"),
        subjects.VersionBumpSample(),
        subjects.FirstPersonSubject(),
        subjects.ThanksToSubject(),
        subjects.CodeReviewSubject(),
        subjects.JokeSubject(),
        subjects.IssueReferenceSubject(),
        subjects.CodeReviewToolSubject(),
        subjects.WorkInProgressSubject(faithful=faithful),
        subjects.UrlSubject(),
        subjects.LeetcodeSubject(),
        subjects.MinimumWords(),
    ]
    return stage1 + stage2


def commitpack_pipeline(faithful: bool = True) -> Pipeline:
    """A Pipeline of the CommitPack construction rules."""
    return Pipeline(commitpack_steps(faithful=faithful))


def commitpackft_pipeline(faithful: bool = True, tokenizer: TokenizerChoice = STARCODER_TOKENIZER,
                          min_tokens: int = MIN_TOKENS, max_tokens: int = MAX_TOKENS) -> Pipeline:
    """A Pipeline of the CommitPackFT rules (B.1 then B.2)."""
    return Pipeline(commitpackft_steps(faithful, tokenizer, min_tokens, max_tokens))


def token_counter_info(pipeline: Pipeline):
    """The token-length rule's ``counter_info()`` of ``pipeline`` once it has run (``None`` when the
    pipeline has no token rule or has not resolved its tokenizer yet)."""
    for step in pipeline.steps:
        if isinstance(step, TokenLength):
            return step.used_counter_info()
    return None


__all__ = [
    "Filter", "Mapper", "Pipeline", "Record", "TokenLength",
    "commitpack_pipeline", "commitpack_steps", "commitpackft_pipeline", "commitpackft_steps", "token_counter_info",
]

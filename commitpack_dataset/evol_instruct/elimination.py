"""Which evolutions fail (reference E.5), each with its reason; the rules are small functions
returning ``""`` (keep) or the drop reason, checked in the order below.

On the evolved instruction (before it is answered, so a failed one costs no answer):

1. evol-teacher's instruction rules: ``instruction_empty``; ``instruction_too_few_words``
   (``<= min_words`` whitespace-separated words, 3); ``instruction_non_ascii_start`` (its first
   character is not ASCII); ``instruction_too_many_tokens`` (the teacher used ``>= 1000``
   completion tokens writing it);
2. WizardLM rule 4: ``copied_prompt_wording`` -- it contains wording of the evolution prompt
   (``given test``, ``rewritten test``, ``given prompt``, ``rewritten prompt``, ``created prompt``,
   any case, ``#...#`` markers included);
3. WizardLM rule 1, no information gained: ``same_as_parent`` when it equals the instruction it
   was evolved from (whitespace ignored), and, with the optional LLM judge, ``equal_to_parent``
   when the judge's verdict is *Equal* (an unclear verdict keeps the row).

On the answer:

4. evol-teacher's response rules: ``answer_empty``; ``answer_too_few_words`` (``<= 3`` words);
   ``answer_non_ascii_start``; ``answer_too_many_tokens`` (``>= 2000`` prompt + completion tokens
   for the answering call);
5. WizardLM rule 2: ``answer_sorry`` -- it contains "sorry" (any case) and has fewer than 80 words;
6. WizardLM rule 3: ``answer_only_stop_words`` -- it consists only of punctuation and English stop
   words (scikit-learn's list; words are ``\\w+`` runs of the lowercased text).

Token counts come from the server's ``usage``; a server that reports none (0) never trips them.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from commitpack_dataset.evol_instruct.prompts import PROMPT_WORDING

_WORD = re.compile(r"\w+")


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The numbers of the rules (evol-teacher's and WizardLM's defaults)."""

    min_words: int = 3  # texts with this many words or fewer are dropped
    instruction_max_completion_tokens: int = 1000  # dropped at or above
    answer_max_total_tokens: int = 2000  # dropped at or above
    sorry_max_words: int = 80  # "sorry" answers with fewer words are dropped


def _basic(text: str, prefix: str, thresholds: Thresholds) -> str:
    if not text.strip():
        return f"{prefix}_empty"
    if len(text.split()) <= thresholds.min_words:
        return f"{prefix}_too_few_words"
    if not text[0].isascii():
        return f"{prefix}_non_ascii_start"
    return ""


def check_instruction(text: str, completion_tokens: int, parent: str, *, evol_teacher_rules: bool = True,
                      wizardlm_rules: bool = True, thresholds: Thresholds = Thresholds()) -> str:
    """The drop reason of an evolved instruction (rules 1-3 without the judge), or ``""``."""
    if evol_teacher_rules:
        reason = _basic(text, "instruction", thresholds)
        if reason:
            return reason
        if completion_tokens >= thresholds.instruction_max_completion_tokens:
            return "instruction_too_many_tokens"
    elif not text.strip():
        return "instruction_empty"
    if wizardlm_rules:
        lowered = text.lower()
        if any(wording in lowered for wording in PROMPT_WORDING):
            return "copied_prompt_wording"
        if "".join(text.split()) == "".join(parent.split()):
            return "same_as_parent"
    return ""


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset:
    """English stop words (scikit-learn's ``ENGLISH_STOP_WORDS``)."""
    try:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    except ImportError as error:  # pragma: no cover - scikit-learn is in the teacher extra
        raise ImportError("Evol-Instruct's stop-word rule needs scikit-learn: pip install 'octopack[teacher]'") from error
    return frozenset(ENGLISH_STOP_WORDS)


def only_stop_words(text: str) -> bool:
    """Whether ``text`` has nothing but punctuation, whitespace and stop words."""
    words = set(_WORD.findall(text.lower()))
    return words <= stop_words()


def check_answer(text: str, total_tokens: int, *, evol_teacher_rules: bool = True, wizardlm_rules: bool = True,
                 thresholds: Thresholds = Thresholds()) -> str:
    """The drop reason of an answer to an evolved instruction (rules 4-6), or ``""``."""
    if evol_teacher_rules:
        reason = _basic(text, "answer", thresholds)
        if reason:
            return reason
        if total_tokens >= thresholds.answer_max_total_tokens:
            return "answer_too_many_tokens"
    elif not text.strip():
        return "answer_empty"
    if wizardlm_rules:
        if "sorry" in text.lower() and len(text.split()) < thresholds.sorry_max_words:
            return "answer_sorry"
        if only_stop_words(text):
            return "answer_only_stop_words"
    return ""

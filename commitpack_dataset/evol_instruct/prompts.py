"""The Evol-Instruct teacher prompts (our own wording, following reference E.2, E.3, E.5 and E.6),
the per-sample choice of a method, and the equality judge's verdict.

**Code mode** (WizardCoder, E.2/E.3): one user message that (1) asks for the programming test
question to be made a bit harder, (2) says the difficulty may be raised by -- among other ways --
one method, named next, and (3) shows the question under ``#Given Test#`` and ends with
``#Rewritten Test#``, so the teacher writes only the new question. The five methods, one drawn
per sample: ``constraints`` (new constraints or requirements, about ten more words),
``rarer_requirement`` (a common requirement swapped for a rarer, more specific one),
``more_steps`` (more reasoning steps for a task that needs only a few), ``erroneous_code`` (a
piece of wrong code shown as a misleading reference) and ``complexity`` (tighter time or space
bounds, to be used sparingly).

**General mode** (WizardLM, E.6): the four in-depth prompts (``depth_constraints``,
``depth_deepen``, ``depth_concretize``, ``depth_reasoning``; the teacher is a prompt rewriter who
keeps the prompt sensible, keeps its non-text parts and input, adds only 10-20 words and never
names the markers ``#The Given Prompt#:`` / ``#Rewritten Prompt#:``) and the in-breadth prompt
(``breadth``: a prompt creator writing a new, rarer prompt of the same domain, similar length and
complexity; markers ``#Given Prompt#:`` / ``#Created Prompt#:``), one of the five per sample.

**Method choice**: ``random.Random("evol-instruct:<seed>:<round>:<parent fingerprint>")`` picks
uniformly from the mode's methods, so a sample's method depends only on the build seed, the
round and the sample itself -- not on the order or the number of the other samples (a resumed or
extended build picks the same methods).

**Equality judge** (E.5 rule 1, optional): one user message showing both instructions, asking
whether they are equal in constraints and requirements and in depth and breadth of inquiry, for
a one-word verdict ``Equal`` or ``Not Equal`` without explanation.
"""

from __future__ import annotations

import hashlib
import random

MODES = ("code", "general")

#: Code Evol-Instruct's five methods (E.3), in our words.
CODE_METHODS = {
    "constraints": "Add new constraints or requirements to the task, using roughly ten more words.",
    "rarer_requirement": "Replace a requirement that is common in tasks like this one with a rarer, more "
                         "specific requirement.",
    "more_steps": "If the task can be solved with only a few logical steps, change it so that it needs "
                  "more steps of reasoning.",
    "erroneous_code": "Show a piece of incorrect code as a reference, to mislead whoever solves the task.",
    "complexity": "Ask for stricter time or space complexity; use this method only now and then.",
}

_CODE_TEMPLATE = """\
Rewrite the programming test question below so that it becomes a little more difficult.

You may raise the difficulty in any sensible way; one way to do it is:
{method}

#Given Test#
{question}

#Rewritten Test#
"""

#: WizardLM's four in-depth methods (E.6), in our words.
DEPTH_METHODS = {
    "depth_constraints": "Add exactly one more constraint or requirement to #The Given Prompt#.",
    "depth_deepen": "If #The Given Prompt# asks about particular issues, ask about them in more depth "
                    "and more breadth.",
    "depth_concretize": "Replace general concepts with more specific ones.",
    "depth_reasoning": "If #The Given Prompt# can be answered with a few simple thoughts, rewrite it so "
                       "that it explicitly asks for reasoning in several steps.",
}

_DEPTH_TEMPLATE = """\
You are a prompt rewriter. Rewrite the prompt below into a somewhat harder version, one that \
strong AI assistants find a bit more difficult to handle, while it stays sensible and a human \
can still understand and answer it.
Keep every non-text part of #The Given Prompt#, such as tables and code, and keep its input.
Make it harder using this method:
{method}
Do not make the rewritten prompt wordy: add no more than 10 to 20 words to #The Given Prompt#.
The words '#The Given Prompt#', '#Rewritten Prompt#', 'given prompt' and 'rewritten prompt' must \
not appear in the rewritten prompt.
#The Given Prompt#:
{question}
#Rewritten Prompt#:
"""

_BREADTH_TEMPLATE = """\
You are a prompt creator. Take #Given Prompt# as inspiration and write a completely new prompt.
The new prompt belongs to the same domain as #Given Prompt# but is rarer.
It should have about the same length and complexity as #Given Prompt#.
It must be sensible, and a human must be able to understand and answer it.
The words '#Given Prompt#', '#Created Prompt#', 'given prompt' and 'created prompt' must not \
appear in the created prompt.
#Given Prompt#:
{question}
#Created Prompt#:
"""

GENERAL_METHODS = {**DEPTH_METHODS, "breadth": "Write a new, rarer prompt of the same domain (in-breadth)."}

_JUDGE_TEMPLATE = """\
Below are two instructions written for an AI assistant.

First instruction:
{first}

Second instruction:
{second}

Are the two instructions equal? Count them as equal only when both (1) they impose the same \
constraints and requirements and (2) they ask with the same depth and breadth. Answer with one of \
the two verdicts Equal or Not Equal and nothing else: no explanation.
"""

#: Wording of the evolution prompts that an evolved instruction must not copy (E.5 rule 4),
#: matched case-insensitively as substrings ("#Rewritten Test#" contains "rewritten test").
PROMPT_WORDING = ("given test", "rewritten test", "given prompt", "rewritten prompt", "created prompt")


def methods(mode: str) -> dict[str, str]:
    """The methods of ``mode`` (``code`` or ``general``): name -> description."""
    if mode == "code":
        return CODE_METHODS
    if mode == "general":
        return GENERAL_METHODS
    raise ValueError(f"unknown Evol-Instruct mode {mode!r}: use 'code' (WizardCoder) or 'general' (WizardLM)")


def choose_method(mode: str, seed: int, round_number: int, parent: str) -> str:
    """The method name for evolving the sample with fingerprint ``parent`` in ``round_number``."""
    names = list(methods(mode))
    return random.Random(f"evol-instruct:{seed}:{round_number}:{parent}").choice(names)


def evolution_prompt(mode: str, method: str, question: str) -> str:
    """The user message asking the teacher to evolve ``question`` with ``method``."""
    question = question.strip()
    if mode == "code":
        return _CODE_TEMPLATE.format(method=CODE_METHODS[method], question=question)
    if method == "breadth":
        return _BREADTH_TEMPLATE.format(question=question)
    return _DEPTH_TEMPLATE.format(method=DEPTH_METHODS[method], question=question)


def judge_prompt(first: str, second: str) -> str:
    """The equality judge's user message for the original and the evolved instruction."""
    return _JUDGE_TEMPLATE.format(first=first.strip(), second=second.strip())


def judge_verdict(text: str) -> str:
    """``"equal"``, ``"not_equal"`` or ``"unclear"`` for a judge's answer (case, surrounding
    punctuation and markdown emphasis ignored; the first words decide)."""
    words = text.strip().strip("*_`\"'.:!# \n").lower().replace("-", " ").split()
    head = " ".join(words[:2]).rstrip(".,;:!*")
    if head.startswith("not equal"):
        return "not_equal"
    if head.startswith("equal"):
        return "equal"
    return "unclear"


def prompts_fingerprint() -> str:
    """``sha256:<hex>`` of every prompt text this module can send (for the dataset card)."""
    texts = [_CODE_TEMPLATE, _DEPTH_TEMPLATE, _BREADTH_TEMPLATE, _JUDGE_TEMPLATE,
             *CODE_METHODS.values(), *DEPTH_METHODS.values()]
    return "sha256:" + hashlib.sha256("\0".join(texts).encode("utf-8")).hexdigest()

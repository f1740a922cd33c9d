"""Evaluation prompts: every (task, language, problem) becomes one :class:`PromptItem`.

HumanEvalPack prompts are the metric's task pieces (:func:`humanevalpack_metric.tasks.prompt_parts`:
instruction, context, the code prefilled after the answer marker) rendered by the model's prompt
format (:mod:`octo_trainer.formats`), exactly as the harness renders them; HumanEval and MBPP
prompts come from :mod:`.plain`. An item also carries its stop words -- the language's, the
format's, ``<|endoftext|>`` and the tokenizer's EOS, in the harness's order -- and, for local
backends, the rule that ends a sequence while generating (:mod:`.stopping`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from humanevalpack_metric.languages import get_language
from humanevalpack_metric.tasks import prompt_parts

from octo_trainer.formats import PromptFormat

from . import plain
from .config import HUMANEVALPACK_TASKS, PLAIN_BENCHMARKS, TASK_CHOICES

#: The harness's LANGUAGE_TO_EXTENSION (the file name of the ``file`` and ``diff-carper`` forms).
EXTENSIONS = {"python": "py", "cpp": "cpp", "js": "js", "java": "java", "go": "go", "rust": "rs"}
FIX_TASKS = ("fixtests", "fixdocs")


@dataclass(frozen=True)
class PromptItem:
    """One prompt to generate for. ``row`` indexes the selected problems of (task, language);
    ExplainSynthesize items also name the description they were made from."""

    task: str
    language: str
    task_id: str
    row: int
    prompt: str
    stop: tuple[str, ...]
    n: int
    problem: dict = field(repr=False, compare=False)
    encoder_prompt: str | None = None
    description_id: int | None = None
    stop_rule: dict | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.task, self.language


def expand_tasks(tasks: Sequence[str]) -> list[str]:
    """The user's task list in run order, ``explain`` expanded to its two stages; an unknown
    name is an error that lists the valid ones."""
    expanded: list[str] = []
    for name in tasks:
        key = name.strip().lower()
        if key != "humaneval":
            key = key.removeprefix("humaneval")  # the harness's names: humanevalfixtests, ...
        if key not in TASK_CHOICES:
            raise ValueError(f"unknown task {name!r}: use one of {', '.join(TASK_CHOICES)}")
        for task in (("explaindescribe", "explainsynthesize") if key == "explain" else (key,)):
            if task not in expanded:
                expanded.append(task)
    order = [*HUMANEVALPACK_TASKS, *PLAIN_BENCHMARKS]
    return sorted(expanded, key=order.index)


def check_format(fmt: PromptFormat, tasks: Sequence[str]) -> None:
    """A Fix-only format (file, diff, diff-carper, issue) cannot render the other tasks."""
    if fmt.fix_only:
        others = [t for t in tasks if t not in FIX_TASKS]
        if others:
            raise ValueError(f"the {fmt.name!r} format only has a form for fixtests and fixdocs, "
                             f"not for {', '.join(others)}: run those tasks with another format")


def stop_words(fmt: PromptFormat, language: str, eos: Sequence[str]) -> list[str]:
    """The harness's stop words for a HumanEvalPack prompt: language, format, end of text, and
    the tokenizer's EOS (added by the harness as a stop word too)."""
    words = fmt.eval_stop_words(get_language(language).stop_words)
    return words + [e for e in eos if e and e not in words]


def humanevalpack_items(task: str, language: str, problems: Sequence[dict], fmt: PromptFormat,
                        n: int, eos: Sequence[str] = (),
                        descriptions: Sequence[Sequence[str | None]] | None = None,
                        samples_per_description: int = 1) -> list[PromptItem]:
    """Items of one HumanEvalPack task and language. For ``explainsynthesize``,
    ``descriptions[row]`` are the describe stage's descriptions of problem ``row`` (one item
    each; ``None`` marks a description that failed to generate: no item)."""
    lang = get_language(language)
    words = stop_words(fmt, lang.name, eos)
    items = []
    for row, problem in enumerate(problems):
        variants = [(None, None)]
        if task == "explainsynthesize":
            variants = [(j, text) for j, text in enumerate(descriptions[row]) if text is not None]
        for description_id, description in variants:
            parts = prompt_parts(problem, task, lang.name, description=description)
            if task in FIX_TASKS:
                file_name = f"{problem['entry_point']}.{EXTENSIONS[lang.name]}"
                prompt = fmt.fix_prompt(parts.instruction, parts.context, parts.prompt_base,
                                        file_name=file_name)
            else:
                prompt = fmt.prompt(parts.instruction, parts.context, parts.prompt_base)
            if task == "explaindescribe":
                # whitespace-led stop words are cut only after the text is stripped and capped
                stop = tuple(w for w in words if not w[:1].isspace())
                rule = {"kind": "describe", "cap": len(problem["docstring"]),
                        "words": [w for w in words if w[:1].isspace()]}
            else:
                stop = tuple(words)
                rule = None if fmt.diff else {"kind": "function", "language": lang.name}
            items.append(PromptItem(
                task=task, language=lang.name, task_id=problem["task_id"], row=row, prompt=prompt,
                stop=stop, n=samples_per_description if description_id is not None else n,
                problem=problem, encoder_prompt=fmt.encoder_prompt(parts.instruction, parts.context)
                if not fmt.fix_only else None,
                description_id=description_id, stop_rule=rule))
    return items


def plain_items(benchmark: str, problems: Sequence[dict], fmt: PromptFormat, style: str, n: int,
                eos: Sequence[str] = ()) -> list[PromptItem]:
    """Items of HumanEval or MBPP in the Magicoder or WizardCoder prompt form."""
    items = []
    for row, problem in enumerate(problems):
        instruction, prefill, extra_stop = plain.prompt_pieces(benchmark, problem, style)
        words = [*extra_stop, *fmt.stop_words, "<|endoftext|>"]
        words += [e for e in eos if e and e not in words]
        items.append(PromptItem(
            task=benchmark, language="python", task_id=plain.task_id(benchmark, problem), row=row,
            prompt=fmt.prompt(instruction, None, prefill), stop=tuple(dict.fromkeys(words)), n=n,
            problem=problem, encoder_prompt=fmt.encoder_prompt(instruction, None)))
    return items

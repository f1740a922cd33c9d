"""Scoring: completions -> the metric's post-processing, assembly and sandboxed execution ->
pass@k per (task, language), and one result per candidate.

HumanEvalPack tasks go through :func:`humanevalpack_metric.evaluate_languages` (every language
of a task in one executor pool; the harness's post-processing and assembly, character for
character); the diff formats' answers are first applied to the buggy code (:mod:`.diffs`) and
passed as post-processed code. HumanEval and MBPP programs (:mod:`.plain`) run through
:func:`humanevalpack_metric.score_candidates`. One :class:`~humanevalpack_metric.Executor` serves
the whole run, its outcomes appended to the execution cache as they come: a re-run executes
nothing that was scored. A candidate whose generation failed scores as failed, with status
``generation_error``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from humanevalpack_metric.evaluation import evaluate_languages, score_candidates
from humanevalpack_metric.executor import Executor, ResultCache, progress_bar
from humanevalpack_metric.passk import pass_at_k
from humanevalpack_metric.tasks import postprocess

from octo_trainer.formats import PromptFormat

from . import diffs, plain
from .config import EvalArguments
from .prompts import PromptItem

TASK_NAMES = {"fixtests": "HumanEvalFix", "fixdocs": "HumanEvalFixDocs",
              "explainsynthesize": "HumanEvalExplain", "synthesize": "HumanEvalSynthesize",
              "humaneval": "HumanEval", "mbpp": "MBPP"}
GENERATION_ERROR = "generation_error"


@dataclass
class Generations:
    """What one (task, language) generated: per item, its completions (``None`` = failed)."""

    task: str
    language: str
    items: list[PromptItem] = field(default_factory=list)
    texts: list[list[str | None]] = field(default_factory=list)


@dataclass
class Score:
    task: str
    language: str
    pass_at_k: dict
    problems: int
    rows: int
    samples_per_problem: int
    candidates: int
    status_counts: dict
    generation_errors: int


class _LiveCache(ResultCache):
    """The executor's result cache, also moving the execution bar as programs finish."""

    def __init__(self, path, bar):
        super().__init__(path)
        self.bar = bar

    def put(self, key, outcome) -> None:
        super().put(key, outcome)
        self.bar.update(1)


def _code(gen: Generations, item: PromptItem, text: str, fmt: PromptFormat, stop: tuple,
          style: str) -> str:
    """The code (post-processed, patched) a completion contributes to its program."""
    if gen.task in ("humaneval", "mbpp"):
        return plain.extract_code(gen.task, text, style)
    if fmt.diff:
        return diffs.apply_answer(fmt.diff, text, item.prompt, item.problem, gen.task,
                                  gen.language, tuple(fmt.stop_words) + stop)
    return postprocess(text, item.problem, gen.task, gen.language, stop)


def score_all(groups: Sequence[Generations], fmt: PromptFormat, eos: Sequence[str],
              args: EvalArguments, execution_cache) -> tuple[list[Score], list[dict]]:
    """Execute every candidate of ``groups``; (one :class:`Score` per group, one result row per
    candidate). The bar shows the pass@1 of the tasks scored so far."""
    extra = tuple(dict.fromkeys([*fmt.stop_words, *eos]))
    total = sum(len(texts) for g in groups for texts in g.texts)
    bar = progress_bar(total, "execute", args.progress)
    executor = Executor(num_workers=args.num_workers, sandbox_mode=args.sandbox, progress=False)
    executor.cache = _LiveCache(execution_cache, bar)
    scores, rows = [], []
    try:
        by_task: dict[str, list[Generations]] = {}
        for gen in groups:
            by_task.setdefault(gen.task, []).append(gen)
        for task, gens in by_task.items():
            codes = {g.language: [[_code(g, item, text or "", fmt, extra, args.benchmark_style)
                                   for text in texts] for item, texts in zip(g.items, g.texts)]
                     for g in gens}
            reports = _execute(task, gens, codes, args, executor)
            for gen in gens:
                report = reports[gen.language]
                bar.update(max(0, report.stats.get("programs", 0) - report.stats.get("executed", 0)))
                score, candidates = _summarise(gen, report, codes[gen.language], args.k)
                scores.append(score)
                rows += candidates
            if hasattr(bar, "set_postfix_str") and rows:
                done = [s.pass_at_k.get("pass@1", 0.0) for s in scores]
                bar.set_postfix_str(f"pass@1 {sum(done) / len(done):.3f} ({len(done)} scored)")
    finally:
        executor.close()
        bar.close()
    return scores, rows


def _execute(task: str, gens: list[Generations], codes: dict, args: EvalArguments,
             executor: Executor) -> dict:
    options = {"k": args.k, "executor": executor, "timeout": args.execution_timeout}
    if task in ("humaneval", "mbpp"):
        gen = gens[0]
        predictions, tests = [], []
        for item, candidates in zip(gen.items, codes[gen.language]):
            pairs = [plain.candidate_and_test(task, item.problem, code) for code in candidates]
            predictions.append([candidate for candidate, _ in pairs])
            tests.append(pairs[0][1] if pairs else "")
        report = score_candidates(predictions, tests, "python",
                                  task_ids=[i.task_id for i in gen.items], **options)
        return {gen.language: report}
    completions = {g.language: codes[g.language] for g in gens}
    ids = {g.language: [item.task_id for item in g.items] for g in gens}
    return evaluate_languages(completions, task, problem_ids=ids, data_dir=args.data_dir,
                              postprocessed=True, **options)


def _summarise(gen: Generations, report, codes: list[list[str]], k: Sequence[int]
               ) -> tuple[Score, list[dict]]:
    rows = []
    flat = [(item, j, text, code) for item, texts, item_codes in zip(gen.items, gen.texts, codes)
            for j, (text, code) in enumerate(zip(texts, item_codes))]
    for (item, completion_id, text, code), result in zip(flat, report.results):
        row = {"task": gen.task, "language": gen.language, "task_id": item.task_id,
               "description_id": item.description_id, "completion_id": completion_id,
               "passed": bool(result["passed"]), "status": result["status"],
               "result": result["result"], "duration": result.get("duration"), "code": code}
        if text is None:
            row.update(passed=False, status=GENERATION_ERROR, result="failed: no generation")
        rows.append(row)
    # each item (a problem; ExplainSynthesize: a problem's description) is one pass@k problem
    totals, correct, at = [], [], 0
    for texts in gen.texts:
        totals.append(len(texts))
        correct.append(sum(row["passed"] for row in rows[at : at + len(texts)]))
        at += len(texts)
    return Score(
        task=gen.task, language=gen.language, pass_at_k=pass_at_k(totals, correct, k),
        problems=len({item.task_id for item in gen.items}), rows=len(gen.items),
        samples_per_problem=max(totals, default=0), candidates=len(rows),
        status_counts=dict(Counter(row["status"] for row in rows)),
        generation_errors=sum(text is None for texts in gen.texts for text in texts)), rows

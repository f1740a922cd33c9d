"""Scoring: candidates -> verdicts -> pass@k, at two levels.

- :func:`score_candidates` is what the ``evaluate`` metric's ``compute()`` does: candidates that
  are already assembled (as the reference harness passes them) plus the test per problem.
- :func:`evaluate_completions` takes raw model completions for a task and language, does the
  reference post-processing and program assembly itself, then scores.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from . import settings
from .executor import Executor
from .languages import get_language
from .passk import pass_at_k
from .problems import load_problems
from .tasks import EXECUTED_TASKS, parse_task, postprocess, reference

DEFAULT_K = (1, 10, 100)


@dataclass
class Report:
    """Everything one evaluation produced."""

    pass_at_k: dict
    results: list[dict]  # one record per candidate: task_id, completion_id, passed, result, ...
    language: str
    task: str | None = None
    stats: dict = field(default_factory=dict)

    def by_task(self) -> dict:
        """The reference metric's second return value: task -> [(completion_id, record), ...]."""
        grouped: dict = {}
        for record in self.results:
            grouped.setdefault(record["task_id"], []).append((record["completion_id"], record))
        return grouped

    def status_counts(self) -> dict:
        return dict(Counter(record["status"] for record in self.results))

    def table(self) -> str:
        """A small readable summary (Markdown)."""
        lines = ["| language | task | problems | candidates | "
                 + " | ".join(self.pass_at_k) + " |",
                 "|---|---|---:|---:|" + "---:|" * len(self.pass_at_k)]
        problems = len({r["task_id"] for r in self.results})
        scores = " | ".join(f"{100 * v:.1f}" for v in self.pass_at_k.values())
        lines.append(f"| {self.language} | {self.task or '-'} | {problems} | {len(self.results)} | "
                     f"{scores} |")
        lines.append("")
        lines.append("| status | count |")
        lines.append("|---|---:|")
        lines += [f"| {status} | {count} |" for status, count in sorted(self.status_counts().items())]
        if self.stats:
            lines.append("")
            lines.append(f"wall time {self.stats.get('wall_seconds', 0):.1f} s, "
                         f"{self.stats.get('executed', 0)} programs executed, "
                         f"{self.stats.get('cache_hits', 0)} reused from cache")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"language": self.language, "task": self.task, "pass_at_k": self.pass_at_k,
                "stats": self.stats, "status_counts": self.status_counts(), "results": self.results}

    def save(self, path: str | os.PathLike) -> None:
        """Write JSON atomically (a crash never leaves a half-written file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


def _check_shapes(predictions: Sequence[Sequence[str]], references: Sequence[str]) -> None:
    if isinstance(predictions, (str, bytes)) or any(isinstance(p, (str, bytes)) for p in predictions):
        raise TypeError("predictions must be a list with one list of candidate programs per problem, "
                        "e.g. [['def f(): ...', 'def f(): ...']]")
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} prediction lists but {len(references)} references: "
                         "pass one list of candidates and one test per problem")


def score_candidates(
    predictions: Sequence[Sequence[str]],
    references: Sequence[str],
    language: str = "python",
    k: Sequence[int] = DEFAULT_K,
    num_workers: int | None = None,
    timeout: float | None = None,
    task_ids: Sequence | None = None,
    executor: Executor | None = None,
    **executor_options,
) -> Report:
    """Run ``candidate + "\\n" + reference`` for every candidate and compute pass@k."""
    settings.require_code_eval_opt_in()
    _check_shapes(predictions, references)
    lang = get_language(language, corrected=executor_options.get("corrected", False))
    task_ids = list(task_ids) if task_ids is not None else list(range(len(predictions)))
    programs, owners = [], []
    for index, (candidates, test) in enumerate(zip(predictions, references)):
        for completion_id, candidate in enumerate(candidates):
            programs.append(lang.program(candidate, test))
            owners.append((index, completion_id))
    own_executor = executor is None
    executor = executor or Executor(num_workers=num_workers, **executor_options)
    try:
        outcomes, stats = executor.run(lang.name, programs, timeout=timeout)
    finally:
        if own_executor:
            executor.close()
    results = [{"task_id": task_ids[row], "completion_id": completion_id, **outcome.to_dict()}
               for (row, completion_id), outcome in zip(owners, outcomes)]
    # each row is its own problem (ExplainSynthesize repeats a task id once per description)
    totals, correct = Counter(), Counter()
    for (row, _), outcome in zip(owners, outcomes):
        totals[row] += 1
        correct[row] += outcome.passed
    rows = [row for row in range(len(predictions)) if totals[row]]
    scores = pass_at_k([totals[r] for r in rows], [correct[r] for r in rows], k)
    return Report(pass_at_k=scores, results=results, language=lang.name, stats=stats.to_dict())


def evaluate_completions(
    completions: Sequence[Sequence[str]] | Mapping[str, Sequence[str]],
    task: str,
    language: str | None = None,
    problem_ids: Sequence | None = None,
    data_dir: str | os.PathLike | None = None,
    k: Sequence[int] = DEFAULT_K,
    postprocessed: bool = False,
    extra_stop_words: Sequence[str] = (),
    **options,
) -> Report:
    """Score raw model completions for one HumanEvalPack task and language.

    Args:
        completions: per problem, the model's completions — the text generated *after* the
            prompt — either as a list aligned with ``problem_ids`` (default: all 164 problems
            in order) or as a mapping from task id (``"Python/0"``) or index to completions.
        task: ``fixtests``, ``fixdocs``, ``explainsynthesize`` or ``synthesize`` (also accepts
            harness names such as ``humanevalfixtests-python``, which also give the language).
        language: ``python``, ``js``, ``java``, ``go``, ``cpp`` or ``rust``.
        problem_ids: which problems the completions belong to (task ids or indices). Each
            entry is scored as its own problem, so ExplainSynthesize rows (one per description)
            repeat a task id.
        data_dir: local directory of HumanEvalPack JSONL files (default: the Hub dataset).
        postprocessed: the completions are already post-processed code (e.g. the harness'
            ``generations.json``), so only the program assembly is done here.
        extra_stop_words: prompt-format stop words (e.g. ``<|end|>`` for starchat).
        **options: ``num_workers``, ``timeout``, ``corrected``, ``sandbox_mode``,
            ``results_path``, ``cache_dir``, ``progress`` (see :class:`Executor`).
    """
    task, task_language = parse_task(task)
    language = language or task_language
    if language is None:
        raise ValueError("say which language: pass language=... or a task such as "
                         "'humanevalsynthesize-python'")
    if task not in EXECUTED_TASKS:
        raise ValueError(f"{task!r} produces text, not programs: evaluate its descriptions with "
                         "task 'explainsynthesize'")
    lang = get_language(language, corrected=options.get("corrected", False))
    problems = load_problems(lang.name, data_dir)
    by_id = {p["task_id"]: p for p in problems}
    if isinstance(completions, Mapping):
        problem_ids, completions = list(completions.keys()), list(completions.values())
    if problem_ids is None:
        if len(completions) != len(problems):
            raise ValueError(f"got completions for {len(completions)} problems but {lang.name} has "
                             f"{len(problems)}: pass problem_ids to say which problems they are for")
        selected = problems
    else:
        selected = [_lookup(pid, problems, by_id, lang.task_prefix) for pid in problem_ids]
    if len(selected) != len(completions):
        raise ValueError(f"{len(completions)} completion lists for {len(selected)} problem ids")
    predictions = []
    for problem, candidates in zip(selected, completions):
        codes = candidates if postprocessed else [
            postprocess(c, problem, task, lang.name, tuple(extra_stop_words)) for c in candidates]
        predictions.append([lang.assemble(code, problem, task) for code in codes])
    report = score_candidates(
        predictions,
        [reference(p) for p in selected],
        language=lang.name,
        k=k,
        task_ids=[p["task_id"] for p in selected],
        **options,
    )
    report.task = task
    return report


def _lookup(pid, problems: list[dict], by_id: dict, prefix: str) -> dict:
    if isinstance(pid, int) or (isinstance(pid, str) and pid.isdigit()):
        index = int(pid)
        if not 0 <= index < len(problems):
            raise ValueError(f"problem index {index} out of range 0..{len(problems) - 1}")
        return problems[index]
    if pid not in by_id:
        raise ValueError(f"unknown problem id {pid!r}: ids look like '{prefix}/0'")
    return by_id[pid]

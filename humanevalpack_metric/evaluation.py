"""Scoring: candidates -> verdicts -> pass@k, at two levels.

- :func:`score_candidates` is what the ``evaluate`` metric's ``compute()`` does: candidates that
  are already assembled (as the reference harness passes them) plus the test per problem.
- :func:`evaluate_completions` takes raw model completions for a task and language, does the
  reference post-processing and program assembly itself, then scores.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from octopack_common import write_json_atomic

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
        write_json_atomic(path, self.to_json(), sort_keys=False)


def _check_shapes(predictions: Sequence[Sequence[str]], references: Sequence[str]) -> None:
    if isinstance(predictions, (str, bytes)) or any(isinstance(p, (str, bytes)) for p in predictions):
        raise TypeError("predictions must be a list with one list of candidate programs per problem, "
                        "e.g. [['def f(): ...', 'def f(): ...']]")
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} prediction lists but {len(references)} references: "
                         "pass one list of candidates and one test per problem")


@dataclass
class _Candidates:
    """One language's candidates flattened into programs; ``owners[i]`` = (problem row,
    completion id) of ``programs[i]``."""

    language: str
    programs: list[str]
    owners: list[tuple[int, int]]
    task_ids: list
    rows: int

    def report(self, outcomes: Sequence, stats, k: Sequence[int]) -> Report:
        results = [{"task_id": self.task_ids[row], "completion_id": completion_id,
                    **outcome.to_dict()}
                   for (row, completion_id), outcome in zip(self.owners, outcomes)]
        # each row is its own problem (ExplainSynthesize repeats a task id once per description)
        totals, correct = Counter(), Counter()
        for (row, _), outcome in zip(self.owners, outcomes):
            totals[row] += 1
            correct[row] += outcome.passed
        rows = [row for row in range(self.rows) if totals[row]]
        scores = pass_at_k([totals[r] for r in rows], [correct[r] for r in rows], k)
        return Report(pass_at_k=scores, results=results, language=self.language,
                      stats=stats.to_dict())


def _candidates(predictions: Sequence[Sequence[str]], references: Sequence[str], language: str,
                corrected: bool, task_ids: Sequence | None) -> _Candidates:
    _check_shapes(predictions, references)
    lang = get_language(language, corrected=corrected)
    programs, owners = [], []
    for index, (candidates, test) in enumerate(zip(predictions, references)):
        for completion_id, candidate in enumerate(candidates):
            programs.append(lang.program(candidate, test))
            owners.append((index, completion_id))
    task_ids = list(task_ids) if task_ids is not None else list(range(len(predictions)))
    return _Candidates(lang.name, programs, owners, task_ids, len(predictions))


@contextlib.contextmanager
def _executor(executor: Executor | None, num_workers: int | None, options: dict):
    """The given executor, or a new one closed afterwards."""
    if executor is not None:
        yield executor
        return
    with Executor(num_workers=num_workers, **options) as own:
        yield own


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
    plan = _candidates(predictions, references, language,
                       executor_options.get("corrected", False), task_ids)
    with _executor(executor, num_workers, executor_options) as runner:
        outcomes, stats = runner.run(plan.language, plan.programs, timeout=timeout)
    return plan.report(outcomes, stats, k)


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
            ``results_path``, ``cache_dir``, ``progress`` (see :class:`Executor`), ``executor``.
    """
    task, task_language = parse_task(task)
    language = language or task_language
    if language is None:
        raise ValueError("say which language: pass language=... or a task such as "
                         "'humanevalsynthesize-python'")
    reports = evaluate_languages({language: completions}, task, problem_ids={language: problem_ids},
                                 data_dir=data_dir, k=k, postprocessed=postprocessed,
                                 extra_stop_words=extra_stop_words, **options)
    return next(iter(reports.values()))


def evaluate_languages(
    completions: Mapping[str, Sequence[Sequence[str]] | Mapping[str, Sequence[str]]],
    task: str,
    problem_ids: Mapping[str, Sequence | None] | None = None,
    data_dir: str | os.PathLike | None = None,
    k: Sequence[int] = DEFAULT_K,
    postprocessed: bool = False,
    extra_stop_words: Sequence[str] = (),
    num_workers: int | None = None,
    timeout: float | None = None,
    executor: Executor | None = None,
    **executor_options,
) -> dict[str, Report]:
    """:func:`evaluate_completions` for several languages at once: ``{language: completions}``
    -> ``{language: Report}``. All programs run in one executor pool
    (:meth:`Executor.run_many`), so a program waiting out a long timeout in one language
    overlaps with the work of the others."""
    settings.require_code_eval_opt_in()
    task, _ = parse_task(task)
    if task not in EXECUTED_TASKS:
        raise ValueError(f"{task!r} produces text, not programs: evaluate its descriptions with "
                         "task 'explainsynthesize'")
    corrected = executor_options.get("corrected", False)
    plans = {}
    for language, given in completions.items():
        ids = (problem_ids or {}).get(language)
        predictions, references, task_ids = _assemble(
            given, task, language, ids, data_dir, postprocessed, tuple(extra_stop_words), corrected)
        plan = _candidates(predictions, references, language, corrected, task_ids)
        if plan.language in plans:
            raise ValueError(f"{language!r} given twice (as {plan.language!r})")
        plans[plan.language] = plan
    with _executor(executor, num_workers, executor_options) as runner:
        ran = runner.run_many({name: plan.programs for name, plan in plans.items()},
                              timeout=timeout)
    reports = {}
    for name, plan in plans.items():
        reports[name] = plan.report(*ran[name], k)
        reports[name].task = task
    return reports


def _assemble(completions, task: str, language: str, problem_ids, data_dir, postprocessed: bool,
              extra_stop_words: tuple, corrected: bool) -> tuple[list, list, list]:
    """Post-process and assemble one language's completions -> (predictions, references,
    task ids), as the reference harness does."""
    lang = get_language(language, corrected=corrected)
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
            postprocess(c, problem, task, lang.name, extra_stop_words) for c in candidates]
        predictions.append([lang.assemble(code, problem, task) for code in codes])
    return predictions, [reference(p) for p in selected], [p["task_id"] for p in selected]


def languages_table(reports: Mapping[str, Report]) -> str:
    """One Markdown table for several languages: pass@k, statuses and wall time per language."""
    ks = list(next(iter(reports.values())).pass_at_k) if reports else []
    statuses = sorted({status for r in reports.values() for status in r.status_counts()})
    lines = ["| language | task | problems | candidates | " + " | ".join(ks + statuses)
             + " | wall s |",
             "|---|---|---:|---:|" + "---:|" * (len(ks) + len(statuses) + 1)]
    for name, report in reports.items():
        scores = [f"{100 * report.pass_at_k[k]:.1f}" if k in report.pass_at_k else "-" for k in ks]
        counts = [str(report.status_counts().get(status, 0)) for status in statuses]
        problems = len({r["task_id"] for r in report.results})
        lines.append(f"| {name} | {report.task or '-'} | {problems} | {len(report.results)} | "
                     + " | ".join(scores + counts)
                     + f" | {report.stats.get('wall_seconds', 0):.1f} |")
    return "\n".join(lines)


def _lookup(pid, problems: list[dict], by_id: dict, prefix: str) -> dict:
    if isinstance(pid, int) or (isinstance(pid, str) and pid.isdigit()):
        index = int(pid)
        if not 0 <= index < len(problems):
            raise ValueError(f"problem index {index} out of range 0..{len(problems) - 1}")
        return problems[index]
    if pid not in by_id:
        raise ValueError(f"unknown problem id {pid!r}: ids look like '{prefix}/0'")
    return by_id[pid]

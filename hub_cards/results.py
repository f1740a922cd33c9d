"""HumanEvalPack results (the evaluation runner's ``results.json``) as model-card evaluation results.

:func:`parse_results` reads what the runner writes, tolerantly; the accepted schema::

    {
      "model": "my-org/coder",                    # optional: a name, or {"name": ..., "revision": ...}
      "dataset": {"revision": "<sha>"},           # optional: bigcode/humanevalpack revision used
      "sampling": {"temperature": 0.2, "top_p": 0.95, "n_samples": 20, "max_new_tokens": 512},
      "results": {                                # required (or these keys at the top level)
        "humanevalfixtests-python": {"pass@1": 0.31, "pass@10": 0.52},
        "humanevalsynthesize-cpp": {"pass@1": 0.25},
        ...
      }
    }

This is also what ``octopack eval`` writes (``octo_trainer/evaluation/report.py``, schema_version
1): ``results`` is a list of entries ``{"task": "fixtests", "language": "python", "metrics":
{"pass@1": ...}, "problems": 164, "complete": true, ...}``, the sampling settings are under
``generation`` and the model is ``{"label": ..., "name_or_path": ...}``. Its HumanEval and MBPP
entries (``task`` ``humaneval`` / ``mbpp``) become results on ``openai/openai_humaneval`` and
``google-research-datasets/mbpp``; entries with ``"complete": false`` (a ``--limit`` run) are
marked as partial in the card.

``results`` may also be nested per task (``{"humanevalfix": {"python": {"pass@1": 0.31}}}``) or a
list of records (``[{"task": "humanevalfix", "language": "python", "pass@1": 0.31}, ...]``, the
pass@k values at the top of a record or under ``metrics``/``pass_at_k``; a record may carry its own
``sampling``). Task names are matched without case or separators: ``humanevalfixtests`` (also
``humanevalfix``, ``fix``), ``humanevalfixdocs``, ``humanevalexplainsynthesize`` (also
``humanevalexplain``), ``humanevalsynthesize`` (also ``synthesize``); languages ``python``, ``js``
(``javascript``), ``java``, ``go``, ``cpp`` (``c++``), ``rust``. Values are fractions in [0, 1] as
the metric returns them; an ``average``/``all`` language is ignored (the card computes its own);
``explaindescribe`` (not executed) and other keys are ignored. Anything else is an error naming the
key.

:func:`eval_results` turns them into ``huggingface_hub.EvalResult`` objects -- one per task ×
language × k: task ``text-generation`` named ``HumanEvalFix``/``HumanEvalExplain``/
``HumanEvalSynthesize``, dataset ``bigcode/humanevalpack`` with the language as config and split
``test``, metric ``pass@k`` with ``k`` and the sampling settings as its args -- and
:func:`results_card_class` (``ResultsModelCard``) writes them as ``model-index`` so that
``ModelCard.load`` parses the same objects back. (huggingface_hub's own writer merges results that
share task type, dataset, config and split, which would fold HumanEvalFix and HumanEvalSynthesize
of one language together: the card class here keeps one entry per task and language.)
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATASET = "bigcode/humanevalpack"
SPLIT = "test"
TASK_TYPE = "text-generation"
#: canonical task -> the name a card shows (Table 2 rows, in order)
TASKS = {
    "humanevalfixtests": "HumanEvalFix",
    "humanevalfixdocs": "HumanEvalFixDocs",
    "humanevalexplainsynthesize": "HumanEvalExplain",
    "humanevalsynthesize": "HumanEvalSynthesize",
    "humaneval": "HumanEval",
    "mbpp": "MBPP",
}
#: The benchmarks outside HumanEvalPack: (dataset, config) of their model-index entries.
OTHER_BENCHMARKS = {"humaneval": ("openai/openai_humaneval", None), "mbpp": ("google-research-datasets/mbpp", "full")}
#: canonical language (the humanevalpack config) -> the name a card shows (Table 2 columns, in order)
LANGUAGES = {"python": "Python", "js": "JavaScript", "java": "Java", "go": "Go", "cpp": "C++", "rust": "Rust"}
_TASK_ALIASES = {
    "humanevalfixtests": "humanevalfixtests", "humanevalfix": "humanevalfixtests", "fixtests": "humanevalfixtests",
    "fix": "humanevalfixtests", "humanevalfixdocs": "humanevalfixdocs", "fixdocs": "humanevalfixdocs",
    "humanevalexplainsynthesize": "humanevalexplainsynthesize", "humanevalexplain": "humanevalexplainsynthesize",
    "explainsynthesize": "humanevalexplainsynthesize", "explain": "humanevalexplainsynthesize",
    "humanevalsynthesize": "humanevalsynthesize", "synthesize": "humanevalsynthesize",
    "humanevalsynth": "humanevalsynthesize", "synth": "humanevalsynthesize",
    "humaneval": "humaneval", "openaihumaneval": "humaneval", "mbpp": "mbpp",
}
_IGNORED_TASKS = {"humanevalexplaindescribe", "explaindescribe"}
_LANGUAGE_ALIASES = {"python": "python", "py": "python", "js": "js", "javascript": "js", "java": "java",
                     "go": "go", "golang": "go", "cpp": "cpp", "c++": "cpp", "cxx": "cpp", "rust": "rust", "rs": "rust"}
_AVERAGE = {"average", "avg", "all", "mean", "overall"}
_PASS_AT = re.compile(r"^pass@(\d+)$")
_TOP_LEVEL = {"model", "dataset", "sampling", "results", "config", "generation", "created", "date", "version",
              "metadata", "n_problems", "problems", "limit", "schema_version", "benchmark_style", "averages",
              "created_at", "octopack_version", "wall_seconds"}


class ResultsError(ValueError):
    """A results file the card cannot use; the message names the key and the accepted forms."""


@dataclass(frozen=True, order=True)
class Score:
    """One number of Table 2: pass@``k`` of ``task`` in ``language`` (a fraction)."""

    task: str
    language: str
    k: int
    value: float


@dataclass
class EvaluationResults:
    """Parsed results: the scores in Table 2 order, and how they were sampled."""

    scores: list[Score]
    model: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    dataset_revision: str | None = None
    partial: set[tuple[str, str]] = field(default_factory=set)  # (task, language) of incomplete runs
    problems: dict[tuple[str, str], int] = field(default_factory=dict)

    def value(self, task: str, language: str, k: int) -> float | None:
        return next((s.value for s in self.scores if (s.task, s.language, s.k) == (task, language, k)), None)

    @property
    def ks(self) -> list[int]:
        return sorted({score.k for score in self.scores})

    @property
    def tasks(self) -> list[str]:
        """The HumanEvalPack tasks present (Table 2's rows)."""
        return [task for task in TASKS if task not in OTHER_BENCHMARKS and any(s.task == task for s in self.scores)]

    @property
    def others(self) -> list[dict[str, Any]]:
        """HumanEval / MBPP rows: the benchmark's name and its pass@k values."""
        return [{"task": TASKS[task], "values": {k: self.value(task, "python", k) for k in self.ks},
                 "partial": (task, "python") in self.partial}
                for task in OTHER_BENCHMARKS if any(score.task == task for score in self.scores)]

    @property
    def languages(self) -> list[str]:
        return [lang for lang in LANGUAGES if any(score.language == lang for score in self.scores)]

    def table(self, k: int) -> list[dict[str, Any]]:
        """Rows of Table 2 at pass@``k``: task name, one value per language, the mean of those present."""
        rows = []
        for task in self.tasks:
            values = {lang: self.value(task, lang, k) for lang in self.languages}
            present = [v for v in values.values() if v is not None]
            if present:
                rows.append({"task": TASKS[task], "values": values, "average": sum(present) / len(present),
                             "complete": len(present) == len(LANGUAGES),
                             "partial": any((task, lang) in self.partial for lang in self.languages)})
        return rows


def parse_results(source: str | Path | Mapping[str, Any]) -> EvaluationResults:
    """Read a ``results.json`` (path, JSON text or parsed mapping) in any form of the module docstring."""
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        try:
            source = json.loads(Path(source).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ResultsError(f"results file {source} is not JSON: {error}") from None
    elif isinstance(source, str):
        source = json.loads(source)
    if not isinstance(source, Mapping):
        raise ResultsError(f"results must be a JSON object, got {type(source).__name__}")
    model = source.get("model")
    if isinstance(model, Mapping):
        model = model.get("name") or model.get("model_id") or model.get("label") or model.get("name_or_path")
    dataset = source.get("dataset") if isinstance(source.get("dataset"), Mapping) else {}
    sampling = {k: v for k, v in dict(source.get("sampling") or source.get("generation") or {}).items()
                if v is not None}
    body = source["results"] if "results" in source else {k: v for k, v in source.items() if k not in _TOP_LEVEL}
    scores, partial, problems = {}, set(), {}
    for task, language, metrics, record in _entries(body):
        if record.get("complete") is False:
            partial.add((task, language))
        if isinstance(record.get("problems"), int):
            problems[(task, language)] = record["problems"]
        for key, value in metrics.items():
            match = _PASS_AT.match(str(key).strip().lower())
            if match is None:
                continue
            value = _fraction(value, f"{TASKS[task]} {LANGUAGES[language]} {key}")
            scores[(task, language, int(match.group(1)))] = value
    if not scores:
        raise ResultsError("no pass@k values found: expected {'results': {'humanevalfixtests-python': "
                           "{'pass@1': 0.31}, ...}} (see hub_cards.results)")
    ordered = sorted(scores.items(), key=lambda item: (list(TASKS).index(item[0][0]),
                                                        list(LANGUAGES).index(item[0][1]), item[0][2]))
    return EvaluationResults(
        scores=[Score(task, language, k, value) for (task, language, k), value in ordered],
        model=str(model) if model else None, sampling=sampling,
        dataset_revision=dataset.get("revision"), partial=partial, problems=problems,
    )


def _entries(body: Any):
    """``(task, language, metrics)`` for every entry of the ``results`` part, in any accepted form."""
    if isinstance(body, list):
        for index, record in enumerate(body):
            if not isinstance(record, Mapping) or "task" not in record:
                raise ResultsError(f"results[{index}] must be an object with task, language and pass@k values")
            language = record.get("language") or record.get("lang")
            if language is None and _task(str(record["task"])) in OTHER_BENCHMARKS:
                language = "python"
            if language is None:  # "humanevalfix-python" as the task
                split = _split_key(str(record["task"]))
                if split is None:
                    continue
                task, language = split
            else:
                task, language = _task(str(record["task"])), _language(str(language))
            if task is None or language is None:
                continue
            if task in OTHER_BENCHMARKS:
                language = "python"
            metrics = record.get("metrics") or record.get("pass_at_k") or record
            yield task, language, metrics, record
        return
    if not isinstance(body, Mapping):
        raise ResultsError(f"results must be an object or a list, got {type(body).__name__}")
    for key, value in body.items():
        if not isinstance(value, Mapping):
            raise ResultsError(f"results[{key!r}] must be an object of pass@k values, got {value!r}")
        task = _task(key)
        if task is not None and not any(_PASS_AT.match(str(k).lower()) for k in value):
            for language_key, metrics in value.items():  # nested per task: {task: {language: {...}}}
                language = _language(language_key)
                if language is not None and isinstance(metrics, Mapping):
                    yield task, language, metrics.get("pass_at_k") or metrics, metrics
            continue
        if task in OTHER_BENCHMARKS:  # {"humaneval": {"pass@1": ...}}
            yield task, "python", value.get("pass_at_k") or value.get("metrics") or value, value
            continue
        split = _split_key(key)
        if split is not None and split[1] is not None:
            yield split[0], split[1], value.get("pass_at_k") or value.get("metrics") or value, value


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-/:.]", "", name.strip().lower())


def _task(name: str) -> str | None:
    normal = _normal(name)
    if normal in _IGNORED_TASKS:
        return None
    return _TASK_ALIASES.get(normal)


def _language(name: str) -> str | None:
    normal = name.strip().lower()
    if normal in _AVERAGE:
        return None
    if normal in _LANGUAGE_ALIASES:
        return _LANGUAGE_ALIASES[normal]
    raise ResultsError(f"unknown language {name!r}: one of {sorted(set(_LANGUAGE_ALIASES))}")


def _split_key(key: str) -> tuple[str, str | None] | None:
    """``humanevalfixtests-python`` -> (task, language); None when the key names no known task."""
    parts = re.split(r"[\s\-_/:]+", key.strip())
    if _task(key) is not None and _task(key) not in OTHER_BENCHMARKS:
        raise ResultsError(f"results key {key!r} names a task but no language: use e.g. {key}-python")
    for cut in range(len(parts) - 1, 0, -1):
        task = _task("".join(parts[:cut]))
        if task is not None:
            return task, _language("-".join(parts[cut:]))
    if _normal(key) in _IGNORED_TASKS or any(_normal("".join(parts[:cut])) in _IGNORED_TASKS
                                             for cut in range(1, len(parts))):
        return None
    raise ResultsError(f"results key {key!r} names no HumanEvalPack task (nor HumanEval, MBPP): use "
                       "<task>-<language>, e.g. "
                       f"humanevalfixtests-python (tasks: {', '.join(TASKS)})")


def _fraction(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ResultsError(f"{what} must be a number, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ResultsError(f"{what} = {value}: pass@k values are fractions in [0, 1] (0.31, not 31)")
    return float(value)


def eval_results(results: EvaluationResults) -> list:
    """One ``huggingface_hub.EvalResult`` per score (see module docstring)."""
    from huggingface_hub import EvalResult

    items = []
    for s in results.scores:
        args: dict[str, Any] = {"task": s.task if s.task in OTHER_BENCHMARKS else f"{s.task}-{s.language}"}
        if (s.task, s.language) in results.problems:
            args["problems"] = results.problems[(s.task, s.language)]
        if s.task in OTHER_BENCHMARKS:
            (dataset, config), name, revision = OTHER_BENCHMARKS[s.task], TASKS[s.task], None
        else:
            dataset, config, revision = DATASET, s.language, results.dataset_revision
            name = f"{TASKS[s.task]} {LANGUAGES[s.language]}"
        items.append(EvalResult(
            task_type=TASK_TYPE, task_name=TASKS[s.task], dataset_type=dataset, dataset_name=name,
            dataset_config=config, dataset_split=SPLIT, dataset_revision=revision, dataset_args=args,
            metric_type=f"pass@{s.k}", metric_name=f"pass@{s.k}", metric_value=s.value,
            metric_args={"k": s.k, **results.sampling},
        ))
    return items


def results_from_eval_results(items: list, model: str | None = None) -> EvaluationResults:
    """The reverse of :func:`eval_results` (other results in a card are skipped)."""
    names = {name: task for task, name in TASKS.items()}
    datasets = {DATASET} | {dataset for dataset, _ in OTHER_BENCHMARKS.values()}
    scores, sampling, revision, problems = [], {}, None, {}
    for item in items or []:
        match = _PASS_AT.match(str(item.metric_type))
        if item.dataset_type not in datasets or item.task_name not in names or match is None:
            continue
        task = names[item.task_name]
        language = "python" if task in OTHER_BENCHMARKS else item.dataset_config
        scores.append(Score(task, language, int(match.group(1)), item.metric_value))
        sampling = {k: v for k, v in (item.metric_args or {}).items() if k != "k"}
        if isinstance((item.dataset_args or {}).get("problems"), int):
            problems[(task, language)] = item.dataset_args["problems"]
        if task not in OTHER_BENCHMARKS:
            revision = item.dataset_revision
    return EvaluationResults(sorted(scores, key=lambda s: (list(TASKS).index(s.task),
                                                           list(LANGUAGES).index(s.language), s.k)),
                             model=model, sampling=sampling, dataset_revision=revision, problems=problems)


def model_index(model_name: str, items: list) -> list[dict[str, Any]]:
    """``model-index`` with one result entry per (task, dataset, config, split, revision) -- task name
    and dataset name included, which huggingface_hub's writer leaves out of its grouping."""
    groups: dict[tuple, list] = {}
    for item in items:
        groups.setdefault((item.unique_identifier, item.task_name, item.dataset_name), []).append(item)
    entries = []
    for members in groups.values():
        first = members[0]
        entries.append({
            "task": {"type": first.task_type, "name": first.task_name},
            "dataset": {"name": first.dataset_name, "type": first.dataset_type, "config": first.dataset_config,
                        "split": first.dataset_split, "revision": first.dataset_revision,
                        "args": first.dataset_args},
            "metrics": [{"type": m.metric_type, "value": m.metric_value, "name": m.metric_name,
                         "config": m.metric_config, "args": m.metric_args, "verified": m.verified,
                         "verifyToken": m.verify_token} for m in members],
            **({"source": {"url": first.source_url, "name": first.source_name}} if first.source_url else {}),
        })
    return _without_none([{"name": model_name, "results": entries}])


def _without_none(value: Any) -> Any:
    if isinstance(value, list):
        return [_without_none(item) for item in value if item is not None]
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    return value


@functools.cache
def results_card_class():
    """``ResultsModelCard``: a ``ModelCard`` whose metadata writes ``model-index`` with :func:`model_index`."""
    from huggingface_hub import ModelCard, ModelCardData

    class ResultsModelCardData(ModelCardData):
        def _to_dict(self, data_dict):
            if self.eval_results is not None:
                data_dict["model-index"] = model_index(self.model_name, self.eval_results)
                del data_dict["eval_results"], data_dict["model_name"]

    class ResultsModelCard(ModelCard):
        card_data_class = ResultsModelCardData

    return ResultsModelCard

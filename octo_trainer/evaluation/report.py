"""What a run reports: ``results.json``, a Markdown table shaped like the OctoPack paper's
Table 2, and a PNG chart of the same numbers.

``results.json`` (``schema_version`` 1; ``hub_cards`` turns it into a model card's
``model-index``, so the keys below are stable)::

    {
      "schema_version": 1,
      "model": {"label": str, "name_or_path": str, "revision": str | null,
                "backend": "transformers" | "openai" | "vllm", "adapter": str | null,
                "prompt_format": str},
      "generation": {"n_samples", "temperature", "top_p", "top_k", "max_length",
                     "max_new_tokens", "greedy", "seed", "samples_per_description"},
      "benchmark_style": "magicoder" | "wizardcoder",
      "results": [                     # one entry per scored (task, language)
        {"task": "fixtests" | "fixdocs" | "explainsynthesize" | "synthesize" | "humaneval" | "mbpp",
         "task_name": "HumanEvalFix" | "HumanEvalFixDocs" | "HumanEvalExplain" |
                      "HumanEvalSynthesize" | "HumanEval" | "MBPP",
         "language": "python" | "js" | "java" | "go" | "cpp" | "rust",
         "harness_task": "humanevalfixtests-python" | ... | null,   # bigcode-evaluation-harness
         "dataset": {"name": str, "type": "bigcode/humanevalpack" | "openai/openai_humaneval" |
                     "google-research-datasets/mbpp", "config": str | null, "split": "test"},
         "metrics": {"pass@1": float, "pass@10": float, ...},   # fractions in [0, 1]
         "problems": int,              # distinct problems scored
         "rows": int,                  # pass@k problems (ExplainSynthesize: one per description)
         "samples_per_problem": int, "candidates": int,
         "status_counts": {"passed": int, "failed": int, "compile_error": int, "timeout": int,
                           "error": int, "generation_error": int},
         "generation_errors": int,
         "complete": bool}             # every problem of the benchmark, no generation error
      ],
      "averages": {task: {"pass@1": float, ..., "languages": int}},   # mean over languages
      "created_at": ISO 8601, "octopack_version": str, "wall_seconds": float
    }

Only ``complete`` entries are results in the paper's sense; partial runs (``limit``,
``problems``) and runs with failed generations say so.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from pathlib import Path

import octopack_common

from .config import EvalArguments
from .score import TASK_NAMES, Score

SCHEMA_VERSION = 1
#: The paper's column order.
LANGUAGE_ORDER = ("python", "js", "java", "go", "cpp", "rust")
LANGUAGE_NAMES = {"python": "Python", "js": "JavaScript", "java": "Java", "go": "Go",
                  "cpp": "C++", "rust": "Rust"}
TASK_ORDER = ("fixtests", "fixdocs", "explainsynthesize", "synthesize", "humaneval", "mbpp")
HARNESS = {"fixtests": "humanevalfixtests", "fixdocs": "humanevalfixdocs",
           "explainsynthesize": "humanevalexplainsynthesize", "synthesize": "humanevalsynthesize"}
FULL_SIZE = {"humaneval": 164, "mbpp": 500}


def _dataset(task: str, language: str) -> dict:
    if task == "humaneval":
        return {"name": "HumanEval", "type": "openai/openai_humaneval", "config": None,
                "split": "test"}
    if task == "mbpp":
        return {"name": "MBPP", "type": "google-research-datasets/mbpp", "config": "full",
                "split": "test"}
    return {"name": f"{TASK_NAMES[task]} ({LANGUAGE_NAMES[language]})",
            "type": "bigcode/humanevalpack", "config": language, "split": "test"}


def results_document(args: EvalArguments, scores: Sequence[Score], revision: str | None,
                     wall_seconds: float) -> dict:
    from importlib import metadata

    entries = []
    for score in sorted(scores, key=lambda s: (TASK_ORDER.index(s.task),
                                                LANGUAGE_ORDER.index(s.language))):
        entries.append({
            "task": score.task, "task_name": TASK_NAMES[score.task], "language": score.language,
            "harness_task": f"{HARNESS[score.task]}-{score.language}" if score.task in HARNESS
            else score.task,
            "dataset": _dataset(score.task, score.language), "metrics": score.pass_at_k,
            "problems": score.problems, "rows": score.rows,
            "samples_per_problem": score.samples_per_problem, "candidates": score.candidates,
            "status_counts": score.status_counts, "generation_errors": score.generation_errors,
            "complete": score.problems == FULL_SIZE.get(score.task, 164)
            and score.generation_errors == 0})
    try:
        version = metadata.version("octopack")
    except metadata.PackageNotFoundError:
        version = None
    return {
        "schema_version": SCHEMA_VERSION,
        "model": {"label": args.label, "name_or_path": args.model_name_or_path,
                  "revision": revision, "backend": args.backend, "adapter": args.adapter,
                  "prompt_format": args.prompt_format},
        "generation": args.sampling(), "benchmark_style": args.benchmark_style,
        "results": entries, "averages": averages(entries),
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "octopack_version": version, "wall_seconds": round(wall_seconds, 1)}


def averages(entries: Sequence[dict]) -> dict:
    by_task: dict[str, list[dict]] = {}
    for entry in entries:
        by_task.setdefault(entry["task"], []).append(entry["metrics"])
    result = {}
    for task, metrics in by_task.items():
        keys = set.intersection(*(set(m) for m in metrics))
        result[task] = {key: sum(m[key] for m in metrics) / len(metrics) for key in sorted(keys)}
        result[task]["languages"] = len(metrics)
    return result


def load_results(path: str | Path) -> dict:
    """A results.json, given the file or its run directory."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results.json at {path}: pass a run directory of "
                                "octopack eval or its results.json")
    return json.loads(path.read_text(encoding="utf-8"))


def _columns(documents: Sequence[dict]) -> list[tuple[str, str | None]]:
    """(task, language) columns in the paper's order; (task, None) is a task's average."""
    present = {(e["task"], e["language"]) for d in documents for e in d["results"]}
    columns = []
    for task in TASK_ORDER:
        languages = [lang for lang in LANGUAGE_ORDER if (task, lang) in present]
        if not languages:
            continue
        if task in FULL_SIZE:
            columns.append((task, "python"))
            continue
        columns += [(task, lang) for lang in languages]
        columns.append((task, None))
    return columns


def _value(document: dict, task: str, language: str | None, metric: str) -> float | None:
    if language is None:
        return document["averages"].get(task, {}).get(metric)
    for entry in document["results"]:
        if entry["task"] == task and entry["language"] == language:
            return entry["metrics"].get(metric)
    return None


def table(documents: Sequence[dict], metric: str = "pass@1") -> str:
    """Markdown: rows = models, columns = task x language + average (percent)."""
    columns = _columns(documents)
    header = ["Model"] + [TASK_NAMES[t] if t in FULL_SIZE else
                          f"{TASK_NAMES[t]} {LANGUAGE_NAMES[l] if l else 'Avg'}"
                          for t, l in columns]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * len(columns)]
    for document in documents:
        cells = [document["model"]["label"]]
        for task, language in columns:
            value = _value(document, task, language, metric)
            cells.append("–" if value is None else f"{100 * value:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    partial = [d["model"]["label"] for d in documents if not all(e["complete"] for e in d["results"])]
    notes = [f"{metric} in %, zero-shot; sampling: "
             + ", ".join(f"{d['model']['label']}: T={d['generation']['temperature']}, "
                         f"n={d['generation']['n_samples']}" for d in documents) + "."]
    if partial:
        notes.append(f"Partial (a subset of problems or failed generations): {', '.join(partial)}.")
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def chart(documents: Sequence[dict], path: Path, metric: str = "pass@1") -> None:
    """One panel per task: bars per language (and the average), one colour per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = _columns(documents)
    tasks = list(dict.fromkeys(task for task, _ in columns))
    figure, axes = plt.subplots(1, len(tasks), figsize=(max(4.0, 3.2 * len(tasks)), 3.9),
                                squeeze=False, sharey=True)
    width = 0.8 / max(1, len(documents))
    for axis, task in zip(axes[0], tasks):
        langs = [lang for t, lang in columns if t == task]
        labels = ["Python" if task in FULL_SIZE else (LANGUAGE_NAMES[l] if l else "Avg")
                  for l in langs]
        for m, document in enumerate(documents):
            values = [_value(document, task, lang, metric) for lang in langs]
            xs = [i + (m - (len(documents) - 1) / 2) * width for i in range(len(langs))]
            bars = axis.bar(xs, [100 * (v or 0) for v in values], width,
                            label=document["model"]["label"])
            for bar, value in zip(bars, values):
                axis.annotate("–" if value is None else f"{100 * value:.1f}",
                              (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                              ha="center", va="bottom", fontsize=7)
        axis.set_title(TASK_NAMES[task])
        axis.set_xticks(range(len(langs)), labels, rotation=45, ha="right", fontsize=8)
        axis.set_ylim(0, 110)
        axis.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(f"{metric} (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8,
                  frameon=False)
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    with octopack_common.atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=120, format="png")
    plt.close(figure)


def write_reports(run_dir: Path, document: dict, compare: Sequence[str] = ()) -> list[dict]:
    """results.json, table.md and chart.png in ``run_dir`` (other runs as extra rows)."""
    octopack_common.write_json_atomic(run_dir / "results.json", document, sort_keys=False)
    documents = [document, *(load_results(other) for other in compare or ())]
    octopack_common.write_text_atomic(run_dir / "table.md", table(documents))
    if document["results"]:
        chart(documents, run_dir / "chart.png")
    return documents

"""``analyze(datasets, output_dir)``: Magicoder's three data figures for one dataset or several side
by side, as PNGs plus a JSON summary and one JSONL of per-row numbers per dataset.

    from commitpack_dataset.analysis import analyze
    summary = analyze({"OSS-Instruct": "oss/out", "Code Alpaca": "code_alpaca_2k.json"}, "analysis/",
                      humaneval_source="HumanEval.jsonl.gz")

Writes ``categories.png``, ``lengths.png``, ``humaneval_similarity.png``, ``summary.json`` and
``rows/<label>.jsonl`` (``row``, ``category``, ``instruction_tokens``, ``response_tokens``,
``humaneval_similarity``, ``humaneval_task``) into ``output_dir``, atomically.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from commitpack_dataset.analysis import figures, plots
from commitpack_dataset.analysis.views import InstructionView, instruction_view

logger = logging.getLogger(__name__)
EMBED_FIELDS = ("response", "instruction", "both")
FIGURES = {"categories": "categories.png", "lengths": "lengths.png", "humaneval_similarity": "humaneval_similarity.png"}
INSTRUCTOR = "hkunlp/instructor-base"


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "dataset"


def _embedded_texts(view: InstructionView, field: str) -> list[str]:
    if field == "response":
        return view.responses
    if field == "instruction":
        return view.instructions
    return [f"{i}\n\n{r}" for i, r in zip(view.instructions, view.responses)]


def _length_cap(lengths: Sequence[Sequence[int]]) -> int:
    """The x range of a length panel: the largest 95th percentile, rounded up to 100 (100-2000)."""
    highs = [float(np.percentile(values, 95)) for values in lengths if len(values)]
    return int(min(2000, max(100, math.ceil(max(highs, default=0) / 100) * 100)))


def analyze(datasets: Mapping[str, Any], output_dir: str | Path, *, columns: Mapping[str, Mapping[str, str]] | None = None,
            categories: Sequence[str] | None = None, embedding_model: str | None = None,
            embedding_backend: str = "auto", embed_field: str = "response", tokenizer: str = "cl100k_base",
            humaneval_source: str | None = None, max_rows: int | None = None, seed: int = 0,
            embedding_cache: Any = None, progress: bool = True) -> dict:
    """Compute the figures of ``datasets`` (label -> source, see ``views``), write them to
    ``output_dir`` and return the summary. ``columns``: label -> column map for sources whose columns
    are not recognised; ``categories``: the category names (Magicoder's ten by default);
    ``embed_field``: what is embedded for the categories (``response`` as Magicoder's scripts, or
    ``instruction``, or ``both``); ``max_rows``: analyse a seeded sample of that many rows per
    dataset."""
    from humanevalpack_metric.benchmarks import load_humaneval
    from octopack_common import atomic_open, write_json_atomic

    from commitpack_dataset.analysis.embeddings import Embedder
    from commitpack_dataset.analysis.tokens import TokenCounter

    if not datasets:
        raise ValueError("give at least one dataset to analyse (label -> path, Hub id or rows)")
    if embed_field not in EMBED_FIELDS:
        raise ValueError(f"embed_field must be one of {EMBED_FIELDS}, got {embed_field!r}")
    categories = list(categories or figures.MAGICODER_CATEGORIES)
    if len(set(categories)) != len(categories) or len(categories) < 2:
        raise ValueError("categories must be at least two distinct names")
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    views = {label: instruction_view(label, source, columns=(columns or {}).get(label), max_rows=max_rows, seed=seed)
             for label, source in datasets.items()}
    for view in views.values():
        logger.info("%s: %d of %d rows, read as %s", view.label, len(view), view.total_rows, view.kind)

    counter = TokenCounter(tokenizer)
    tokens = {label: {"instruction": counter.count(view.instructions), "response": counter.count(view.responses)}
              for label, view in views.items()}

    embedder = Embedder(embedding_model, backend=embedding_backend, cache=embedding_cache, progress=progress)
    try:
        category_vectors = embedder.embed(categories)
        assigned = {label: figures.assign_categories(embedder.embed(_embedded_texts(view, embed_field)),
                                                     category_vectors) if len(view) else np.zeros(0, dtype=int)
                    for label, view in views.items()}
        embedding = dict(embedder.describe(), embedded_now=embedder.computed)
    finally:
        embedder.close()

    tasks = load_humaneval(humaneval_source)
    similarity, vocabulary = figures.humaneval_similarity({label: view.texts() for label, view in views.items()},
                                                          figures.humaneval_texts(tasks))

    summary: dict = {"settings": {
        "embedding": embedding, "embedded_field": embed_field, "categories": categories,
        "category_note": f"{embedding['model']} substitutes for INSTRUCTOR ({INSTRUCTOR}) of Magicoder's analysis",
        "tokenizer": counter.name, "bin_width": figures.BIN_WIDTH,
        "humaneval": {"source": humaneval_source or "openai_humaneval (Hub)", "tasks": len(tasks)},
        "tfidf": {"vocabulary": vocabulary, "fitted_on": sum(len(v) for v in views.values()) + len(tasks)},
        "max_rows": max_rows, "seed": seed}, "datasets": {}, "figures": dict(FIGURES)}
    for label, view in views.items():
        scores, best = similarity[label]
        counts = figures.category_counts(assigned[label], categories)
        top = np.argsort(-scores, kind="stable")[:5] if len(scores) else []
        summary["datasets"][label] = {
            "source": view.source, "read_as": view.kind, "rows": view.total_rows, "rows_analyzed": len(view),
            "categories": {"counts": counts,
                           "shares": {k: (v / len(view) if len(view) else 0.0) for k, v in counts.items()}},
            "lengths": {field: {**figures.summary_stats(tokens[label][field]),
                                "bins": {str(k): v for k, v in figures.length_bins(tokens[label][field]).items()}}
                        for field in ("instruction", "response")},
            "humaneval_similarity": {
                **figures.summary_stats(scores),
                "distribution": {f"{k:.2f}": v for k, v in figures.score_distribution(scores).items()},
                "most_similar": [{"row": view.rows[i], "task": tasks[int(best[i])]["task_id"],
                                  "score": float(scores[i])} for i in top]},
            "rows_file": f"rows/{_slug(label)}.jsonl"}
        with atomic_open(output / "rows" / f"{_slug(label)}.jsonl") as handle:
            for position, row in enumerate(view.rows):
                handle.write(json.dumps({
                    "row": row, "category": categories[int(assigned[label][position])],
                    "instruction_tokens": tokens[label]["instruction"][position],
                    "response_tokens": tokens[label]["response"][position],
                    "humaneval_similarity": float(scores[position]),
                    "humaneval_task": tasks[int(best[position])]["task_id"]}) + "\n")

    note = (f"Embeddings of each row's {embed_field if embed_field != 'both' else 'instruction and response'} "
            f"by {embedding['model']}, which substitutes for INSTRUCTOR ({INSTRUCTOR}) of Magicoder's figure; "
            "cosine similarity to each category name.")
    plots.category_figure({label: data["categories"]["counts"] for label, data in summary["datasets"].items()},
                          categories, output / FIGURES["categories"], note)
    caps = {field: _length_cap([per[field] for per in tokens.values()]) for field in ("instruction", "response")}
    plots.length_figure({label: {field: figures.length_bins(tokens[label][field]) for field in ("instruction", "response")}
                         for label in views},
                        {label: {f: summary["datasets"][label]["lengths"][f]["mean"] for f in ("instruction", "response")}
                         for label in views},
                        {label: max(1, len(view)) for label, view in views.items()}, caps, counter.requested,
                        output / FIGURES["lengths"])
    means = {label: summary["datasets"][label]["humaneval_similarity"]["mean"] for label in views}
    high = max([float(np.percentile(similarity[label][0], 99)) for label in views if len(similarity[label][0])],
               default=0.0)
    plots.similarity_figure({label: figures.score_distribution(similarity[label][0]) for label in views}, means,
                            max(0.5, math.ceil(high * 10) / 10), output / FIGURES["humaneval_similarity"])
    summary["settings"]["length_axis_caps"] = caps
    write_json_atomic(output / "summary.json", summary)
    return summary

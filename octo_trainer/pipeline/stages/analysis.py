"""The data analysis stage: Magicoder's figures (:func:`commitpack_dataset.analysis.analyze`) of every
non-empty data set the run built, side by side -- category balance, token lengths, similarity to
HumanEval -- as ``categories.png``, ``lengths.png``, ``humaneval_similarity.png`` and
``summary.json``; the report shows the PNGs. The embeddings are cached in ``<run_dir>/cache``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: (stage, label in the figures)
DATASETS = (("filter", "CommitPackFT"), ("oss_instruct", "OSS-Instruct"), ("evol_instruct", "Evol-Instruct"),
            ("mix", "OctoCoder mix"))


def analysis_inputs(ctx) -> dict[str, Any]:
    from ..stage import file_digest, section_inputs

    return {"analysis": section_inputs(ctx.config.analysis),
            "data": {stage: ctx.results[stage].key if stage in ctx.results else None for stage, _ in DATASETS},
            "humaneval": file_digest(ctx.config.data.resolved("humaneval"))}


def run_analysis(ctx, out: Path) -> dict[str, Any]:
    from commitpack_dataset.analysis import analyze

    options = dict(ctx.config.analysis.options)  # checked against analyze's parameters (config.check_options)
    datasets = {label: str(ctx.output(stage)) for stage, label in DATASETS
                if ctx.output(stage) is not None and ctx.summary(stage).get("rows")}
    if not datasets:
        return {"datasets": {}, "note": "no data set has rows to analyse"}
    options.setdefault("humaneval_source", ctx.config.data.resolved("humaneval"))
    options.setdefault("embedding_cache", str(ctx.cache_dir("analysis") / "embeddings.sqlite"))
    options.setdefault("progress", ctx.progress)
    summary = analyze(datasets, out, **options)
    return {"datasets": {label: {"rows": data["rows_analyzed"],
                                 "humaneval_similarity": data["humaneval_similarity"]["mean"],
                                 "instruction_tokens": data["lengths"]["instruction"]["mean"],
                                 "response_tokens": data["lengths"]["response"]["mean"]}
                         for label, data in summary["datasets"].items()},
            "figures": sorted(summary["figures"].values())}

"""HumanEvalPack as an `evaluate` metric: Fix / Explain / Synthesize x six languages.

    import os, evaluate, humanevalpack_metric
    os.environ["HF_ALLOW_CODE_EVAL"] = "1"
    metric = evaluate.load(humanevalpack_metric.METRIC_PATH)       # or HumanEvalPack()
    pass_at_k, results = metric.compute(predictions=..., references=..., language="go")

    report = humanevalpack_metric.evaluate_completions(completions, "fixtests", "rust")
    reports = humanevalpack_metric.evaluate_languages({"go": ..., "rust": ...}, "synthesize")

Names are imported lazily so that ``import humanevalpack_metric`` stays light.
"""

from __future__ import annotations

import importlib
from pathlib import Path

METRIC_PATH = str(Path(__file__).resolve().parent)  # evaluate.load(METRIC_PATH)

_LAZY = {
    "HumanEvalPack": "humanevalpack_metric.humanevalpack_metric",
    "evaluate_completions": "humanevalpack_metric.evaluation",
    "evaluate_languages": "humanevalpack_metric.evaluation",
    "score_candidates": "humanevalpack_metric.evaluation",
    "Report": "humanevalpack_metric.evaluation",
    "Executor": "humanevalpack_metric.executor",
    "load_problems": "humanevalpack_metric.problems",
    "pass_at_k": "humanevalpack_metric.passk",
    "estimate_pass_at_k": "humanevalpack_metric.passk",
    "get_language": "humanevalpack_metric.languages",
    "LANGUAGES": "humanevalpack_metric.languages",
    "Outcome": "humanevalpack_metric.outcome",
    "Status": "humanevalpack_metric.outcome",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'humanevalpack_metric' has no attribute {name!r}")


__all__ = ["METRIC_PATH", *_LAZY]

"""Stage 6: cards and publication -- every data set, the model (its card carrying the run's
results), the metric as a Space and the recipe go to a Hub endpoint, one commit each, and each is
pulled back to prove the round trip.

The pushes and pulls run in a child process (:mod:`.publish_child`) whose environment points the
Hugging Face libraries at the run's Hub (``HF_ENDPOINT``, the token, ``HF_HOME`` under this
stage's directory): they read those variables when they are imported, and this process has
imported them long before (it also still loads benchmarks from the real Hub). By default the Hub is
the dev hub started for the run (:mod:`hub_cards.dev_hub`, repositories under ``<run_dir>/hub``);
``publish.endpoint: https://huggingface.co`` publishes for real with the token in
``$HF_TOKEN`` (``publish.token_env``), which reaches the child's environment and nothing else.

Output: ``publish.json`` (each repository: kind, id, URL, commit, the pull-back checks),
``pulled/<kind>/`` (the pulled copies), ``hf-home/`` (the child's Hub cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import octopack_common

SPEC = "publish_spec.json"
RESULT = "publish.json"
#: (the dataset card's kind, the stage that made it)
DATASETS = (("commitpack", "mine"), ("commitpackft", "filter"), ("oss-instruct", "oss_instruct"),
            ("evol-instruct", "evol_instruct"), ("octocoder-mix", "mix"))


def publish_inputs(ctx) -> dict[str, Any]:
    from ..stage import section_inputs

    section = section_inputs(ctx.config.publish)
    return {"publish": section, "metric": _metric_digest()}


def _metric_digest() -> str | None:
    from hub_cards.cli.push import installed_metric

    from ..stage import file_digest

    module, card = installed_metric()
    return f"{file_digest(module)}:{file_digest(card)}"


def repo_names(prefix: str, namespace: str) -> dict[str, str]:
    """The repository of each kind: ``<namespace>/<prefix>-<kind>``."""
    names = {kind: f"{namespace}/{prefix}-{kind}" for kind, _ in DATASETS}
    names.update(model=f"{namespace}/{prefix}-model", metric=f"{namespace}/{prefix}-humanevalpack",
                 recipe=f"{namespace}/{prefix}-recipes")
    return names


def run_publish(ctx, out: Path) -> dict[str, Any]:
    from .training import EVAL_DIR, MODEL_DIR

    hub = ctx.services.hub()
    datasets = []
    for kind, stage in DATASETS:
        folder = ctx.output(stage)
        if folder is not None:
            datasets.append({"kind": kind, "stage": stage, "folder": str(folder),
                             "rows": ctx.summary(stage).get("rows"), "license": ctx.summary(stage).get("license")})
    sft, evaluation = ctx.output("sft"), ctx.output("eval")
    spec = {
        "out": str(out), "namespace": hub.namespace, "prefix": ctx.config.publish.prefix,
        "private": ctx.config.publish.private, "pull_back": ctx.config.publish.pull_back,
        "endpoint": hub.endpoint, "local": hub.local, "datasets": datasets,
        "model": None if sft is None else {
            "folder": str(sft / MODEL_DIR),
            "results": str(evaluation / EVAL_DIR / "results.json") if evaluation is not None else None},
        "recipe": None if sft is None else str(sft / MODEL_DIR / "recipe.yaml"),
        "humanevalpack_dir": ctx.config.data.resolved("humanevalpack_dir"),
        "licenses": dict(ctx.config.publish.licenses),
    }
    octopack_common.write_json_atomic(out / SPEC, spec)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"))}
    env.update(hub.env(out / "hf-home"))
    env.setdefault("HF_ALLOW_CODE_EVAL", "1")
    command = [sys.executable, "-m", "octo_trainer.pipeline.stages.publish_child", str(out / SPEC)]
    completed = subprocess.run(command, env=env, cwd=str(out))
    if completed.returncode != 0:
        raise RuntimeError(f"publishing failed (exit status {completed.returncode}; its output is above)")
    result = json.loads((out / RESULT).read_text(encoding="utf-8"))
    checks = [check for repo in result["repos"] for check in repo.get("checks", {}).values()]
    return {"endpoint": hub.endpoint, "local": hub.local, "repos": len(result["repos"]),
            "skipped": result.get("skipped", []), "checks_passed": sum(bool(c) for c in checks),
            "checks": len(checks), "failed_checks": [f"{repo['kind']}: {name}" for repo in result["repos"]
                                                     for name, ok in repo.get("checks", {}).items() if not ok]}


def read_publish(ctx) -> dict[str, Any] | None:
    directory = ctx.output("publish")
    path = directory / RESULT if directory else None
    return json.loads(path.read_text(encoding="utf-8")) if path and path.is_file() else None

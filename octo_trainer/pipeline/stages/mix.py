"""Stage 3: the OctoCoder mix (:class:`commitpack_dataset.OctoCoderMix`, ``bigcode/guanaco-commits``
rebuilt): a seeded sample of the run's CommitPackFT rows over the HumanEvalPack languages plus the
filtered OASST first pairs, decontaminated, as ``prompt``/``completion`` rows.

Writes ``data/default/data.jsonl``, ``drop_counts.json`` (per reason, and per unwanted phrase),
``components.json``, ``decontamination/`` and ``card_facts.json`` (the dataset card's facts; the
publish stage names the pushed CommitPackFT repository in its components).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import octopack_common

#: The Hub default of the OASST part (what OctoCoder used).
OASST = "HuggingFaceH4/oasst1_guanaco"
CONFIG = "default"


def oasst_source(ctx) -> str:
    return ctx.config.data.resolved("oasst") or OASST


def mix_inputs(ctx) -> dict[str, Any]:
    from ..stage import file_digest, section_inputs
    from .teacher_data import benchmark_sources

    return {"mix": section_inputs(ctx.config.mix), "oasst": file_digest(oasst_source(ctx)),
            "benchmarks": {k: file_digest(v) for k, v in benchmark_sources(ctx).items()}}


def run_mix(ctx, out: Path) -> dict[str, Any]:
    from commitpack_dataset.cli.teacher import decontamination_facts, read_reports, write_rows
    from commitpack_dataset.octocoder_mix import HUMANEVALPACK_LANGUAGES, OctoCoderMix

    from .commits import read_rows
    from .teacher_data import benchmark_sources

    section = ctx.config.mix
    commits = list(read_rows(ctx.output("filter")))
    options = {k: v for k, v in benchmark_sources(ctx).items() if v is not None}
    builder = OctoCoderMix(cache_dir=str(ctx.cache_dir("octocoder-mix")), oasst_dataset=oasst_source(ctx),
                           include_oasst=section.oasst,
                           commit_samples=(section.commits or len(commits)) if commits else 0,
                           languages=tuple(section.languages or HUMANEVALPACK_LANGUAGES), seed=section.seed,
                           decontaminate=section.decontaminate, commit_rows=commits, **options)
    builder.download_and_prepare()
    dataset = builder.as_dataset("train")
    if section.oasst_rows is not None:
        extra = set([i for i, source in enumerate(dataset["source"]) if source == "oasst"][section.oasst_rows:])
        dataset = dataset.select([i for i in range(len(dataset)) if i not in extra])
    write_rows(dataset, out / "data" / CONFIG / "data.jsonl", "jsonl")
    prepared = Path(builder._output_dir)
    if (prepared / "decontamination").is_dir():
        shutil.copytree(prepared / "decontamination", out / "decontamination", dirs_exist_ok=True)
    drops = dict(builder.drop_statistics())
    components = builder.components()
    octopack_common.write_json_atomic(out / "components.json", components)
    octopack_common.write_json_atomic(out / "drop_counts.json", {
        "kept": len(dataset), "rows_per_config": {CONFIG: len(dataset)}, "drop_counts": drops,
        "phrase_counts": dict(builder.phrase_statistics())})
    per_source = {name: sum(1 for s in dataset["source"] if s == name) for name in ("commitpackft", "oasst")}
    licenses = sorted({row["license"] or "unknown" for row in commits} | ({"apache-2.0"} if per_source["oasst"] else set()))
    facts = {
        "kind": "octocoder-mix", "repo_id": "", "license": licenses[0] if len(licenses) == 1 else licenses,
        "configs": {CONFIG: {"rows": len(dataset)}},
        "components": [
            {"dataset": "commitpackft", "rows": per_source["commitpackft"], "weight": _share(per_source, "commitpackft")},
            {"dataset": oasst_source(ctx) if not Path(oasst_source(ctx)).exists() else
             f"OASST ({Path(oasst_source(ctx)).name})", "rows": per_source["oasst"], "weight": _share(per_source, "oasst")}],
        "decontamination": decontamination_facts(read_reports(out / "decontamination")) or {
            "benchmarks": [], "method": "none", "removed": 0, "checked": 0, "removed_per_benchmark": {}},
        "rules": [{"name": reason, "dropped": count, "stage": "mix"} for reason, count in sorted(drops.items())],
    }
    octopack_common.write_json_atomic(out / "card_facts.json", facts)
    return {"rows": len(dataset), "rows_per_config": {CONFIG: len(dataset)}, "dropped": sum(drops.values()),
            "drop_counts": drops, "components": per_source}


def _share(counts: dict[str, int], name: str) -> float:
    total = sum(counts.values())
    return round(counts[name] / total, 4) if total else 0.0


def mix_facts(folder: Path, repo_id: str, commitpackft_repo: str | None) -> dict[str, Any]:
    """The mix's card facts for ``repo_id``, naming the pushed CommitPackFT repository."""
    facts = json.loads((folder / "card_facts.json").read_text(encoding="utf-8"))
    facts["repo_id"] = repo_id
    for component in facts["components"]:
        if component["dataset"] == "commitpackft":
            component["dataset"] = commitpackft_repo or "CommitPackFT (built by octopack run, not published)"
    return facts

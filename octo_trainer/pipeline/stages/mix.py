"""Stage 3: the OctoCoder mix (:class:`commitpack_dataset.OctoCoderMix`, ``bigcode/guanaco-commits``
rebuilt): a seeded sample of the run's CommitPackFT rows over the HumanEvalPack languages plus the
filtered OASST first pairs, decontaminated, as ``prompt``/``completion`` rows.

Writes what ``octocoder-mix build`` writes (``data/default/data.jsonl``, ``drop_counts.json`` per
reason and unwanted phrase, ``components.json``, ``decontamination/``, ``build.json``), so the
publish stage pushes it with ``octocoder-mix push`` (naming the pushed CommitPackFT in its card).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
    from commitpack_dataset.cli.octocoder_mix import write_output
    from commitpack_dataset.octocoder_mix import HUMANEVALPACK_LANGUAGES, OctoCoderMix

    from .commits import read_rows
    from .teacher_data import benchmark_sources

    section = ctx.config.mix
    commits = list(read_rows(ctx.output("filter")))
    options = {k: v for k, v in benchmark_sources(ctx).items() if v is not None}
    if section.oasst_rows is not None:  # the first N conversations only
        from commitpack_dataset.oss_instruct.seeds import load_seed_dataset

        options["oasst_rows"] = load_seed_dataset(oasst_source(ctx), limit=section.oasst_rows)
    builder = OctoCoderMix(cache_dir=str(ctx.cache_dir("octocoder-mix")), oasst_dataset=oasst_source(ctx),
                           include_oasst=section.oasst,
                           commit_samples=section.commits or len(commits),
                           languages=tuple(section.languages or HUMANEVALPACK_LANGUAGES), seed=section.seed,
                           decontaminate=section.decontaminate, commit_rows=commits, **options)
    builder.download_and_prepare()
    dataset, drops, _phrases, components = write_output(builder, out)
    used = set(dataset["origin"])
    licenses = {row["license"] or "unknown" for row in commits if row["commit"] in used}
    if components["oasst"]["rows"]:
        licenses.add("apache-2.0")  # OASST
    return {"rows": len(dataset), "rows_per_config": {CONFIG: len(dataset)}, "dropped": sum(drops.values()),
            "drop_counts": dict(drops), "license": licenses.pop() if len(licenses) == 1 else sorted(licenses),
            "components": {"commitpackft": components["commitpackft"]["rows"], "oasst": components["oasst"]["rows"]}}

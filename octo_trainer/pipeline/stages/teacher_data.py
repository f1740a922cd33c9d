"""Stage 2: instruction data from the teacher -- OSS-Instruct (Magicoder) seeded with the mined
repositories' code, and Code Evol-Instruct (WizardCoder) from seed instructions.

Each stage runs its ``commitpack_dataset`` builder against the run's teacher (started only when a
request must be sent) and writes the layout of its ``generate`` command (``data/<config>/
data.jsonl``, ``drop_counts.json``, ``rejected.jsonl``, ``decontamination/``, ``build.json``), so
``octopack oss-instruct push`` and the publish stage read it as they read the command's output.
The builders' datasets caches and their teacher-response caches live in ``<run_dir>/cache/``,
shared by every fingerprint of the stage: a killed stage re-run, or a changed config, sends only
requests that were never answered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def teacher_inputs(ctx) -> dict[str, Any]:
    """What of the teacher decides the data: the model name sent and the endpoint (not the key)."""
    from ..stage import section_inputs

    section = section_inputs(ctx.config.teacher)
    return {**section, "model": ctx.services.teacher_model_name()}


def benchmark_sources(ctx) -> dict[str, str | None]:
    data = ctx.config.data
    return {"humaneval_source": data.resolved("humaneval"), "mbpp_source": data.resolved("mbpp"),
            "humanevalpack_dir": data.resolved("humanevalpack_dir")}


def teacher_kwargs(ctx) -> dict[str, Any]:
    """The builder fields of the teacher (starting it if this run serves it)."""
    teacher = ctx.services.teacher()
    section = ctx.config.teacher
    kwargs = dict(model=teacher.model, base_url=teacher.base_url, api_key_env=teacher.api_key_env,
                  concurrency=section.concurrency, rpm=section.rpm, tpm=section.tpm,
                  request_timeout=section.request_timeout,
                  prices=tuple(section.prices) if section.prices else None)
    return {key: value for key, value in kwargs.items() if value is not None}


def stage_summary(out: Path, rows: int, config_name: str, counts) -> dict[str, Any]:
    """The summary of a teacher stage, read back from the ``build.json`` its CLI's
    ``write_output`` wrote: rows, drops and the generation statistics (requests, tokens, cost)."""
    facts = json.loads((out / "build.json").read_text(encoding="utf-8"))
    stats = facts.get("generation") or {}
    counts = dict(counts)
    return {"rows": rows, "rows_per_config": {config_name: rows}, "dropped": sum(counts.values()),
            "drop_counts": counts, "teacher": (facts.get("teacher") or {}).get("model"),
            **{key: stats.get(key) for key in ("requests", "cached", "failed", "prompt_tokens",
                                               "completion_tokens", "cost")}}


# -- OSS-Instruct -------------------------------------------------------------------------------
def oss_inputs(ctx) -> dict[str, Any]:
    from ..stage import file_digest, section_inputs
    from .commits import repository_revisions

    return {"oss_instruct": section_inputs(ctx.config.oss_instruct), "teacher": teacher_inputs(ctx),
            "seeds": repository_revisions(ctx.config), "revision": ctx.config.mine.revision,
            "benchmarks": {k: file_digest(v) for k, v in benchmark_sources(ctx).items()}}


def run_oss_instruct(ctx, out: Path) -> dict[str, Any]:
    from commitpack_dataset.cli.oss_instruct import write_output
    from commitpack_dataset.oss_instruct import OSSInstruct

    from .commits import repositories

    section = ctx.config.oss_instruct
    options = {"seed_repositories": tuple(repositories(ctx.config)), "seed_revision": ctx.config.mine.revision,
               **{k: v for k, v in benchmark_sources(ctx).items() if v is not None},
               **section.options}
    builder = OSSInstruct(config_name=section.language, cache_dir=str(ctx.cache_dir("oss-instruct")),
                          max_new_data=section.max_new_data, max_new_tokens=section.max_new_tokens,
                          progress=ctx.progress, **teacher_kwargs(ctx), **options)
    builder.download_and_prepare()
    dataset, counts = write_output(builder, out)
    return stage_summary(out, len(dataset), section.language, counts)


# -- Evol-Instruct ------------------------------------------------------------------------------
def evol_seeds(ctx) -> str:
    """The seed instructions: ``data.evol_seeds`` (or its copy under ``data.local_dir``), else
    the Hub's Code Alpaca."""
    return ctx.config.data.resolved("evol_seeds") or CODE_ALPACA


#: The Hub default of the Evol-Instruct seeds (WizardCoder evolved Code Alpaca's 20k).
CODE_ALPACA = "sahil2801/CodeAlpaca-20k"


def evol_inputs(ctx) -> dict[str, Any]:
    from ..stage import file_digest, section_inputs

    return {"evol_instruct": section_inputs(ctx.config.evol_instruct), "teacher": teacher_inputs(ctx),
            "seeds": file_digest(evol_seeds(ctx)),
            "benchmarks": {k: file_digest(v) for k, v in benchmark_sources(ctx).items()}}


def run_evol_instruct(ctx, out: Path) -> dict[str, Any]:
    from commitpack_dataset.cli.evol_instruct import write_output
    from commitpack_dataset.evol_instruct import EvolInstruct

    section = ctx.config.evol_instruct
    options = {**{k: v for k, v in benchmark_sources(ctx).items() if v is not None}, **section.options}
    mode = options.pop("mode", "code")
    builder = EvolInstruct(config_name=mode, cache_dir=str(ctx.cache_dir("evol-instruct")),
                           seed_dataset=evol_seeds(ctx), max_seeds=section.max_seeds, rounds=section.rounds,
                           max_new_tokens=section.max_new_tokens, progress=ctx.progress,
                           **teacher_kwargs(ctx), **options)
    builder.download_and_prepare()
    dataset, _rounds, per_round = write_output(builder, out)
    drops = json.loads((out / "drop_counts.json").read_text(encoding="utf-8"))["drop_counts"]
    summary = stage_summary(out, len(dataset), mode, drops)
    summary["rows_per_round"] = {str(r): n for r, n in sorted(per_round.items())}
    return summary

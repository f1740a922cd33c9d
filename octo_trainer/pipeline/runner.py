"""Run the stages in order into one run directory, reusing every stage whose inputs did not change.

Run directory (``run_dir``)::

    pipeline.yaml        the resolved config of the last run (no secrets: variable names only)
    state.json           per stage: fingerprint, directory, status (done / reused / skipped /
                         failed), seconds, summary
    stages/<stage>/<fingerprint>/   each stage's outputs, with complete.json once finished
    cache/               builder caches and the teacher's response caches, shared by every
                         fingerprint: a changed config never pays for an answered request again
    services/            logs of the servers the run started (transformers serve)
    hub/                 the local dev hub's repositories (publish.endpoint: local)
    report.html, report/ the report (tables, PNGs), self-contained with relative links

One run at a time holds ``run_dir/.lock`` (released by the kernel if the run is killed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import octopack_common

from .config import STAGES, PipelineConfig, check_options
from .services import Services
from .stage import FINGERPRINT_CHARS, StageResult, fingerprint, read_marker, write_marker

logger = logging.getLogger("octo_trainer.pipeline")
STATE = "state.json"
RESOLVED = "pipeline.yaml"
LOCK = ".lock"


class PipelineError(RuntimeError):
    """A stage failed; the message names it and what to do (finished stages are kept)."""


class Context:
    """What a stage sees: the config, the run directory, upstream results, the services."""

    def __init__(self, config: PipelineConfig, run_dir: Path, progress: bool = True):
        self.config = config
        self.dir = run_dir
        self.progress = progress
        self.results: dict[str, StageResult] = {}
        self.services = Services(config, run_dir)

    def cache_dir(self, name: str) -> Path:
        path = self.dir / "cache" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def output(self, name: str) -> Path | None:
        """The finished output directory of stage ``name`` (``None`` if it is skipped)."""
        result = self.results.get(name)
        return result.directory if result is not None and result.status in ("done", "reused") else None

    def summary(self, name: str) -> dict[str, Any]:
        result = self.results.get(name)
        return result.summary if result is not None else {}


@dataclasses.dataclass
class RunSummary:
    run_dir: Path
    stages: list[StageResult]
    report: Path | None
    seconds: float

    @property
    def ran(self) -> list[str]:
        return [s.name for s in self.stages if s.status == "done"]

    @property
    def reused(self) -> list[str]:
        return [s.name for s in self.stages if s.status == "reused"]


def stage_table() -> dict:
    from .stages import STAGE_TABLE

    return STAGE_TABLE


def run_pipeline(config: PipelineConfig, *, until: str | None = None, rerun: Sequence[str] = (),
                 progress: bool = True, report: bool = True) -> RunSummary:
    """Run (or resume) the pipeline of ``config``; see the module docstring."""
    table = stage_table()
    for name in [*([until] if until else []), *rerun]:
        if name not in STAGES:
            from .schema import did_you_mean

            raise PipelineError(f"unknown stage {name!r}{did_you_mean(name, list(STAGES))}: the stages are "
                                f"{', '.join(STAGES)}")
    order = list(STAGES[: STAGES.index(until) + 1] if until else STAGES)
    check_opt_in(config, order)
    check_options(config)
    run_dir = Path(config.run_dir).expanduser().resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    ctx = Context(config, run_dir, progress)
    with octopack_common.file_lock(run_dir / LOCK):
        _write_resolved(config, run_dir)
        from .report import write_report

        try:
            for position, name in enumerate(order, 1):
                _run_stage(ctx, table[name], position, len(order), force=name in rerun)
        except PipelineError:
            if report:  # what finished, and which stage failed
                with contextlib.suppress(Exception):
                    print(f"octopack run: report of what finished: {write_report(ctx, order)}", flush=True)
            raise
        finally:
            ctx.services.close()
            _write_state(ctx, order)
        report_path = write_report(ctx, order) if report else None
    summary = RunSummary(run_dir, [ctx.results[name] for name in order], report_path,
                         time.monotonic() - started)
    return summary


def check_opt_in(config: PipelineConfig, order: Sequence[str]) -> None:
    """Executing model-written code needs the ecosystem's opt-in: say so before anything runs."""
    import os

    if ("eval" in order or ("publish" in order and config.publish.enabled)) \
            and os.environ.get("HF_ALLOW_CODE_EVAL") != "1":
        raise PipelineError("the eval and publish stages run model-written programs (in a sandbox): opt in "
                            "with HF_ALLOW_CODE_EVAL=1 (e.g. HF_ALLOW_CODE_EVAL=1 octopack run), or stop "
                            "earlier with --until sft")


def _run_stage(ctx: Context, stage, position: int, total: int, force: bool = False) -> None:
    result = StageResult(stage.name)
    ctx.results[stage.name] = result
    label = f"[{position}/{total}] {stage.name}"
    if not stage.enabled(ctx.config):
        result.status = "skipped"
        print(f"octopack run: {label}: skipped (disabled in the config)", flush=True)
        return
    inputs = {"stage": stage.name, "version": stage.version, **stage.inputs(ctx),
              "upstream": {name: ctx.results[name].key if name in ctx.results else None
                           for name in stage.needs}}
    result.fingerprint = fingerprint(inputs)
    out = ctx.dir / "stages" / stage.name / result.fingerprint[:FINGERPRINT_CHARS]
    result.directory = out
    marker = read_marker(out)
    if marker is not None and marker.get("fingerprint") == result.fingerprint and not force:
        result.status, result.summary = "reused", marker.get("summary", {})
        result.seconds, result.output_digest = marker.get("seconds", 0.0), marker.get("output_digest")
        print(f"octopack run: {label}: reused (inputs unchanged, {_relative(out, ctx.dir)})", flush=True)
        return
    if force:
        (out / "complete.json").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    print(f"octopack run: {label}: {stage.title} -> {_relative(out, ctx.dir)}", flush=True)
    began = time.monotonic()
    try:
        result.summary = stage.run(ctx, out) or {}
    except BaseException as error:
        result.status, result.seconds = "failed", time.monotonic() - began
        result.error = f"{type(error).__name__}: {error}"
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        raise PipelineError(f"stage {stage.name} failed: {_root_cause(error)}"
                            f" -- fix it and run the same command again (finished stages are reused; "
                            f"outputs so far in {out})") from error
    result.status, result.seconds = "done", time.monotonic() - began
    if stage.digest is not None:
        result.output_digest = stage.digest(out)
    write_marker(out, result, inputs)
    print(f"octopack run: {label}: done in {result.seconds:.1f} s", flush=True)


def _root_cause(error: BaseException) -> str:
    """The innermost cause's message (``datasets`` wraps a builder's error in its own)."""
    while error.__cause__ is not None and "error occurred while generating" in str(error):
        error = error.__cause__
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _write_resolved(config: PipelineConfig, run_dir: Path) -> None:
    import yaml

    text = ("# the resolved config of the last `octopack run` in this directory\n"
            + yaml.safe_dump(config.to_dict(), sort_keys=False))
    octopack_common.write_text_atomic(run_dir / RESOLVED, text)


def _write_state(ctx: Context, order: list[str]) -> None:
    stages = [ctx.results[name].to_json(ctx.dir) if name in ctx.results else {"name": name, "status": "pending"}
              for name in order]
    octopack_common.write_json_atomic(ctx.dir / STATE, {"run_dir": str(ctx.dir), "stages": stages})


def print_summary(summary: RunSummary, out=sys.stdout) -> None:
    """The closing table: each stage's status, time and headline numbers, then the report."""
    from .report import headline

    print("\noctopack run: summary", file=out)
    print(f"{'stage':<14} {'status':<8} {'seconds':>8}  result", file=out)
    for result in summary.stages:
        print(f"{result.name:<14} {result.status:<8} {result.seconds:>8.1f}  {headline(result)}", file=out)
    print(f"\nrun directory: {summary.run_dir} ({summary.seconds:.0f} s)", file=out)
    if summary.report is not None:
        print(f"report: {summary.report}", file=out)

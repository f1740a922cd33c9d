"""Build the three stages as datatrove executors, run them, and read back what they counted.

    config = ScaleConfig(CommitPackConfig(name="all", repositories=(...)), "out/", ft=True, tasks=8, workers=4)
    result = run_pipeline(config)      # index -> shared commits -> mine; resumable
    print(result.table())               # drop reasons summed from datatrove's per-task stats

datatrove writes ``logs/<stage>/completions/<task>`` when a task ends and skips completed tasks on
the next run, so an interrupted run resumes where it stopped. ``scale.json`` records the settings:
resuming with different ones is refused (completed tasks would keep the old results).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import time
from collections import Counter
from typing import Any, Dict, List, Optional

from commitpack_dataset.scale.config import MANIFEST_FILE, STAGES, ScaleConfig, ScaleError

_EXECUTOR_CLASSES = {
    "local": "LocalPipelineExecutor",
    "slurm": "SlurmPipelineExecutor",
    "ray": "RayPipelineExecutor",
}
_SLURM_REQUIRED = ("time", "partition")
DROPPED_PREFIX = "dropped_"


TOKEN_COUNTER_DIR = "token_counter"


def build_pipelines(config: ScaleConfig) -> Dict[str, List[Any]]:
    """``stage -> list of datatrove steps`` for the index, shared-commit and mining stages; the mining
    steps follow ``construction.STEPS`` (the builder's order)."""
    from commitpack_dataset.construction import AFTER_BLOBS, BEFORE_BLOBS, RecordSteps
    from commitpack_dataset.scale import dedup, steps

    commitpack = config.commitpack
    enabled = RecordSteps(commitpack, config.ft).enabled  # which record steps this configuration runs
    report_dir = f"{config.logging_dir('mine')}/{TOKEN_COUNTER_DIR}"
    mine = [steps.ReadCommits(commitpack, config.index_dir)]
    mine += [steps.RecordStep(name, commitpack, config.ft) for name in enabled(BEFORE_BLOBS)]
    mine.append(steps.ReadContents(commitpack))
    mine += [steps.RecordStep(name, commitpack, config.ft, report_dir) for name in enabled(AFTER_BLOBS)]
    mine.append(steps.LanguageParquetWriter(config.output_dir))
    return {
        "index": [dedup.IndexRepositories(commitpack, config.repositories, config.index_dir, config.partitions)],
        "shared": [dedup.FindSharedCommits(config.index_dir, config.tasks)],
        "mine": mine,
    }


def _executor(config: ScaleConfig, stage: str, pipeline: List[Any], depends):
    """One datatrove executor of ``config.executor``'s kind for ``stage``."""
    kind = config.executor
    if kind == "ray" and importlib.util.find_spec("ray") is None:
        raise ScaleError("the ray executor needs Ray: pip install 'datatrove[ray]' (or use --executor local/slurm)")
    if kind == "slurm":
        missing = [name for name in _SLURM_REQUIRED if name not in config.executor_options]
        if missing:
            raise ScaleError(f"the slurm executor needs executor options {missing} "
                             "(e.g. --executor-option time=04:00:00 --executor-option partition=cpu)")
    module = importlib.import_module("datatrove.executor")
    executor_class = getattr(module, _EXECUTOR_CLASSES[kind])
    tasks = config.partitions if stage == "shared" else config.tasks
    options: Dict[str, Any] = {"tasks": tasks, "logging_dir": config.logging_dir(stage), "depends": depends,
                               "workers": -1 if config.workers == -1 else min(config.workers, tasks)}
    if kind == "slurm":
        options["job_name"] = f"commitpack-{stage}"
    options.update(config.executor_options)
    return executor_class(pipeline, **options)


def build_executors(config: ScaleConfig) -> Dict[str, Any]:
    """``stage -> executor``, each depending on the previous stage (running the last runs them all)."""
    executors: Dict[str, Any] = {}
    depends = None
    for stage, pipeline in build_pipelines(config).items():
        depends = executors[stage] = _executor(config, stage, pipeline, depends)
    return executors


def check_manifest(config: ScaleConfig) -> None:
    """Write ``scale.json`` on the first run; refuse to resume a run made with other settings."""
    from datatrove.io import get_datafolder

    folder = get_datafolder(config.output_dir)
    settings = config.settings()
    if folder.exists(MANIFEST_FILE):
        with folder.open(MANIFEST_FILE, "r") as handle:
            previous = json.load(handle)
        if previous != settings:
            changed = sorted(key for key in settings if previous.get(key) != settings[key])
            raise ScaleError(f"{config.output_dir} holds a run with other settings (changed: {', '.join(changed)}); "
                             "resume with the same settings, or choose a new output directory")
        return
    with folder.open(MANIFEST_FILE, "w") as handle:
        json.dump(settings, handle, indent=2, sort_keys=True)


@dataclasses.dataclass
class ScaleResult:
    """What the stages' datatrove stats say, over every task (also the ones skipped on a resume)."""

    drop_counts: Counter
    rows_per_config: Dict[str, int]
    incomplete_tasks: Dict[str, int]
    seconds: float = 0.0
    token_counter: Optional[Dict[str, str]] = None  # how the CommitPackFT rules counted tokens

    @property
    def kept(self) -> int:
        return sum(self.rows_per_config.values())

    @property
    def complete(self) -> bool:
        return not any(self.incomplete_tasks.values())

    def table(self) -> str:
        from commitpack_dataset.construction import drop_table

        from commitpack_dataset.filters.tokens import describe_counter

        note = describe_counter(self.token_counter)
        table = f"kept {self.kept:,} commits in {len(self.rows_per_config)} languages\n{drop_table(self.drop_counts)}"
        return table + (f"\n{note}" if note else "")


def _task_stats(logging_dir: str) -> List[list]:
    """The per-task stats files of one stage (lists of step stats)."""
    from datatrove.io import get_datafolder

    folder = get_datafolder(logging_dir)
    if not folder.exists("stats"):
        return []
    stats = []
    for path in folder.list_files("stats", glob_pattern="*.json"):
        with folder.open(path, "r") as handle:
            stats.append(json.load(handle))
    return stats


def read_results(config: ScaleConfig, executors: Dict[str, Any]) -> ScaleResult:
    """Sum the ``dropped_<reason>`` counters of every step and task, and the writer's rows per file."""
    from datatrove.utils.stats import MetricStats

    drops: Counter = Counter()
    rows: Counter = Counter()
    for stage in STAGES:
        for task in _task_stats(config.logging_dir(stage)):
            for step in task:
                for key, value in step["stats"].items():
                    total = int(MetricStats.from_dict(value).total)
                    if key.startswith(DROPPED_PREFIX):
                        drops[key[len(DROPPED_PREFIX):]] += total
                    elif key.startswith("data/") and key.endswith(".parquet"):
                        rows[key.split("/")[1]] += total
    incomplete = {stage: len(executor.get_incomplete_ranks()) for stage, executor in executors.items()}
    return ScaleResult(drop_counts=+drops, rows_per_config=dict(sorted(rows.items())), incomplete_tasks=incomplete,
                       token_counter=_token_counter(config))


def _token_counter(config: ScaleConfig) -> Optional[Dict[str, str]]:
    """The token counter report of the first mining task that wrote one (every task resolves the same choice)."""
    from datatrove.io import get_datafolder

    folder = get_datafolder(f"{config.logging_dir('mine')}/{TOKEN_COUNTER_DIR}")
    if not folder.exists(""):
        return None
    for path in folder.list_files(glob_pattern="*.json"):
        with folder.open(path, "r") as handle:
            return json.load(handle)
    return None


def run_pipeline(config: ScaleConfig) -> ScaleResult:
    """Run (or resume) the three stages; with Slurm, submit them and return (``complete`` is then False)."""
    executors = build_executors(config)  # invalid executor settings fail before anything is written
    check_manifest(config)
    started = time.perf_counter()
    executors[STAGES[-1]].run()
    result = read_results(config, executors)
    result.seconds = time.perf_counter() - started
    return result

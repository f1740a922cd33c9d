"""What a scale-out run mines and how it runs; where each stage keeps its files."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, Optional, Tuple

EXECUTORS = ("local", "slurm", "ray")
# Stage names double as the datatrove logging sub-directories (stats/, completions/, logs/).
STAGES = ("index", "shared", "mine")
MANIFEST_FILE = "scale.json"
# CommitPackConfig fields that change which records a run produces (the resume check compares them).
_RESULT_FIELDS = (
    "languages", "repository_licenses", "revisions", "since", "until", "max_blob_bytes", "skip_binary",
    "drop_merge_commits", "skip_submodules_and_symlinks", "skip_unreadable_repositories", "strict", "faithful",
    "opt_out_logins", "tokenizer", "min_tokens", "max_tokens",
)


class ScaleError(ValueError):
    """A scale-out run cannot start: the message names the problem and the fix."""


@dataclasses.dataclass
class ScaleConfig:
    """A CommitPack / CommitPackFT build as a datatrove pipeline.

    Attributes:
        commitpack: a ``builders.CommitPackConfig`` (``source="mine"``): repositories, languages,
            license policy, revisions, size limits, ``faithful``, opt-out logins, tokenizer options.
        output_dir: ``data/<config>/*.parquet`` (the Hub layout), ``logs/<stage>/`` (datatrove's
            logging directories: stats, completions, task logs), ``index/`` (the dedup stages' files),
            ``scale.json`` (the settings, checked when a run resumes). Local path or any fsspec URL
            the executor's machines share.
        ft: apply the CommitPackFT rules after the CommitPack rules.
        tasks: datatrove tasks of the index and mining stages; repository ``i`` (in list order,
            duplicates removed) belongs to task ``i % tasks``.
        workers: tasks running at once (local and Ray executors); ``-1``: all.
        partitions: tasks (hash partitions) of the shared-commit stage; default ``tasks``.
        executor: ``local``, ``slurm`` or ``ray`` (datatrove's executors).
        executor_options: extra keyword arguments of the executor class, e.g. ``{"partition": "cpu",
            "time": "04:00:00"}`` for Slurm or ``{"start_method": "fork"}`` locally.
    """

    commitpack: Any
    output_dir: str
    ft: bool = False
    tasks: int = 1
    workers: int = 1
    partitions: Optional[int] = None
    executor: str = "local"
    executor_options: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise ScaleError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if self.tasks < 1 or (self.partitions is not None and self.partitions < 1):
            raise ScaleError(f"tasks and partitions must be >= 1, got tasks={self.tasks}, partitions={self.partitions}")
        if self.workers == 0 or self.workers < -1:
            raise ScaleError(f"workers must be >= 1 or -1 (all tasks at once), got {self.workers}")
        if getattr(self.commitpack, "source", "mine") != "mine":
            raise ScaleError("the scale-out pipeline mines repositories: use a CommitPackConfig with source='mine'")
        if not self.repositories:
            raise ScaleError("no repositories to mine: set CommitPackConfig.repositories")
        if self.partitions is None:
            self.partitions = self.tasks
        self.output_dir = str(self.output_dir)
        if "://" not in self.output_dir:  # tasks may run in another working directory (Slurm, Ray)
            self.output_dir = os.path.abspath(self.output_dir)

    @property
    def repositories(self) -> Tuple[str, ...]:
        """The repositories in order, duplicates removed; the position is the repository's index."""
        return tuple(dict.fromkeys(self.commitpack.repositories))

    def logging_dir(self, stage: str) -> str:
        """datatrove logging directory of ``stage`` (one of ``STAGES``)."""
        return os.path.join(self.output_dir, "logs", stage)

    @property
    def index_dir(self) -> str:
        """Where the index and shared-commit stages write their files."""
        return os.path.join(self.output_dir, "index")

    def settings(self) -> Dict[str, Any]:
        """Everything that changes the output of a run, as JSON-ready values (the resume check)."""
        commitpack = {name: getattr(self.commitpack, name) for name in _RESULT_FIELDS}
        commitpack["license_policy"] = self.commitpack.resolved_license_policy()
        return json.loads(json.dumps({"repositories": self.repositories, "ft": self.ft, "tasks": self.tasks,
                                      "partitions": self.partitions, "commitpack": commitpack}))


def task_of(repository: int, tasks: int) -> int:
    """The index and mining task that owns repository number ``repository``."""
    return repository % tasks


def task_repositories(count: int, rank: int, world_size: int) -> range:
    """Repository numbers owned by task ``rank`` of ``world_size`` (inverse of ``task_of``)."""
    return range(rank, count, world_size)


def partition_of(commit: str, partitions: int) -> int:
    """Hash partition of a commit: its first 32 bits (SHAs are uniformly distributed) modulo ``partitions``."""
    return int(commit[:8], 16) % partitions

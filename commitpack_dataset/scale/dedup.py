"""Global dedup by commit SHA across tasks, before any blob is read (stages 1 and 2 of 3).

CommitPack keys every record by its commit and lists in ``repos`` every repository that holds it
(reference A.2-6, A.5); the builder does this inside one shard. Across tasks:

1. ``IndexRepositories`` (task ``r`` owns repositories ``r, r + tasks, ...``): opens each
   repository with the builder's ``repositories.open_repository`` (clone cache, readability, license
   policy, repository languages), which also lists its commits (``git rev-list``), and writes
   ``(commit, repository number)`` pairs into hash partitions, plus one row per repository (name,
   git dir, license). An unreadable repository fails the task with ``UnreadableRepository`` unless
   ``skip_unreadable_repositories`` (then its reason is counted).
2. ``FindSharedCommits`` (one task per partition): groups its pairs (``repositories.group_holders``)
   and, for every commit held by several repositories, tells each mining task holding a copy the
   sorted list of holders.

The mining stage then keeps the copy of the first (lowest-numbered) holder and drops the others
as ``duplicate_commit`` before their blobs are read — the builder's choice, so the result does not
depend on the number of tasks or on which task finishes first.

datatrove's ``ExactDedupSignature/ExactFindDedups/ExactDedupFilter`` do not fit: they run after the
documents exist (every fork's blobs would be read, written and shuffled), keep the copy of the
highest 16-bit priority (not enough for a repository order) and aggregate nothing, while ``repos``
and ``license`` need every holder.

Files under the index directory::

    repositories/<task>.jsonl            {"index", "location", "name", "kept", "git_dir", "license"}
    commits/<partition>/<task>.npz       commits (hex, bytes) and repository numbers
    shared/<task>/<partition>.jsonl      {"commit", "repositories": [sorted holders]}
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep

from commitpack_dataset.repositories import group_holders, open_repositories, repository_name
from commitpack_dataset.scale.config import partition_of, task_of, task_repositories


def _write_jsonl(folder, path: str, rows: Iterable[dict]) -> None:
    with folder.open(path, "w") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _read_jsonl(folder, path: str) -> List[dict]:
    with folder.open(path, "r") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class RepositoryTable:
    """The repository rows that the index stage wrote (one JSONL file per task)."""

    def __init__(self, index_dir: str):
        self.folder = get_datafolder(index_dir)

    def task_rows(self, rank: int) -> List[dict]:
        """The rows of task ``rank``'s repositories, in repository order."""
        path = f"repositories/{rank:05d}.jsonl"
        return _read_jsonl(self.folder, path) if self.folder.exists(path) else []

    def rows(self, wanted: Optional[Iterable[int]] = None) -> Dict[int, dict]:
        """``repository number -> row`` for ``wanted`` (every repository when ``None``)."""
        wanted = None if wanted is None else set(wanted)
        table = {}
        for path in self.folder.list_files("repositories", glob_pattern="*.jsonl"):
            for row in _read_jsonl(self.folder, path):
                if wanted is None or row["index"] in wanted:
                    table[row["index"]] = row
        return table


def shared_commits(index_dir: str, rank: int) -> Dict[str, Tuple[int, ...]]:
    """``commit -> sorted holders`` of every commit that task ``rank`` holds and other repositories hold too."""
    folder = get_datafolder(index_dir)
    shared: Dict[str, Tuple[int, ...]] = {}
    for path in folder.list_files(f"shared/{rank:05d}", glob_pattern="*.jsonl"):
        for row in _read_jsonl(folder, path):
            shared[row["commit"]] = tuple(row["repositories"])
    return shared


class IndexRepositories(PipelineStep):
    """Stage 1: open this task's repositories and write their commits into hash partitions."""

    type = "🗂️ - INDEX"
    name = "repositories and commits"

    def __init__(self, commitpack, repositories: Sequence[str], index_dir: str, partitions: int):
        super().__init__()
        self.commitpack = commitpack
        self.repositories = tuple(repositories)
        self.index_dir = index_dir
        self.partitions = partitions

    def _index(self, number: int, pairs: Dict[int, List[Tuple[str, int]]]) -> dict:
        """Open repository ``number`` like the builder does; add its commits to ``pairs``; return its row."""
        location = self.repositories[number]
        opened = open_repositories([(number, location)], self.commitpack)
        for reason, count in opened.drop_counts.items():
            self.stat_update(f"dropped_{reason}", value=count, unit="repository")
        row = {"index": number, "location": location, "name": repository_name(location),
               "kept": bool(opened.repositories), "skipped": opened.skipped}
        if not opened.repositories:
            return row
        row.update(opened.repositories[0].row())
        commits = opened.commits[number]
        for commit in commits:
            pairs[partition_of(commit, self.partitions)].append((commit, number))
        self.stat_update("commits", value=len(commits), unit="repository")
        return row

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        folder = get_datafolder(self.index_dir)
        pairs: Dict[int, List[Tuple[str, int]]] = defaultdict(list)
        rows = []
        for number in task_repositories(len(self.repositories), rank, world_size):
            with self.track_time("repository"):
                rows.append(self._index(number, pairs))
            self.stat_update("repositories")
        _write_jsonl(folder, f"repositories/{rank:05d}.jsonl", rows)
        for partition, items in pairs.items():
            buffer = io.BytesIO()
            np.savez(buffer, commits=np.array([commit.encode("ascii") for commit, _ in items]),
                     repositories=np.array([number for _, number in items], dtype=np.uint32))
            with folder.open(f"commits/{partition:05d}/{rank:05d}.npz", "wb") as handle:
                handle.write(buffer.getvalue())
        if data:
            yield from data


class FindSharedCommits(PipelineStep):
    """Stage 2: in one hash partition, the holders of every commit that several repositories hold."""

    type = "🫂 - DEDUPS"
    name = "commits held by several repositories"

    def __init__(self, index_dir: str, mining_tasks: int):
        super().__init__()
        self.index_dir = index_dir
        self.mining_tasks = mining_tasks

    def _load(self, folder, rank: int) -> Tuple[np.ndarray, np.ndarray]:
        commits, repositories = [], []
        for path in folder.list_files(f"commits/{rank:05d}", glob_pattern="*.npz"):
            with folder.open(path, "rb") as handle:
                arrays = np.load(io.BytesIO(handle.read()))
                commits.append(arrays["commits"])
                repositories.append(arrays["repositories"])
        if not commits:
            return np.array([], dtype="S40"), np.array([], dtype=np.uint32)
        return np.concatenate(commits), np.concatenate(repositories)

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        folder = get_datafolder(self.index_dir)
        with self.track_time("partition"):
            commits, repositories = self._load(folder, rank)
            per_task: Dict[int, List[dict]] = defaultdict(list)
            shared = 0
            for commit, holders in group_holders(commits, repositories):
                shared += 1
                row = {"commit": commit, "repositories": holders}
                for task in sorted({task_of(holder, self.mining_tasks) for holder in holders}):
                    per_task[task].append(row)
            for task, rows in per_task.items():
                _write_jsonl(folder, f"shared/{task:05d}/{rank:05d}.jsonl", rows)
        self.stat_update("commits", value=len(commits), unit="partition")
        self.stat_update("shared_commits", value=shared, unit="partition")
        if data:
            yield from data

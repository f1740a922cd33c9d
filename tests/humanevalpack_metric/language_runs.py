"""Shared helpers for the per-language tests: a prepared language in a real sandbox, one
program run, and the full run of every canonical and buggy solution."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from humanevalpack_metric.languages import Language, ToolchainMissing, get_language
from humanevalpack_metric.outcome import Outcome
from humanevalpack_metric.problems import load_problems
from humanevalpack_metric.sandbox import Sandbox

KINDS = ("canonical_solution", "buggy_solution")


@dataclass
class Prepared:
    language: Language
    sandbox: Sandbox
    cache_dir: Path

    def run(self, program: str, timeout: float | None = None) -> Outcome:
        """One program in a fresh work directory, as the executor runs it."""
        timeout = self.language.default_timeout if timeout is None else timeout
        with self.sandbox.workdir() as workdir:
            return self.language.execute(program, workdir, self.sandbox, timeout)


@contextlib.contextmanager
def prepared(name: str, **options) -> Iterator[Prepared]:
    """A language with its toolchain checked (skip if missing) and prepared in a fresh cache
    that the sandbox exposes read-only (``sandbox_ro_paths``)."""
    language = get_language(name, **{k: v for k, v in options.items() if k == "corrected"})
    for key, value in options.items():
        if key != "corrected":
            setattr(language, key, value)
    try:
        language.check_toolchain()
    except ToolchainMissing as missing:
        pytest.skip(str(missing))
    cache_dir = Path(tempfile.mkdtemp(prefix=f"octopack-test-{language.name}-"))
    os.chmod(cache_dir, 0o755)
    try:
        language.prepare(cache_dir)
        sandbox = Sandbox(ro_binds=language.sandbox_ro_paths(cache_dir))
        yield Prepared(language, sandbox, cache_dir)
    finally:
        language.close()
        shutil.rmtree(cache_dir, ignore_errors=True)


def solution_programs(language: Language, data_dir: Path, every: int = 1) -> list[tuple]:
    """``(task_id, kind, program)`` for the canonical and buggy solution of every ``every``-th
    problem, assembled like a Synthesize generation (prompt + solution)."""
    jobs = []
    for problem in load_problems(language.name, data_dir)[::every]:
        for kind in KINDS:
            candidate = language.assemble(problem["prompt"] + problem[kind], problem, "synthesize")
            jobs.append((problem["task_id"], kind,
                         language.program(candidate, "\n" + problem["test"])))
    return jobs


@dataclass
class FullRun:
    outcomes: dict  # (task_id, kind) -> Outcome
    seconds: dict  # (task_id, kind) -> wall seconds of that program
    wall: float

    def unexpected(self) -> list[tuple]:
        """Canonical solutions that did not pass and buggy ones that did."""
        return sorted((task_id, kind, outcome.result[:200])
                      for (task_id, kind), outcome in self.outcomes.items()
                      if outcome.passed != (kind == "canonical_solution"))

    def summary(self, name: str) -> str:
        counts = Counter((kind.split("_")[0], o.status.value)
                         for (_, kind), o in self.outcomes.items())
        times = sorted(self.seconds.values())
        slowest = sorted(self.seconds.items(), key=lambda item: -item[1])[:5]
        return (f"{name}: {len(times)} programs in {self.wall:.1f} s wall (2 workers); "
                f"per program median {times[len(times) // 2]:.3f} s, mean "
                f"{sum(times) / len(times):.3f} s; {dict(sorted(counts.items()))}; slowest "
                + ", ".join(f"{t}/{k.split('_')[0]} {s:.1f}s" for (t, k), s in slowest))


def run_all(env: Prepared, jobs: list[tuple], workers: int = 2) -> FullRun:
    """Every program once through a pool of ``workers`` threads."""

    def one(job):
        started = time.monotonic()
        outcome = env.run(job[2])
        return job, outcome, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(one, jobs))
    wall = time.monotonic() - started
    return FullRun({(j[0], j[1]): o for j, o, _ in done}, {(j[0], j[1]): s for j, _, s in done},
                   wall)

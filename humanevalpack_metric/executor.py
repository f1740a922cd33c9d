"""Scheduling: run many programs of one language in parallel sandboxes, each exactly once.

- Toolchain work happens once per executor and language (``Language.prepare``), cached on disk.
- Identical programs run once: outcomes are cached by (language, mode, timeout, program text),
  in memory and optionally in a JSONL file that makes long evaluations resumable.
- Every program runs in its own throwaway directory inside the language's
  :class:`~humanevalpack_metric.sandbox.Sandbox`, which gives each concurrent run its own slot
  (an unprivileged uid, exclusive across threads and processes).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from octopack_common import cache_dir as octopack_cache_dir

from .languages import Language, get_language
from .outcome import Outcome, Status
from .sandbox import Sandbox

logger = logging.getLogger(__name__)


@dataclass
class RunStats:
    """What one :meth:`Executor.run` call did, for logs and reports."""

    language: str
    programs: int = 0
    unique: int = 0
    cache_hits: int = 0
    executed: int = 0
    prepare_seconds: float = 0.0
    wall_seconds: float = 0.0  # includes prepare_seconds
    sandbox: str = ""  # the isolation in effect ("bwrap" or "rlimit")
    status_counts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class ResultCache:
    """Outcomes keyed by program hash; optionally persisted as append-only JSONL (resumable)."""

    def __init__(self, path: str | os.PathLike | None = None):
        self._memory: dict[str, Outcome] = {}
        self._lock = threading.Lock()
        self.path = Path(path) if path else None
        if self.path and self.path.exists():
            with self.path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        row = json.loads(line)
                        self._memory[row["key"]] = Outcome.from_dict(row)
                    except (json.JSONDecodeError, KeyError, ValueError):
                        continue  # a torn last line from an interrupted run
        self._handle = None

    def get(self, key: str) -> Outcome | None:
        return self._memory.get(key)

    def put(self, key: str, outcome: Outcome) -> None:
        with self._lock:
            self._memory[key] = outcome
            if self.path is None or outcome.status is Status.ERROR:
                return
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self.path.open("a", encoding="utf-8")
            self._handle.write(json.dumps({"key": key, **outcome.to_dict(),
                                           "detail": outcome.detail[:2000]}) + "\n")
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def program_key(language: str, corrected: bool, timeout: float, program: str) -> str:
    digest = hashlib.sha256()
    for part in (language, "corrected" if corrected else "faithful", repr(float(timeout)), program):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


class Executor:
    """Runs programs for the HumanEvalPack languages.

    Args:
        num_workers: parallel sandboxes (default: the number of CPU cores).
        cache_dir: toolchain caches (prebuilt crates, precompiled headers, Go build cache...).
        corrected: fix the documented reference-data bugs instead of reproducing them.
        sandbox_mode: ``"auto"`` (bubblewrap when it works, else rlimits with a warning),
            ``"bwrap"`` (require it) or ``"rlimit"``.
        results_path: JSONL file of outcomes; an interrupted evaluation resumes from it.
        progress: show a progress bar.
    """

    def __init__(
        self,
        num_workers: int | None = None,
        cache_dir: str | os.PathLike | None = None,
        corrected: bool = False,
        sandbox_mode: str = "auto",
        results_path: str | os.PathLike | None = None,
        progress: bool = True,
    ):
        self.num_workers = max(1, int(num_workers or os.cpu_count() or 1))
        self.cache_dir = Path(cache_dir) if cache_dir else octopack_cache_dir() / "toolchains"
        self.corrected = corrected
        self.sandbox_mode = sandbox_mode
        self.cache = ResultCache(results_path)
        self.progress = progress
        self._languages: dict[str, Language] = {}
        self._sandboxes: dict[str, Sandbox] = {}
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for name in list(self._languages):
            self.close_language(name)
        self.cache.close()

    def close_language(self, name: str) -> None:
        """Stop one language's helper processes (warm interpreters, compile servers)."""
        with self._lock:
            lang = self._languages.pop(get_language(name).name, None)
        if lang is not None:
            lang.close()

    def language(self, name: str) -> Language:
        """The prepared language (toolchain checked and warmed once per executor)."""
        lang = get_language(name, corrected=self.corrected)
        with self._lock:
            if lang.name not in self._languages:
                lang.check_toolchain()
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                lang.prepare(self.cache_dir / lang.name)
                self._languages[lang.name] = lang
            return self._languages[lang.name]

    def _sandbox(self, lang: Language) -> Sandbox:
        with self._lock:
            if lang.name not in self._sandboxes:
                ro = [str(p) for p in lang.sandbox_ro_paths(self.cache_dir / lang.name)]
                self._sandboxes[lang.name] = Sandbox(ro_binds=ro, mode=self.sandbox_mode)
            return self._sandboxes[lang.name]

    # -- running --------------------------------------------------------------------------
    def run(
        self,
        language: str,
        programs: Sequence[str],
        timeout: float | None = None,
        desc: str | None = None,
    ) -> tuple[list[Outcome], RunStats]:
        """Run every program once (duplicates share one run); outcomes in input order."""
        return self.run_many({language: programs}, timeout=timeout, desc=desc)[
            get_language(language).name]

    def run_many(
        self,
        batches: Mapping[str, Sequence[str]],
        timeout: float | None = None,
        desc: str | None = None,
    ) -> dict[str, tuple[list[Outcome], RunStats]]:
        """Run the programs of several languages in one pool: ``{language: programs}`` ->
        ``{language: (outcomes in input order, stats)}``.

        Programs with the longest timeout start first (C++ and Rust 60 s, Go 20 s, then the
        10 s languages), so one that waits out a long timeout overlaps with the shorter work
        instead of holding up the end of the batch. ``timeout`` (if given) applies to every
        language; ``stats.wall_seconds`` runs until that language's last program finished.
        """
        start = time.monotonic()
        plans: dict[str, _Plan] = {}
        for language, programs in batches.items():
            began = time.monotonic()
            lang = self.language(language)
            if lang.name in plans:
                raise ValueError(f"{language!r} given twice (as {lang.name!r}): one batch per language")
            limit = float(timeout if timeout is not None else lang.default_timeout)
            plans[lang.name] = _Plan(lang, limit, self.corrected, programs,
                                     RunStats(language=lang.name, programs=len(programs),
                                              prepare_seconds=time.monotonic() - began,
                                              sandbox=self._sandbox(lang).mode))
        jobs = []
        for plan in plans.values():
            for key, program in plan.keys_to_run(self.cache).items():
                jobs.append((plan, key, program))
        jobs.sort(key=lambda job: -job[0].timeout)  # stable: input order within a timeout
        if jobs:
            names = "+".join(plans)
            self._execute_all(jobs, desc or f"humanevalpack {names}")
        results = {}
        for name, plan in plans.items():
            outcomes = [self.cache.get(key) for key in plan.keys]
            counts = plan.stats.status_counts
            for outcome in outcomes:
                counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
            plan.stats.wall_seconds = (plan.finished or time.monotonic()) - start
            results[name] = (outcomes, plan.stats)
        return results

    def _execute_all(self, jobs: list[tuple["_Plan", str, str]], desc: str) -> None:
        """Workers take the next job only once admitted, so jobs start in list order (a
        thread pool racing for the gate would let fast jobs overtake waiting ones)."""
        gate = _Gate(self.num_workers, extra=2 * self.num_workers)
        queue = collections.deque(jobs)
        take = threading.Lock()
        bar = progress_bar(len(jobs), desc, self.progress)

        def worker() -> None:
            while True:
                with gate.admit() as park_after:
                    with take:
                        if not queue:
                            return
                        plan, key, program = queue.popleft()
                    park_after(max(2.0, plan.timeout / 5))
                    sandbox = self._sandbox(plan.language)
                    outcome = self._execute_one(plan.language, sandbox, program, plan.timeout)
                    self.cache.put(key, outcome)
                plan.finished = time.monotonic()
                bar.update(1)

        with ThreadPoolExecutor(max_workers=self.num_workers + gate.extra) as pool:
            workers = [pool.submit(worker) for _ in range(min(len(jobs), self.num_workers + gate.extra))]
            for future in workers:
                future.result()
        bar.close()

    @staticmethod
    def _execute_one(lang: Language, sandbox: Sandbox, program: str, timeout: float) -> Outcome:
        started = time.monotonic()
        try:
            with sandbox.workdir() as workdir:
                outcome = lang.execute(program, workdir, sandbox, timeout)
        except Exception as error:  # our failure, not the program's: say so, keep the batch
            logger.exception("executing a %s program failed", lang.name)
            outcome = Outcome(Status.ERROR, f"{type(error).__name__}: {error}")
        if not outcome.duration:
            outcome.duration = time.monotonic() - started
        return outcome


class _Plan:
    """One language's share of a :meth:`Executor.run_many` call."""

    def __init__(self, language: Language, timeout: float, corrected: bool,
                 programs: Sequence[str], stats: RunStats):
        self.language, self.timeout, self.stats = language, timeout, stats
        self.keys = [program_key(language.name, corrected, timeout, p) for p in programs]
        self.programs = programs
        self.finished: float | None = None  # when its last program ended

    def keys_to_run(self, cache: ResultCache) -> dict[str, str]:
        """The distinct programs not in ``cache`` yet (and fill in the stats' counts)."""
        todo: dict[str, str] = {}
        for key, program in zip(self.keys, self.programs):
            if key not in todo and cache.get(key) is None:
                todo[key] = program
        self.stats.unique = len(set(self.keys))
        self.stats.cache_hits = self.stats.unique - len(todo)
        self.stats.executed = len(todo)
        return todo


class _Gate:
    """Admits ``slots`` programs at a time; one still running after ``patience`` seconds gives
    its slot back (it is most likely looping until its timeout), for at most ``extra`` programs.

    Timeouts are wall-clock, so a batch with a few infinite loops would otherwise spend whole
    timeouts with most cores blocked; the reference recipe gets a similar overlap by running
    more workers than cores. Short programs still run ``slots`` at a time.
    """

    def __init__(self, slots: int, extra: int):
        self._slots = threading.Semaphore(slots)
        self._extra = threading.Semaphore(extra)
        self.extra = extra

    @contextlib.contextmanager
    def admit(self):
        """Hold a slot; the context's value ``park_after(seconds)`` starts the patience."""
        self._slots.acquire()
        lock = threading.Lock()
        state = {"parked": False, "done": False}
        timers = []

        def park() -> None:
            with lock:
                if not state["done"] and self._extra.acquire(blocking=False):
                    state["parked"] = True
                    self._slots.release()

        def park_after(seconds: float) -> None:
            timer = threading.Timer(seconds, park)
            timer.daemon = True
            timers.append(timer)
            timer.start()

        try:
            yield park_after
        finally:
            for timer in timers:
                timer.cancel()
            with lock:
                state["done"] = True
                (self._extra if state["parked"] else self._slots).release()


def progress_bar(total: int, desc: str, enabled: bool = True):
    """A tqdm bar counting programs (a disabled one, which draws nothing, when progress is off)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="program", disable=not enabled)

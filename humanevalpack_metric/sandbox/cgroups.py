"""Optional cgroup v1 groups per run: ``pids`` and ``memory`` limit the run as a whole, and
``cpuacct`` measures its CPU time. Used only where those hierarchies are writable (root); not
cgroup v2.

A run starts inside its groups without any code between fork and exec: the spawning thread
joins them (v1 moves single threads through ``tasks``) and leaves again once the child exists.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Iterator, Mapping

from .limits import Limits
from .procfs import kill_confirmed

log = logging.getLogger(__name__)


class Cgroups:
    """Per-run child groups in the writable cgroup v1 ``pids``, ``memory`` and ``cpuacct``
    hierarchies (the first two limit a run, the last measures its CPU time).

    Groups live below the group we are in (so the machine's own accounting still applies) as
    ``octopack-<pid>/run-<n>``; each is removed after its run, the parent at exit, and parents
    left by dead processes are removed when the next process starts."""

    MOUNT = Path("/sys/fs/cgroup")
    CONTROLLERS = ("pids", "memory", "cpuacct")
    LIMIT_FILES = {"pids": ("pids.max", "max"), "memory": ("memory.limit_in_bytes", "-1")}

    def __init__(self, roots: dict[str, Path]):
        self.roots = roots  # controller -> our octopack-<pid> directory
        atexit.register(self.cleanup)

    @classmethod
    def detect(cls) -> "Cgroups | None":
        """Our own place in each v1 hierarchy, if we may create groups there."""
        try:
            own = {}
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                _, controllers, path = line.split(":", 2)
                for controller in controllers.split(","):
                    own[controller] = path
        except OSError:
            return None
        roots = {}
        for controller in cls.CONTROLLERS:
            mount = cls.MOUNT / controller
            if controller not in own or not (mount / "cgroup.procs").exists():
                continue
            parent = mount / own[controller].lstrip("/")
            cls._remove_stale(parent)
            root = parent / f"octopack-{os.getpid()}"
            probe = root / "probe"
            try:
                probe.mkdir(parents=True, exist_ok=True)
                if controller in cls.LIMIT_FILES:
                    limit_file, unlimited = cls.LIMIT_FILES[controller]
                    (probe / limit_file).write_text(unlimited)
                else:
                    (probe / "cpuacct.usage").read_text()
                probe.rmdir()
            except OSError:
                with contextlib.suppress(OSError):
                    root.rmdir()
                continue
            roots[controller] = root
        return cls(roots) if roots else None

    @property
    def limiting(self) -> list[str]:
        """The controllers that limit a run (``cpuacct`` only measures it)."""
        return sorted(c for c in self.roots if c in self.LIMIT_FILES)

    @staticmethod
    def _remove_stale(parent: Path) -> None:
        """Remove empty ``octopack-<pid>`` trees whose process is gone."""
        with contextlib.suppress(OSError):
            for stale in parent.glob("octopack-*"):
                pid = stale.name.partition("-")[2]
                if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                    for group in sorted(stale.glob("*/"), reverse=True):
                        with contextlib.suppress(OSError):
                            group.rmdir()
                    with contextlib.suppress(OSError):
                        stale.rmdir()

    def prepare(self, name: str, limits: Limits, extra_tasks: int) -> tuple[dict[str, Path], int]:
        """Create group ``name`` with the run's limits; its directory per controller, and the
        OOM kill count so far."""
        groups, ooms = {}, 0
        for controller, root in self.roots.items():
            group = root / name
            try:
                group.mkdir(parents=True, exist_ok=True)
                if controller == "pids":
                    value = "max" if limits.processes is None else str(limits.processes + extra_tasks)
                    (group / "pids.max").write_text(value)
                elif controller == "memory":
                    self._set_memory(group, limits.memory)
                    ooms = self._ooms(group)
                groups[controller] = group
            except OSError as exc:
                log.warning("sandbox: cgroup %s unusable (%s); continuing without it", group, exc)
                with contextlib.suppress(OSError):
                    group.rmdir()  # an existing group must be one the run joined
        return groups, ooms

    @contextlib.contextmanager
    def hosting(self, groups: Mapping[str, Path]) -> Iterator[None]:
        """Move the calling thread (v1 ``tasks`` files take thread ids) into ``groups`` while
        it starts a run, then back: a child starts in its parent thread's groups, so the run
        never executes outside them, and no code has to run between fork and exec."""
        tid = str(threading.get_native_id())
        home = _thread_groups()
        joined = []
        try:
            for controller, group in groups.items():
                _write(group / "tasks", tid)
                joined.append(controller)
            yield
        finally:
            for controller in joined:
                _write(self.MOUNT / controller / home[controller].lstrip("/") / "tasks", tid)

    @staticmethod
    def _set_memory(group: Path, limit: int | None) -> None:
        """Limit the group's memory, and memory plus swap alike (where swap is accounted)."""
        value = "-1" if limit is None else str(limit)
        memsw = group / "memory.memsw.limit_in_bytes"
        with contextlib.suppress(OSError):
            memsw.write_text("-1")  # memsw must stay >= the memory limit while we change it
        (group / "memory.limit_in_bytes").write_text(value)
        with contextlib.suppress(OSError):
            memsw.write_text(value)  # no swapping around the limit

    @staticmethod
    def _ooms(group: Path) -> int:
        """The group's ``oom_kill`` counter."""
        try:
            for line in (group / "memory.oom_control").read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def oom_kills(self, name: str) -> int:
        """How many processes the OOM killer has killed in group ``name`` so far."""
        return self._ooms(self.roots["memory"] / name) if "memory" in self.roots else 0

    def cpu_seconds(self, name: str) -> float | None:
        """CPU time used so far by every process that ran in group ``name`` (None: unknown)."""
        if "cpuacct" not in self.roots:
            return None
        try:
            return int((self.roots["cpuacct"] / name / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def kill(self, name: str, patience: float = 0.2) -> bool:
        """SIGKILL every task in group ``name``; True if a group of the run exists and is now
        empty (every process of a run is in its groups, and it cannot leave them)."""
        emptied = False
        for root in self.roots.values():
            for pause in _backoff(patience):
                pids = _members(root / name)
                if pids is None:
                    break
                if not pids:
                    emptied = True
                    break
                # signalled only if still members once pinned (a pid may be reused meanwhile)
                kill_confirmed(pids, lambda _: _members(root / name) or ())
                time.sleep(pause)
        return emptied

    def remove(self, name: str) -> None:
        """Remove group ``name`` (once its tasks are gone; they leave it asynchronously)."""
        for root in self.roots.values():
            for pause in _backoff(1.0):
                try:
                    (root / name).rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(pause)

    def cleanup(self) -> None:
        """At exit: remove our groups and our ``octopack-<pid>`` directories."""
        for root in self.roots.values():
            for group in root.glob("*/"):
                with contextlib.suppress(OSError):
                    group.rmdir()
            with contextlib.suppress(OSError):
                root.rmdir()


_SHARED_LOCK = threading.Lock()
_SHARED: list = []


def shared_cgroups() -> Cgroups | None:
    """One cgroup manager per process, shared by all sandboxes."""
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(Cgroups.detect())
        return _SHARED[0]


def _write(path: Path, text: str) -> None:
    """One ``write`` (cgroup files want the value in a single write call)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _members(group: Path) -> list[int] | None:
    """The pids in ``group`` (None if it does not exist)."""
    try:
        return [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
    except OSError:
        return None


def _thread_groups() -> dict[str, str]:
    """The calling thread's group path in each v1 hierarchy, by controller."""
    groups = {}
    with open("/proc/thread-self/cgroup") as fh:
        for line in fh:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(","):
                groups[controller] = path
    return groups


def _backoff(total: float, first: float = 0.0005, longest: float = 0.01) -> Iterator[float]:
    """Pauses for a polling loop: short at first (the usual wait is well under a millisecond),
    doubling up to ``longest``, until about ``total`` seconds have been spent pausing."""
    pause, spent = first, 0.0
    while spent < total:
        yield pause
        spent += pause
        pause = min(2 * pause, longest)

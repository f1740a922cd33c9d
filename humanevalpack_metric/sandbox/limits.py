"""What a run may use (:class:`Limits`) and what it did (:class:`RunResult`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """Per-run resource limits. ``None`` disables a limit.

    ``address_space``/``data`` are per-process rlimits (see the package docstring for which to
    use); ``memory`` and ``processes`` additionally bound the whole run where cgroups exist.
    """

    cpu_seconds: float | None = None  # per process; default: timeout x cores + 1 s
    address_space: int | None = 4 * GiB  # RLIMIT_AS
    file_size: int | None = 64 * MiB  # RLIMIT_FSIZE: largest file a run may write
    processes: int | None = 256  # RLIMIT_NPROC per slot uid (threads count) / pids.max
    output: int = 64 * 1024  # bytes kept per stream; killed after watch.KILL_FACTOR x this
    data: int | None = None  # RLIMIT_DATA
    memory: int | None = 4 * GiB  # cgroup memory limit of the whole run (if available)
    open_files: int | None = 1024  # RLIMIT_NOFILE
    disk: int | None = 512 * MiB  # total size of the work dir, polled while running
    tmpfs_size: int = 64 * MiB  # each of /tmp, /var/tmp, /dev/shm inside bwrap

    @classmethod
    def managed(cls, data: int | None = 2 * GiB, **kwargs) -> "Limits":
        """Limits for runtimes that reserve big virtual ranges (JVM, Go, Node): no RLIMIT_AS."""
        return cls(address_space=None, data=data, **kwargs)


def cpu_limit(limits: Limits, timeout: float) -> int:
    """RLIMIT_CPU seconds. The default leaves room for all cores busy for the whole wall time
    (JVM, Go, rustc are multi-threaded): the wall-clock timeout is what normally ends a run."""
    cpu = limits.cpu_seconds if limits.cpu_seconds is not None else timeout * (os.cpu_count() or 1) + 1
    return max(1, int(cpu + 0.999))


@dataclass
class RunResult:
    """What happened. ``returncode`` is ``None`` on timeout and ``-N`` when killed by signal N
    (also in bwrap mode, which reports 128+N). ``limit`` names the limit that ended the run:
    ``"timeout"``, ``"cpu"`` (both also set ``timed_out``), ``"output"``, ``"disk"``,
    ``"memory"`` (cgroup OOM kill), or ``None``.

    ``cpu_time``: CPU seconds (user + system) of the run. With a ``cpuacct`` cgroup (root,
    cgroup v1) that is every process of the run, bwrap's own included. Otherwise it is the
    rusage of the process the sandbox reaped: in the fallback the program plus the descendants
    it waited for; in bwrap mode the program is reaped inside its PID namespace, out of reach,
    so there it is ``0.0`` (unmeasured).

    ``demoted``: the run outlived ``Sandbox.demote_fraction`` of its timeout and ran on at idle
    CPU priority from then on."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    truncated: bool = False
    limit: str | None = None
    cpu_time: float = 0.0
    demoted: bool = False

    @property
    def signal(self) -> int | None:
        """The signal that killed the program, if any."""
        return -self.returncode if self.returncode is not None and self.returncode < 0 else None

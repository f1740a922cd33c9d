"""What a test needs to know about a :class:`~humanevalpack_metric.sandbox.Sandbox` beyond its
public attributes (``mode``, ``uid_slots``): which cgroup limits it applies, how it measures CPU
time, and which processes of a slot uid are left. Read from the sandbox's internals on purpose:
the product has no use for them."""

from __future__ import annotations

from humanevalpack_metric.sandbox import Sandbox, SandboxError, uid_processes


def limiting_cgroups(sandbox: Sandbox) -> list[str]:
    """The cgroup v1 controllers that bound each run (``pids``, ``memory``); [] without them."""
    return sandbox._cgroups.limiting if sandbox._cgroups else []


def cpu_time_source(sandbox: Sandbox) -> str | None:
    """How ``RunResult.cpu_time`` is measured: ``"cgroup"`` (a cpuacct group per run),
    ``"rusage"`` (the reaped process, fallback mode) or None (bwrap without cpuacct: 0.0)."""
    if sandbox._cgroups and "cpuacct" in sandbox._cgroups.roots:
        return "cgroup"
    return "rusage" if sandbox.mode != "bwrap" else None


def slot_leftovers(sandbox: Sandbox, slot: int) -> list[int]:
    """Pids still running as ``slot``'s uid, checked while holding the slot so that no run of
    another thread or process is counted."""
    if not sandbox._slots:
        raise SandboxError("slots exist only with uid_slots (root)")
    lease = sandbox._slots.acquire(slot, sweep=False)
    try:
        return uid_processes(lease.uid)
    finally:
        lease.release()

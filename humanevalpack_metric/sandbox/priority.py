"""Demoting a run to idle CPU priority once it has used a share of its timeout.

Timeouts are wall-clock (as in the reference), so a program that loops until its timeout would
otherwise take a core's worth of CPU from the programs running beside it for the whole timeout.
A demoted run keeps running and keeps its deadline; it only gets the CPU nobody else wants.

Two kernel knobs, both set: the process's nice value, and, where ``sched_autogroup`` is on
(most desktop and server kernels), the nice value of its session's autogroup -- with autogroups
the scheduler shares the CPU between sessions first, and every run is its own session.
"""

from __future__ import annotations

from collections.abc import Iterable

from octopack_common import renice

IDLE_NICE = 19


def demote(pids: Iterable[int]) -> int:
    """Give ``pids`` (and their sessions' autogroups) nice 19; how many could be demoted."""
    return renice(pids, IDLE_NICE)


def promote(pids: Iterable[int]) -> int:
    """Back to nice 0, before a demoted run is killed: a SIGKILLed process still needs the CPU
    to exit, and at nice 19 on a busy machine that can take seconds. Raising priority needs root
    (CAP_SYS_NICE) for the process's own nice value; an autogroup's may always go back to 0."""
    return renice(pids, 0)

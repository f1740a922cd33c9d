"""Demoting a run to idle CPU priority once it has used a share of its timeout.

Timeouts are wall-clock (as in the reference), so a program that loops until its timeout would
otherwise take a core's worth of CPU from the programs running beside it for the whole timeout.
A demoted run keeps running and keeps its deadline; it only gets the CPU nobody else wants.

Two kernel knobs, both set: the process's nice value, and, where ``sched_autogroup`` is on
(most desktop and server kernels), the nice value of its session's autogroup -- with autogroups
the scheduler shares the CPU between sessions first, and every run is its own session.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

IDLE_NICE = 19


def demote(pids: Iterable[int]) -> int:
    """Give ``pids`` (and their sessions' autogroups) nice 19; how many could be demoted."""
    done = 0
    for pid in pids:
        try:
            os.setpriority(os.PRIO_PROCESS, pid, IDLE_NICE)
        except OSError:  # gone, or not ours to renice
            continue
        done += 1
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/autogroup", "w") as fh:
                fh.write(str(IDLE_NICE))
    return done

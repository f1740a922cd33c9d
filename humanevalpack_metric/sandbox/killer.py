"""Ending a run: killing every process it started, and proving that none is left.

In bwrap mode the run's PID namespace is the proof: its init exits only after the kernel has
reaped every other process in it. Otherwise an emptied cgroup proves it, or the slot uid sweep;
without slot uids the fallback looks for an environment marker (best effort).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import time

from .cgroups import Cgroups
from .priority import demote, promote
from .procfs import descendants, kill_confirmed, parent_pid, processes, uid_processes
from .slots import kill_uid

log = logging.getLogger(__name__)

MARKER_VAR = "OCTOPACK_SANDBOX_RUN"  # the fallback without slot uids marks a run's environment


class Killer:
    """Kills everything one run started, by every means the sandbox has.

    ``in_namespace``: the run lives in a PID namespace (bwrap mode); ``uid``: its slot uid;
    ``marker``: the environment marker of a fallback run without slot uids; ``group``: its
    cgroups' name in ``cgroups``; ``setpriv`` starts the uid sweep's helper cheaply."""

    def __init__(self, *, in_namespace: bool, uid: int | None = None, marker: str | None = None,
                 cgroups: Cgroups | None = None, group: str | None = None,
                 setpriv: str | None = None):
        self.in_namespace, self.uid, self.marker = in_namespace, uid, marker
        self.cgroups, self.group, self.setpriv = cgroups, group, setpriv
        self.proc: subprocess.Popen | None = None
        self.init: int | None = None  # pidfd of the init of the run's PID namespace (bwrap)
        self.gone = False  # proven: no process of the run is left
        self.demoted = False  # at idle priority: promoted again before it is killed

    def watch_init(self, pid: int) -> None:
        """Track the init of the run's PID namespace, whose host pid bwrap reported. The kernel
        reaps every other process of a namespace before its init counts as exited, so a
        finished init proves the run is gone. Trusted only while it is the child of our bwrap
        (afterwards the pid may have been reaped elsewhere and reused)."""
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            return
        if self.proc is not None and parent_pid(pid) == self.proc.pid:
            self.init = pidfd
        else:
            os.close(pidfd)

    def running(self) -> list[int]:
        """The run's live processes: its slot uid's, else everything below the started process
        (in bwrap mode that is the whole PID namespace)."""
        if self.uid is not None:
            return uid_processes(self.uid)
        return descendants(self.proc.pid) if self.proc is not None else []

    def demote(self) -> int:
        """Drop the run's processes to idle CPU priority (see priority.py); how many."""
        done = demote(self.running())
        self.demoted = self.demoted or done > 0
        return done

    def everything(self, final: bool = False) -> None:
        """Kill the run's processes and, if ``final``, make sure they are gone.

        In bwrap mode killing the outer bwrap and the PID namespace's init tears the namespace
        down, and the init's exit proves it (a wait of well under a millisecond). Otherwise an
        emptied cgroup proves the run is gone; failing that the slot uid sweep (a helper
        process, ~10 ms) is the last line, also catching daemons in the fallback."""
        if self.gone:
            return
        if self.demoted:  # dying takes CPU too: not at idle priority on a busy machine
            promote(self.running())
            self.demoted = False
        if self.proc is not None and self.proc.returncode is None:
            # The outer bwrap (its PID namespace dies) or the fallback's process group, by the
            # first process's pid: only while that process is unreaped (returncode None; the
            # watch reaps it after the final kill). Alive or a zombie, it keeps the number --
            # the group's id -- reserved; reaped, the number may already name another run's
            # new session. (Without it, the init's pidfd, the cgroup, the sweeps remain.)
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        patience = 2.0 if final else 0.2
        if self.init is not None and self._end_namespace(patience if final else None):
            self.gone = final
            return
        self.gone = bool(self.cgroups and self.group) and self.cgroups.kill(self.group)
        if self.uid is not None and not self.gone and (final or not self.in_namespace):
            self.gone = kill_uid(self.uid, patience, self.setpriv)
        if self.marker:
            kill_marked(self.marker, patience)

    def _end_namespace(self, patience: float | None) -> bool:
        """SIGKILL the namespace's init (the kernel then kills the rest); with a ``patience``,
        wait that long for the namespace to be empty. True if it is (or will be) gone."""
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.init, signal.SIGKILL)
        if patience is None:
            return True
        poller = select.poll()
        poller.register(self.init, select.POLLIN)
        if poller.poll(patience * 1000):
            return True
        log.error("sandbox: the PID namespace of a run outlives its SIGKILLed init; "
                  "killing its processes by other means")
        return False

    def close(self) -> None:
        """Let go of the namespace's init."""
        if self.init is not None:
            os.close(self.init)
            self.init = None


def kill_marked(marker: str, patience: float = 2.0) -> None:
    """Fallback without root: kill our own-uid processes whose environment holds ``marker``."""
    needle = f"{MARKER_VAR}={marker}".encode()
    me = os.getuid()

    def marked(pid: int, status: bytes) -> bool:
        if f"\nUid:\t{me}\t".encode() not in status:
            return False
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                return needle in fh.read()
        except OSError:
            return False

    def still_marked(pids: list[int]) -> list[int]:
        return processes(marked, pids)

    deadline = time.monotonic() + patience
    while pids := processes(marked):
        kill_confirmed(pids, still_marked)
        if time.monotonic() > deadline:
            log.error("sandbox: marked processes survive SIGKILL: %s", pids)
            return
        time.sleep(0.01)

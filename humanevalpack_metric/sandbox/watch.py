"""The I/O loop of one run: feeds stdin, keeps capped output, enforces the wall-clock timeout
and the polled limits (disk use, OOM kills), and reaps the run's first process.

The first process is reaped only after the killer has killed its process group: the group's id
is that process's pid, which the kernel keeps reserved while the process is a zombie. Reaped,
the number is free, and a ``killpg`` of it could hit another run's new session (each run is
one, and the executor starts thousands). So the loop notices the exit with ``WNOWAIT``.

It waits on events (a pidfd for the exit, the pipes, bwrap's info pipe), not on fixed sleeps:
only the polled limits wake it, every ``Watch.POLL`` seconds (and, on kernels without pidfds,
a 20 ms poll for the exit).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import subprocess
import time

from .killer import Killer
from .limits import Limits

log = logging.getLogger(__name__)

KILL_FACTOR = 16  # stop draining (and kill) once a stream produced this many times its cap


class Watch:
    """Watches one started run (``proc``) until it is over; ``killer`` ends it.

    ``guards`` are the polled checks, each returning the name of a hit limit or None; ``info``
    is bwrap's info pipe, whose init pid goes to the killer."""

    POLL = 0.2  # seconds between guard checks (disk use, OOM kills)
    DRAIN_GRACE = 1.0  # after the program ended, read what is left in the pipes for this long

    DEMOTE_EVERY = 1.0  # a demoted run is demoted again this often (new sessions, new processes)

    def __init__(self, proc: subprocess.Popen, stdin: bytes | None, limits: Limits, timeout: float,
                 start: float, guards: list, killer: Killer, info: int | None = None,
                 demote_at: float | None = None):
        self.proc, self.limits, self.guards, self.killer = proc, limits, guards, killer
        self.info = info  # bwrap's --info-fd pipe: the host pid of the namespace's init
        self.info_text = bytearray()
        self.deadline = start + timeout
        self.demote_at = demote_at  # when to drop the run to idle CPU priority (None: never)
        self.demoted = False
        self.stdin = memoryview(stdin) if stdin is not None else None
        self.kept = {1: bytearray(), 2: bytearray()}
        self.seen = {1: 0, 2: 0}
        self.truncated = False
        self.limit: str | None = None
        self.ended = False  # the program has exited (it stays a zombie until reap())
        self.exited: int | None = None  # wait status once reaped
        self.killed = False
        self.drain_until: float | None = None  # set once the run is over: drain until then
        self.rusage = None

    def text(self, which: int) -> str:
        """What was kept of stdout (1) or stderr (2)."""
        return bytes(self.kept[which]).decode("utf-8", "replace")

    def _stop(self, limit: str | None) -> None:
        """Kill the run (once); ``limit`` names the reason, if it is a limit."""
        if self.limit is None and limit is not None:
            self.limit = limit
        if not self.killed:
            self.killed = True
            self.killer.everything()
        if self.drain_until is None:
            self.drain_until = time.monotonic() + self.DRAIN_GRACE

    def loop(self) -> None:
        """Until the program has exited and its pipes are drained (or a limit/timeout hit)."""
        proc = self.proc
        streams = {proc.stdout.fileno(): 1, proc.stderr.fileno(): 2}
        sel = selectors.DefaultSelector()
        pidfd = None
        try:
            for fd in streams:
                os.set_blocking(fd, False)
                sel.register(fd, selectors.EVENT_READ, "out")
            if self.stdin is not None:
                os.set_blocking(proc.stdin.fileno(), False)
                sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE, "in")
            if self.info is not None:
                sel.register(self.info, selectors.EVENT_READ, "info")
            pidfd = self._pidfd()
            if pidfd is not None:
                sel.register(pidfd, selectors.EVENT_READ, "exit")
            next_poll = time.monotonic() + self.POLL
            while True:
                now = time.monotonic()
                reading = any(key.data == "out" for key in sel.get_map().values())
                if self.drain_until is not None:
                    if not reading or now >= self.drain_until:
                        break
                elif now >= self.deadline:
                    self._stop("timeout")
                    continue
                elif now >= next_poll:
                    hit = next(filter(None, (guard() for guard in self.guards)), None)
                    if hit:
                        self._stop(hit)
                        continue
                    if self.demote_at is not None and now >= self.demote_at:
                        self.demoted = self.killer.demote() > 0 or self.demoted
                        self.demote_at = now + self.DEMOTE_EVERY
                    next_poll = now + self.POLL
                wake = self.drain_until if self.drain_until is not None else min(self.deadline, next_poll)
                if pidfd is None:
                    wake = min(wake, now + 0.02)
                for key, _ in sel.select(max(0.0, wake - now)):
                    if key.data == "exit":
                        sel.unregister(key.fd)
                    elif key.data == "info":
                        self._read_info(sel)
                    elif key.data == "in":
                        self._feed(sel, key.fd)
                    else:
                        self._read(sel, key.fd, streams[key.fd])
                if not self.ended and self._poll():
                    # The program is done (closing its pipes is not enough: it may still be
                    # exiting). Whatever it left behind dies now; then we drain the pipes.
                    self.ended = True
                    self._stop(None)
        finally:
            sel.close()
            if pidfd is not None:
                os.close(pidfd)
            if self.info is not None:
                os.close(self.info)
                self.info = None
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    def _read_info(self, sel) -> None:
        """Collect bwrap's JSON info (written once, right after it created the namespace)."""
        chunk = os.read(self.info, 4096)
        self.info_text += chunk
        if chunk and len(self.info_text) < 65536:
            return
        sel.unregister(self.info)
        try:
            pid = json.loads(self.info_text)["child-pid"]
        except (ValueError, KeyError, TypeError):
            return  # bwrap failed before creating the namespace
        if isinstance(pid, int):
            self.killer.watch_init(pid)

    def _pidfd(self) -> int | None:
        try:
            return os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            return None  # old kernel: poll every 20 ms instead

    def _feed(self, sel, fd: int) -> None:
        try:
            written = os.write(fd, self.stdin[:65536])
            self.stdin = self.stdin[written:]
            done = not self.stdin
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the program closed its stdin
            done = True
        if done:
            sel.unregister(fd)
            self.proc.stdin.close()

    def _read(self, sel, fd: int, which: int) -> None:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        if not chunk:
            sel.unregister(fd)
            return
        self.seen[which] += len(chunk)
        kept = self.kept[which]
        room = self.limits.output - len(kept)
        if room > 0:
            kept += chunk[:room]
        if len(chunk) > room:
            self.truncated = True
            if self.seen[which] > KILL_FACTOR * self.limits.output:
                self._stop("output")

    def _poll(self) -> bool:
        """True once the program has exited. It is not reaped here (``WNOWAIT``): as a zombie
        it keeps its pid, its process group's id, reserved until the killer is done."""
        try:
            return os.waitid(os.P_PID, self.proc.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            self._reaped_elsewhere()
            return True

    def reap(self) -> tuple[int, float]:
        """Reap the (already killed) program; its wait status and CPU seconds."""
        if self.exited is None:
            try:
                _, self.exited, self.rusage = os.wait4(self.proc.pid, 0)
            except ChildProcessError:
                self._reaped_elsewhere()
            self.proc.returncode = os.waitstatus_to_exitcode(self.exited)
        cpu = self.rusage.ru_utime + self.rusage.ru_stime if self.rusage else 0.0
        return self.exited, cpu

    def _reaped_elsewhere(self) -> None:
        """Someone else reaped our program (an ``os.wait()`` elsewhere?): report a kill, and
        set ``returncode`` so that the killer no longer signals its pid (it may be reused)."""
        if self.exited is None:
            log.warning("sandbox: pid %d was reaped by someone else; reporting a kill",
                        self.proc.pid)
            self.exited = signal.SIGKILL  # a wait status: never a false "exit 0"
            self.proc.returncode = os.waitstatus_to_exitcode(self.exited)

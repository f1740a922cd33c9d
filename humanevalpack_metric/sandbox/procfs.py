"""Reading ``/proc``: which processes exist, whose they are, and who their parent is; and
killing processes found there without hitting a stranger that took a number meanwhile."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
from collections import defaultdict
from typing import Callable, Iterable, Iterator


def _live(pids: Iterable[int] | None = None) -> Iterator[tuple[int, bytes]]:
    """``(pid, /proc/<pid>/status text)`` of every live (non-zombie) process (of ``pids``)."""
    names = os.listdir("/proc") if pids is None else map(str, pids)
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as fh:
                status = fh.read()
        except OSError:
            continue
        if b"\nState:\tZ" not in status:
            yield int(name), status


def processes(match: Callable[[int, bytes], bool], pids: Iterable[int] | None = None) -> list[int]:
    """Pids of live (non-zombie) processes (all, or of ``pids``) whose ``/proc/<pid>/status``
    text satisfies ``match``."""
    return [pid for pid, status in _live(pids) if match(pid, status)]


def kill_confirmed(pids: Iterable[int], ours: Callable[[list[int]], Iterable[int]]) -> None:
    """SIGKILL those of ``pids`` (read from ``/proc`` or ``cgroup.procs``) that ``ours`` still
    confirms, never a stranger.

    Such a pid is not our child: it may exit, be reaped (by its parent or init) and its number
    go to an unrelated process before we signal it. So each pid is first pinned with a pidfd,
    then ``ours`` re-checks the pinned pids, and the signal goes through the pidfd: a process
    still alive when signalled held its number during the check, so the check was about it;
    one that died meanwhile gets nothing. (Without pidfds, Linux < 5.3: by number, as before.)"""
    pids = iter(pids)
    while batch := list(itertools.islice(pids, 256)):  # bounded: each pin is an open fd
        pinned: dict[int, int | None] = {}
        try:
            for pid in batch:
                try:
                    pinned[pid] = os.pidfd_open(pid)
                except ProcessLookupError:
                    continue
                except (AttributeError, OSError):
                    pinned[pid] = None
            for pid in set(ours(list(pinned))) & pinned.keys():
                with contextlib.suppress(OSError):
                    if pinned[pid] is None:
                        os.kill(pid, signal.SIGKILL)
                    else:
                        signal.pidfd_send_signal(pinned[pid], signal.SIGKILL)
        finally:
            for pidfd in pinned.values():
                if pidfd is not None:
                    os.close(pidfd)


def descendants(root: int) -> list[int]:
    """``root`` (if alive) and every live process below it."""
    children: dict[int, list[int]] = defaultdict(list)
    alive = set()
    for pid, status in _live():
        alive.add(pid)
        with contextlib.suppress(IndexError, ValueError):
            children[int(status.split(b"\nPPid:\t", 1)[1].split(b"\n", 1)[0])].append(pid)
    found, todo = [], [root] if root in alive else []
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def uid_processes(uid: int) -> list[int]:
    """Live processes whose real uid is ``uid`` (tests use it to check that nothing escaped)."""
    needle = f"\nUid:\t{uid}\t".encode()
    return processes(lambda _pid, status: needle in status)


def user_tasks(uid: int) -> int:
    """Tasks (threads) of ``uid`` now: what RLIMIT_NPROC counts."""
    needle = f"\nUid:\t{uid}\t".encode()
    total = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/status", "rb") as fh:
                    status = fh.read()
            except OSError:
                continue
            if needle in status:
                total += int(status.split(b"\nThreads:\t", 1)[1].split(b"\n", 1)[0])
    return total


def parent_pid(pid: int) -> int | None:
    """The parent of ``pid`` (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            return int(fh.read().split(b"\nPPid:\t", 1)[1].split(b"\n", 1)[0])
    except (OSError, IndexError, ValueError):
        return None

"""Reading ``/proc``: which processes exist, whose they are, and who their parent is."""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from typing import Callable, Iterator


def _live() -> Iterator[tuple[int, bytes]]:
    """``(pid, /proc/<pid>/status text)`` of every live (non-zombie) process."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as fh:
                status = fh.read()
        except OSError:
            continue
        if b"\nState:\tZ" not in status:
            yield int(name), status


def processes(match: Callable[[int, bytes], bool]) -> list[int]:
    """Pids of live (non-zombie) processes whose ``/proc/<pid>/status`` text satisfies ``match``."""
    return [pid for pid, status in _live() if match(pid, status)]


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

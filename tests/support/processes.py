"""Processes in tests: finding them by a marker in their command line (to prove nothing outlived a
run), and killing a child at a chosen moment (the resume tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def sigkill_when(process: subprocess.Popen, ready: Callable[[], bool], timeout: float,
                 output: Callable[[], str] = lambda: "") -> None:
    """Once ``ready()`` holds, ``SIGKILL`` the process group of ``process`` (started with
    ``start_new_session=True``) and reap it. Fails, with the end of ``output()`` (read once the
    process is gone), when the process ends first or ``timeout`` seconds pass (then it is killed
    first)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise AssertionError(f"the process ended before the kill:\n{output()[-4000:]}")
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
            raise AssertionError(f"not ready to be killed after {timeout:g} s:\n{output()[-4000:]}")
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def live_processes(needle: str) -> list[tuple[int, bytes]]:
    """Live (non-zombie) processes, other than this one, whose command line contains ``needle``:
    ``(pid, first 200 bytes of the command line)``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle.encode() in cmdline and state != "Z":
            found.append((int(name), cmdline[:200]))
    return found

"""Finding processes by a marker in their command line (to prove nothing outlived a run)."""

from __future__ import annotations

import os
from pathlib import Path


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

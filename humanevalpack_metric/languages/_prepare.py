"""Helpers for one-time toolchain work shared by the compiled languages.

``ensure_built`` runs a build step once per cache directory: the first process takes an exclusive
``flock``, builds in place and writes ``stamp.json`` last (atomically); every later call, in any
process, only reads the stamp. A stamp made for another key (a different toolchain version or
asset) triggers a rebuild, and a build that died half-way (no stamp) is redone from scratch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Sequence

from ..filelock import exclusive

STAMP = "stamp.json"


def read_stamp(directory: Path) -> dict | None:
    try:
        return json.loads((directory / STAMP).read_text())
    except (OSError, ValueError):
        return None


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def ensure_built(directory: Path, key: dict, build: Callable[[Path], dict]) -> dict:
    """Return the stamp of ``directory``, running ``build(directory)`` first if it is missing.

    ``build`` gets an empty directory and returns JSON-able facts (paths of what it made); they
    are stored with ``key`` in the stamp and returned, so callers never rebuild to learn them.
    """
    stamp = read_stamp(directory)
    if stamp is not None and stamp.get("key") == key:
        return stamp
    with exclusive(directory.with_name(directory.name + ".lock")):
        stamp = read_stamp(directory)  # another process may have finished meanwhile
        if stamp is not None and stamp.get("key") == key:
            return stamp
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        facts = build(directory)
        stamp = {"key": key, **facts}
        write_json_atomic(directory / STAMP, stamp)
        return stamp


def tree_digest(root: Path) -> str:
    """A short hash of every file's relative path and content under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def tool_version(argv: Sequence[str]) -> str:
    """First line of a tool's version output (``rustc --version``, ``go version``, ...)."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if text else ""


def run_checked(argv: Sequence[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a trusted toolchain command on the host; raise with its output when it fails."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {proc.returncode}): {' '.join(map(str, argv))}\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc

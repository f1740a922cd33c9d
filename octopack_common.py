"""What every octopack package needs from the operating system, in one place.

This module knows nothing about models, data sets or benchmarks, and imports nothing of ours, so
each of the four packages (the metric and ``hub_cards`` included) may use it without depending on
another package:

* :func:`cache_dir` -- the root of octopack's on-disk caches (``$OCTOPACK_CACHE_DIR``);
* :func:`file_lock` -- an exclusive advisory lock across threads and processes;
* :func:`atomic_path`, :func:`atomic_open`, :func:`write_text_atomic`, :func:`write_bytes_atomic`,
  :func:`write_json_atomic` -- files that appear whole or not at all (temporary file beside the
  target, fsync, rename);
* :func:`ensure_built` -- build a directory once, in place, stamped with the key it was built
  for; :func:`read_stamp` reads such a stamp (or another JSON stamp file by name);
* :func:`run_checked` and :func:`run_git` -- trusted host commands that raise
  :class:`CommandFailed` with their output;
* :func:`renice` -- set the nice value of processes and their sessions' autogroups.

It is also run from source inside the sandbox (the Python runner gets it on its command line),
so it stays importable with the standard library alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

CACHE_DIR_ENV = "OCTOPACK_CACHE_DIR"
STAMP = "stamp.json"
_AUTOGROUP_RETRY = 0.02  # seconds between autogroup writes the kernel refused


# -- caches and locks ---------------------------------------------------------------------------
def cache_dir() -> Path:
    """Root of octopack's on-disk caches: ``$OCTOPACK_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/octopack``, else ``~/.cache/octopack``."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "octopack"


@contextlib.contextmanager
def file_lock(lock_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if needed) across threads and
    processes; released on exit, or by the kernel if the holder dies."""
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- atomic files -------------------------------------------------------------------------------
def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, for every thread)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; when the block succeeds the file is fsynced
    and renamed onto ``target``, otherwise it is removed and ``target`` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a written file gets the usual mode
    try:
        yield Path(temporary)
        if fsync:
            with open(temporary, "rb") as written:
                os.fsync(written.fileno())
        os.replace(temporary, target)
        if fsync:
            _fsync_directory(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8",
                fsync: bool = True) -> Iterator[IO[Any]]:
    """``open()`` for writing whose result appears at ``target`` only once the block succeeds."""
    if not mode.startswith(("w", "x")):
        raise ValueError(f"atomic_open writes a new file: mode must be 'w' or 'wb', not {mode!r}")
    with atomic_path(target, fsync=fsync) as temporary:
        with open(temporary, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle


def write_text_atomic(target: str | os.PathLike[str], text: str, fsync: bool = True) -> None:
    with atomic_open(target, "w", fsync=fsync) as handle:
        handle.write(text)


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes, fsync: bool = True) -> None:
    with atomic_open(target, "wb", fsync=fsync) as handle:
        handle.write(data)


def write_json_atomic(target: str | os.PathLike[str], payload: Any, indent: int | None = 2,
                      sort_keys: bool = True, fsync: bool = True) -> None:
    """Write ``payload`` as JSON (non-ASCII kept, a final newline), atomically."""
    text = json.dumps(payload, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n"
    write_text_atomic(target, text, fsync=fsync)


# -- build once, stamped ------------------------------------------------------------------------
def read_stamp(directory: str | os.PathLike[str], name: str = STAMP) -> dict | None:
    """The JSON object in ``directory/name``; None when it is missing or not a JSON object."""
    try:
        stamp = json.loads((Path(directory) / name).read_text())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def ensure_built(directory: str | os.PathLike[str], key: dict,
                 build: Callable[[Path], dict]) -> dict:
    """Return the stamp of ``directory``, running ``build(directory)`` first if it is missing.

    The first process takes an exclusive lock, builds into an empty directory and writes
    ``stamp.json`` last (atomically); every later call, in any process, only reads the stamp. A
    stamp made for another ``key`` triggers a rebuild, and a build that died half-way (no stamp)
    is redone from scratch. ``build`` returns JSON-able facts (paths of what it made); they are
    stored with ``key`` in the stamp and returned, so callers never rebuild to learn them.
    """
    directory = Path(directory)
    stamp = read_stamp(directory)
    if stamp is not None and stamp.get("key") == key:
        return stamp
    with file_lock(directory.with_name(directory.name + ".lock")):
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


# -- trusted host commands ----------------------------------------------------------------------
class CommandFailed(RuntimeError):
    """A trusted host command exited non-zero; the message names it and carries its output."""

    def __init__(self, what: str, argv: Sequence[str], returncode: int, stdout: str, stderr: str):
        self.what, self.argv, self.returncode = what, list(argv), returncode
        self.stdout, self.stderr = stdout, stderr
        super().__init__(f"{what} failed (exit {returncode}): {' '.join(map(str, argv))}\n"
                         f"{stdout[-4000:]}\n{stderr[-4000:]}".rstrip())


def run_checked(argv: Sequence[str | os.PathLike[str]], what: str,
                **kwargs: Any) -> subprocess.CompletedProcess:
    """Run a trusted command on the host (text mode, output captured); raise
    :class:`CommandFailed` with its output when it exits non-zero."""
    proc = subprocess.run([str(arg) for arg in argv], capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise CommandFailed(what, [str(arg) for arg in argv], proc.returncode,
                            proc.stdout or "", proc.stderr or "")
    return proc


def run_git(repository: str | os.PathLike[str], *args: str, what: str | None = None,
            timeout: float | None = 3600, **kwargs: Any) -> subprocess.CompletedProcess:
    """``git -C <repository> <args>``, checked (see :func:`run_checked`)."""
    argv = ["git", "-C", str(repository), *args]
    return run_checked(argv, what or f"git {args[0] if args else ''} in {repository}",
                       timeout=timeout, **kwargs)


# -- CPU priority -------------------------------------------------------------------------------
def renice(pids: Iterable[int], nice: int, group: bool = False, patience: float = 0.0) -> int:
    """Set ``nice`` on each pid's session autogroup (where the kernel has autogroups) and on the
    process (``group=True``: its process group); return how many could be reniced.

    Raising priority back needs ``CAP_SYS_NICE`` for a process's own nice value; an autogroup's
    may always go back to 0, but without ``CAP_SYS_ADMIN`` the kernel accepts one autogroup
    change per 100 ms machine-wide (``EAGAIN`` otherwise): ``patience`` is how many seconds to
    keep retrying such a refused change (0: try once)."""
    done = 0
    which = os.PRIO_PGRP if group else os.PRIO_PROCESS
    for pid in pids:
        _set_autogroup_nice(pid, nice, patience)
        try:
            os.setpriority(which, pid, nice)
        except OSError:  # gone, or not ours to renice
            continue
        done += 1
    return done


def _set_autogroup_nice(pid: int, nice: int, patience: float) -> None:
    deadline = time.monotonic() + patience
    while True:
        try:
            with open(f"/proc/{pid}/autogroup", "w") as handle:
                handle.write(str(nice))
            return
        except BlockingIOError:  # EAGAIN: the kernel's rate limit
            if time.monotonic() >= deadline:
                return
            time.sleep(_AUTOGROUP_RETRY)
        except OSError:  # gone, or the kernel has no autogroups
            return

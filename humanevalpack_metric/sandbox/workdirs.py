"""Work directories: creating them, handing them to a slot uid, measuring them, and making
root-built caches readable for slot uids."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from .errors import SandboxError

MAX_WALK_ENTRIES = 100_000  # more entries than this in a work dir counts as a disk-limit hit


@contextlib.contextmanager
def fresh_workdir(base: str | os.PathLike | None = None) -> Iterator[Path]:
    """A fresh empty work directory below ``base`` (default: a per-user one in the temp dir),
    removed afterwards; its parent is traversable (not listable), so slot uids reach it."""
    base = Path(base or os.path.join(tempfile.gettempdir(), f"octopack-work-{os.geteuid()}"))
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o711)
    path = Path(tempfile.mkdtemp(dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def hand_over(workdir: Path, uid: int, slot_uids: range, hidden: Sequence[str]) -> None:
    """Hand the work dir tree to the slot ``uid`` and make sure that uid can reach it.

    Files of root or of another slot uid are re-owned (never symlinks, foreign files or hard
    links to root's files); files the uid already owns are left alone. Parents we created below
    the temp dir get ``o+x``; parents in ``hidden`` (recreated 0755 by bwrap) need nothing;
    other unsearchable parents are an error."""
    for root, dirs, files in os.walk(workdir):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            try:
                st = os.lstat(name)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode) or (st.st_uid != 0 and st.st_uid not in slot_uids):
                continue
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and st.st_uid == 0:
                continue  # a hard link to a root file: never give that away
            if st.st_uid != uid or st.st_gid != uid:
                os.chown(name, uid, uid, follow_symlinks=False)
    os.chmod(workdir, 0o700)
    parent = unsearchable_parent(workdir, hidden)
    if parent is not None:
        raise SandboxError(
            f"{parent} is not searchable by the sandbox uid, so the work dir "
            f"{workdir} is unreachable: create work dirs with Sandbox.workdir()"
        )


def unsearchable_parent(path: Path, hidden: Sequence[str]) -> Path | None:
    """The first parent of ``path`` that other users cannot pass (no ``o+x``), else None.
    Parents in ``hidden`` (recreated 0755 by bwrap) need nothing; our own private parents
    below the temp dir (mkdtemp's 0700) get ``o+x`` (search, not listing) instead. Parents not
    made yet are skipped (whoever makes them gives them the usual 0755)."""
    temp = Path(tempfile.gettempdir()).resolve()
    for parent in Path(path).parents:
        if not parent.exists():
            continue
        in_hidden = any(parent == Path(h) or Path(h) in parent.parents for h in hidden)
        st = os.stat(parent)
        if in_hidden or st.st_mode & stat.S_IXOTH:
            continue
        if temp in parent.parents and st.st_uid == os.geteuid():
            os.chmod(parent, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)  # our mkdtemp: o+x only
        else:
            return parent
    return None


def tree_usage(path: Path) -> tuple[int, int]:
    """Bytes allocated and entries below ``path`` (stops counting after MAX_WALK_ENTRIES)."""
    total = entries = 0
    stack = [str(path)]
    while stack and entries <= MAX_WALK_ENTRIES:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += st.st_blocks * 512
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return total, entries


def make_world_readable(path: str | os.PathLike) -> None:
    """``chmod -R o+rX``: let slot uids read a cache that root built (toolchain caches)."""
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            st = os.lstat(name)
            if stat.S_ISLNK(st.st_mode):
                continue
            extra = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(st.st_mode) or st.st_mode & stat.S_IXUSR else 0)
            if st.st_mode & extra != extra:
                os.chmod(name, stat.S_IMODE(st.st_mode) | extra)

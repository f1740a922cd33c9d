"""What keys a builder's prepared data besides its config.

``datasets`` names a builder's cache directory by a hash of its config values, so two builds whose
inputs changed behind the same values would share it, and the second would silently return the
first one's data. Two kinds of input change that way here:

* **Local sources named by path** (:class:`LocalSourcesKey`): a git repository that got new
  commits, a seed or benchmark file that was rewritten. Each builder lists the config fields that
  name repositories it mines (``LOCAL_REPOSITORIES``: by the commits their refs point at, ``git
  rev-parse HEAD --all``) and files it reads (``LOCAL_SOURCES``: a file by its size and
  modification time, a directory by its files', ``.git`` excluded -- as ``datasets`` counts local
  data files; a work tree read as files counts by its files, uncommitted edits included). Clone URLs count by their
  address only (they are fetched when the build runs): pass ``download_mode="force_redownload"``
  to pick up new commits upstream.
* **Rows handed to the constructor** (:func:`rows_hash`, passed as ``datasets``' ``hash=``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from typing import Any, Iterable

#: at most this many files of a directory count (a huge tree is keyed by its first ones)
MAX_DIRECTORY_FILES = 100_000


def rows_hash(builder_hash: str | None, **inputs: Any) -> str | None:
    """The ``hash=`` of a builder given in-memory rows (a ``datasets.Dataset``, a list of dicts, or
    None). A Dataset counts by its fingerprint (what ``datasets`` itself caches transforms by), a
    list or tuple by its content; anything else (an iterator, an ``IterableDataset``) cannot be read
    twice, so it gets a fresh directory each time, as ``datasets`` does for a transform it cannot
    hash (the teacher builders' response cache still answers every request already paid for).
    Without rows: ``builder_hash`` (the builder's cache is the config's, as usual)."""
    given = {name: rows for name, rows in inputs.items() if rows is not None}
    if not given:
        return builder_hash
    digest = hashlib.sha256((builder_hash or "").encode())
    for name, rows in sorted(given.items()):
        fingerprint = getattr(rows, "_fingerprint", None)
        digest.update(f"\0{name}\0".encode())
        if fingerprint is not None:
            digest.update(f"dataset:{fingerprint}".encode())
        elif isinstance(rows, (list, tuple)):
            for row in rows:
                digest.update(json.dumps(row, sort_keys=True, default=str).encode() + b"\n")
        else:
            digest.update(os.urandom(16))
    return digest.hexdigest()[:16]


def source_state(location: Any, repository: bool = False) -> Any:
    """What a local path's contents are keyed by: a repository's refs, else its files' sizes and
    modification times (None for anything that is not a local path)."""
    if not isinstance(location, str) or "://" in location or not os.path.exists(location):
        return None
    path = os.path.abspath(location)
    if repository:
        refs = subprocess.run(["git", "-C", path, "rev-parse", "HEAD", "--all"], capture_output=True,
                              text=True, timeout=120)
        return [path, "git", sorted(set(refs.stdout.split())) if refs.returncode == 0 else "unreadable"]
    if os.path.isfile(path):
        stat = os.stat(path)
        return [path, stat.st_size, stat.st_mtime_ns]
    files = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(names):
            try:
                stat = os.stat(os.path.join(root, name))
            except OSError:
                continue
            files.append([os.path.relpath(os.path.join(root, name), path), stat.st_size, stat.st_mtime_ns])
            if len(files) >= MAX_DIRECTORY_FILES:
                return [path, files]
    return [path, files]


def sources_hash(values: Iterable[Any], repositories: Iterable[Any] = ()) -> str | None:
    """A digest of the local sources among ``values`` and ``repositories`` (strings or tuples of
    strings), None if none."""
    states = []
    for group, repository in ((values, False), (repositories, True)):
        for value in group:
            for location in (value if isinstance(value, (list, tuple)) else (value,)):
                state = source_state(location, repository)
                if state is not None:
                    states.append(state)
    if not states:
        return None
    return hashlib.sha256(json.dumps(states, sort_keys=True).encode()).hexdigest()[:16]


class LocalSourcesKey:
    """A ``datasets`` builder mixin: the config id (the cache directory's name) also carries the
    state of the local repositories and files its config fields in ``LOCAL_REPOSITORIES`` and
    ``LOCAL_SOURCES`` name."""

    LOCAL_REPOSITORIES: tuple = ()
    LOCAL_SOURCES: tuple = ()

    def _create_builder_config(self, *args, **kwargs):
        config, config_id = super()._create_builder_config(*args, **kwargs)
        digest = sources_hash([getattr(config, field, None) for field in self.LOCAL_SOURCES],
                              [getattr(config, field, None) for field in self.LOCAL_REPOSITORIES])
        return config, (config_id if digest is None else f"{config_id}-src{digest}")

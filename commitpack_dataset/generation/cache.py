"""The on-disk response cache: one row per answered request, keyed by its fingerprint.

**Why SQLite in WAL mode, not an append-only JSONL.** Both survive a ``SIGKILL`` if every result
is written the moment it arrives. SQLite also gives, for free, what a JSONL would need code for:

* a commit is atomic -- a row is there whole or not at all, so there is no torn last line to
  detect and skip after a crash, and no compaction of superseded lines;
* lookups by key through the primary-key index, so a re-run of a 100k-request build asks for
  the keys it needs instead of parsing the whole file into memory first;
* several processes may share one cache (two builders, pytest-xdist workers, a runner and a
  builder pointed at the same teacher): WAL lets readers go on while one writer commits, and
  ``busy_timeout`` serialises writers instead of failing;
* it is in the standard library and inspectable with the ``sqlite3`` shell.

``synchronous=NORMAL`` (the default here) makes each commit durable against the death of the
process -- ``SIGKILL`` loses only the requests still in flight -- without an ``fsync`` per
result; after a *power* loss the last few commits may roll back (the database stays intact), and
those requests are sent again. ``synchronous="FULL"`` fsyncs every commit when that matters more
than throughput. The cache must live on a local file system (WAL needs shared memory; not NFS).

**What is stored.** The fingerprinted request (:meth:`GenerationRequest.fingerprinted`: model,
prompt or messages, sampling parameters -- never metadata), the result (choices with their
``finish_reason``, ``system_fingerprint``, usage, the model the server named, attempts) and the
backend's :meth:`describe` (no secrets). Keys, headers and transport settings never reach it.

**What is not stored: failures.** Only answers are cached -- including truncated ones
(``finish_reason="length"``: the model gave that answer, it was paid for, and the same request
would get it again). A transient failure (429, 5xx, timeout, malformed body) is not an answer,
so a re-run retries it. A permanent one (4xx) is not cached either: endpoints do not bill for
refused requests, and most refusals come from the setup rather than the request (a wrong key,
a model name the endpoint does not serve, a parameter a mirror does not accept), so after the
fix a re-run must send it again rather than replay the refusal.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import octopack_common
from commitpack_dataset.generation.requests import GenerationRequest, GenerationResult

SCHEMA_VERSION = 1
_SELECT_CHUNK = 500  # keys per IN (...) query, well under SQLite's variable limit


def default_cache_path() -> Path:
    """``octopack_common.cache_dir()/generation/responses.sqlite``."""
    return octopack_common.cache_dir() / "generation" / "responses.sqlite"


def is_cacheable(result: GenerationResult) -> bool:
    """An answer (ok or truncated), not a failure: see the module docstring."""
    return result.error is None and bool(result.choices)


class ResponseCache:
    """The cache at ``path`` (created with its directory). Thread-safe; one connection."""

    def __init__(self, path: str | os.PathLike[str] | None = None, synchronous: str = "NORMAL",
                 timeout: float = 60.0):
        if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, got {synchronous!r}")
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise ValueError(f"response cache {self.path} has schema version {version}, this "
                                 f"octopack reads {SCHEMA_VERSION}: use another cache path")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " fingerprint TEXT PRIMARY KEY,"
                " request TEXT NOT NULL,"
                " result TEXT NOT NULL,"
                " backend TEXT,"
                " created REAL NOT NULL)")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as error:
            raise ValueError(f"cannot open the response cache {self.path}: {error} (a corrupt "
                             "or non-SQLite file? move it away or pass another cache path)") from None

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"

    # -- reading ---------------------------------------------------------------------------------
    def get(self, fingerprint: str) -> GenerationResult | None:
        return self.get_many([fingerprint]).get(fingerprint)

    def get_many(self, fingerprints: Iterable[str]) -> dict[str, GenerationResult]:
        """The cached results among ``fingerprints`` (``cached=True``), by fingerprint."""
        keys = list(dict.fromkeys(fingerprints))
        found: dict[str, GenerationResult] = {}
        with self._lock:
            for start in range(0, len(keys), _SELECT_CHUNK):
                chunk = keys[start : start + _SELECT_CHUNK]
                rows = self._db.execute(
                    f"SELECT fingerprint, result FROM responses WHERE fingerprint IN "
                    f"({','.join('?' * len(chunk))})", chunk).fetchall()
                for fingerprint, result in rows:
                    found[fingerprint] = GenerationResult.from_json(json.loads(result), cached=True)
        return found

    def request(self, fingerprint: str) -> dict[str, Any] | None:
        """The fingerprinted request stored with ``fingerprint``."""
        with self._lock:
            row = self._db.execute("SELECT request FROM responses WHERE fingerprint = ?",
                                   (fingerprint,)).fetchone()
        return json.loads(row[0]) if row else None

    def fingerprints(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT fingerprint FROM responses")}

    def __contains__(self, fingerprint: object) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM responses WHERE fingerprint = ?",
                                    (fingerprint,)).fetchone() is not None

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def __iter__(self) -> Iterator[GenerationResult]:
        with self._lock:
            rows = self._db.execute("SELECT result FROM responses ORDER BY created").fetchall()
        return (GenerationResult.from_json(json.loads(row[0]), cached=True) for row in rows)

    # -- writing ---------------------------------------------------------------------------------
    def put(self, request: GenerationRequest, result: GenerationResult,
            backend: Mapping[str, Any] | None = None) -> None:
        """Store ``result`` for ``request`` (committed before this returns)."""
        if not is_cacheable(result):
            raise ValueError(f"only answers are cached, not failures ({result.error!r})")
        fingerprint = request.fingerprint()
        if result.fingerprint != fingerprint:
            raise ValueError(f"result {result.fingerprint[:12]} does not answer request "
                             f"{fingerprint[:12]}")
        row = (fingerprint, _dumps(request.fingerprinted()), _dumps(result.to_json()),
               _dumps(dict(backend)) if backend is not None else None, time.time())
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)", row)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "ResponseCache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _dumps(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

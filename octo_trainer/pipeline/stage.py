"""What a pipeline stage is: its inputs' fingerprint, its output directory, its completion marker.

A stage's output lives in ``<run_dir>/stages/<name>/<fingerprint[:12]>/``; the fingerprint hashes
the stage's config section (minus the keys that only change *how* it runs, ``OPERATIONAL``), the
fingerprints of the stages it reads, and whatever else decides its output (the commit each
repository is at, the data files it reads, the stage's code version). A stage is finished when
``complete.json`` is in its directory -- written atomically, last, with the stage's summary --
so a killed stage has no marker and runs again (in the same directory: the builders' response
caches and the evaluation runner resume from what they find there), a changed config gets a new
directory, and switching the config back finds the old one finished.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import octopack_common

from .config import OPERATIONAL

MARKER = "complete.json"
FINGERPRINT_CHARS = 12


def fingerprint(payload: Any) -> str:
    """sha256 of the canonical JSON of ``payload``."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def section_inputs(section: Any) -> dict[str, Any]:
    """A config section without its operational keys (they do not change the output)."""
    plain = dataclasses.asdict(section) if dataclasses.is_dataclass(section) else dict(section)
    return {key: value for key, value in plain.items() if key not in OPERATIONAL}


def file_digest(path: str | Path | None) -> str | None:
    """sha256 of a file (or of a directory's files, by relative path), ``None`` when absent."""
    if path is None:
        return None
    path = Path(path)
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if path.is_dir():
        digest = hashlib.sha256()
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(item.relative_to(path)).encode())
            digest.update(hashlib.sha256(item.read_bytes()).digest())
        return digest.hexdigest()
    return str(path)  # a Hub id: its name is the input


@dataclass
class StageResult:
    """One stage of one run: where its output is and what it reported."""

    name: str
    fingerprint: str | None = None
    directory: Path | None = None
    status: str = "pending"  #: pending, reused, done, skipped, failed
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    output_digest: str | None = None  #: the digest of its data (data stages), else None

    @property
    def key(self) -> str | None:
        """What downstream fingerprints hash: the data's digest when the stage has one (a rerun
        that made the same data reruns nothing downstream), else the fingerprint."""
        return self.output_digest or self.fingerprint

    def to_json(self, root: Path) -> dict[str, Any]:
        where = None
        if self.directory is not None:
            try:
                where = str(self.directory.relative_to(root))
            except ValueError:
                where = str(self.directory)
        return {"name": self.name, "fingerprint": self.fingerprint, "output_digest": self.output_digest,
                "directory": where,
                "status": self.status, "seconds": round(self.seconds, 2), "summary": self.summary,
                "error": self.error}


@dataclass(frozen=True)
class Stage:
    """A stage: ``inputs(ctx)`` are hashed into its fingerprint; ``run(ctx, out)`` writes into
    ``out`` and returns its summary (plain JSON); ``needs`` are the stages whose outputs it reads;
    ``enabled(config)`` says whether the run includes it; ``digest(out)``, for stages that write
    data, is the digest of that data (see :attr:`StageResult.key`)."""

    name: str
    title: str
    needs: Sequence[str]
    inputs: Callable[[Any], Mapping[str, Any]]
    run: Callable[[Any, Path], dict[str, Any]]
    enabled: Callable[[Any], bool] = lambda config: True
    digest: Callable[[Path], str | None] | None = None
    version: int = 1


def data_digest(out: Path) -> str | None:
    """The digest of a data stage's ``data/`` directory."""
    return file_digest(out / "data")


def read_marker(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_marker(directory: Path, result: StageResult, inputs: Mapping[str, Any]) -> None:
    octopack_common.write_json_atomic(directory / MARKER, {
        "stage": result.name, "fingerprint": result.fingerprint, "inputs": inputs,
        "output_digest": result.output_digest, "summary": result.summary, "seconds": round(result.seconds, 2)})

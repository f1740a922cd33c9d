"""The SQLite response cache: what it stores, what it refuses, and two processes sharing it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from commitpack_dataset.generation import (
    Choice,
    GenerationRequest,
    GenerationResult,
    ResponseCache,
    Usage,
    default_cache_path,
)

REPO = Path(__file__).resolve().parents[2]


def _answer(request: GenerationRequest, text: str = "x", finish: str = "stop") -> GenerationResult:
    return GenerationResult(fingerprint=request.fingerprint(), choices=(Choice(text, finish),),
                            system_fingerprint="fp_1", usage=Usage(3, 1), model="m", attempts=2)


def test_answers_round_trip_and_survive_reopening(tmp_path):
    request = GenerationRequest(model="m", prompt="p", seed=1, metadata={"row": 7})
    truncated = GenerationRequest(model="m", prompt="q")
    with ResponseCache(tmp_path / "sub" / "c.sqlite") as cache:
        cache.put(request, _answer(request), {"backend": "openai", "base_url": "http://h/v1"})
        cache.put(truncated, _answer(truncated, "cut", "length"))
    with ResponseCache(tmp_path / "sub" / "c.sqlite") as cache:
        assert len(cache) == 2 and request.fingerprint() in cache
        stored = cache.get(request.fingerprint())
        assert stored == GenerationResult(**{**_answer(request).__dict__, "cached": True})
        assert cache.get(truncated.fingerprint()).choices[0].finish_reason == "length"
        assert cache.get("0" * 64) is None
        assert cache.request(request.fingerprint()) == request.fingerprinted()  # no metadata
        assert set(cache.get_many([request.fingerprint(), "nope"])) == {request.fingerprint()}
    row = sqlite3.connect(tmp_path / "sub" / "c.sqlite").execute(
        "SELECT backend FROM responses WHERE fingerprint = ?", (request.fingerprint(),)).fetchone()
    assert json.loads(row[0]) == {"backend": "openai", "base_url": "http://h/v1"}
    assert sqlite3.connect(tmp_path / "sub" / "c.sqlite").execute(
        "PRAGMA journal_mode").fetchone()[0] == "wal"


def test_failures_and_foreign_results_are_refused(tmp_path):
    request = GenerationRequest(model="m", prompt="p")
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(ValueError, match="only answers are cached"):
            cache.put(request, GenerationResult(fingerprint=request.fingerprint(), error="HTTP 500"))
        other = GenerationRequest(model="m", prompt="other")
        with pytest.raises(ValueError, match="does not answer request"):
            cache.put(request, _answer(other))
        assert len(cache) == 0


def test_a_cache_from_another_schema_version_is_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    ResponseCache(path).close()
    sqlite3.connect(path).execute("PRAGMA user_version=99")
    with pytest.raises(ValueError, match="schema version 99"):
        ResponseCache(path)


def test_default_location_is_under_the_octopack_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("OCTOPACK_CACHE_DIR", str(tmp_path))
    assert default_cache_path() == tmp_path / "generation" / "responses.sqlite"


WRITER = """
import sys
from commitpack_dataset.generation import Choice, GenerationRequest, GenerationResult, ResponseCache
cache = ResponseCache(sys.argv[1])
for i in range(int(sys.argv[3])):
    request = GenerationRequest(model="m", prompt=f"{sys.argv[2]} {i}")
    cache.put(request, GenerationResult(fingerprint=request.fingerprint(),
                                        choices=(Choice(sys.argv[2], "stop"),)))
"""


def test_two_processes_write_one_cache_at_once(tmp_path):
    path = tmp_path / "shared.sqlite"
    ResponseCache(path).close()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, "200"], cwd=REPO,
                                stderr=subprocess.PIPE) for name in ("left", "right")]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    with ResponseCache(path) as cache:
        assert len(cache) == 400
        assert {r.texts[0] for r in cache} == {"left", "right"}

"""Shared test configuration: the one place tests learn where the project's test data lives.

``OCTOPACK_TEST_DATA`` points at the shared data directory (HumanEvalPack JSONL files, HumanEval,
MBPP, the CommitPack language map); by default it is ``../shared/data`` next to the repository.
Fixtures that start real servers live in ``tests/support`` and are registered here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = [
    "tests.support.hub_fixtures",
    "tests.support.openai_fixtures",
    "tests.support.scripted_openai",
]


def _test_data_dir() -> Path:
    configured = os.environ.get("OCTOPACK_TEST_DATA")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"
    return path.resolve()


@pytest.fixture(scope="session")
def test_data_dir() -> Path:
    path = _test_data_dir()
    if not (path / "humanevalpack").is_dir():
        pytest.fail(
            f"test data not found at {path}: set OCTOPACK_TEST_DATA to the directory holding "
            "humanevalpack/, benchmarks/ and commitpack/"
        )
    return path


@pytest.fixture(scope="session")
def benchmark_sources(test_data_dir: Path) -> dict[str, str]:
    """The builders' and the decontamination's ``humaneval_source``, ``mbpp_source`` and
    ``humanevalpack_dir``, pointing at the local copies (nothing from the Hub)."""
    return {"humaneval_source": str(test_data_dir / "benchmarks" / "HumanEval.jsonl.gz"),
            "mbpp_source": str(test_data_dir / "benchmarks" / "mbpp.jsonl"),
            "humanevalpack_dir": str(test_data_dir / "humanevalpack")}


@pytest.fixture(scope="session")
def humanevalpack_dir(test_data_dir: Path) -> Path:
    return test_data_dir / "humanevalpack"

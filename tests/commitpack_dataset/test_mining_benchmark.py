"""Smoke test of ``benchmarks/mining_benchmark.py`` on a small generated history (no PyDriller needed)."""

import importlib.util
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "mining_benchmark.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("mining_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_repository_is_cached_and_all_methods_agree(bench, tmp_path):
    repo = bench.generated_repository(tmp_path, 120)
    assert bench.generated_repository(tmp_path, 120) == repo  # built once
    count = subprocess.run(["git", "--git-dir", str(repo), "rev-list", "--count", "main"], check=True,
                           capture_output=True, text=True).stdout.strip()
    assert count == "120"
    git_dir = bench.git_dir_of(str(repo))
    ours, bare = bench.run_ours(git_dir), bench.run_bare(git_dir)
    assert ours["commits"] == bare["commits"] == 120
    assert ours["candidates"] == bare["candidates"] > 90  # ~10 % two-file commits, some additions, the root
    assert bench.fast_import_stream(30) == bench.fast_import_stream(30)  # deterministic


def test_missing_pydriller_prints_a_message(bench, monkeypatch, capsys, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_pydriller(name, *args, **kwargs):
        if name == "pydriller":
            raise ImportError("no pydriller")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pydriller)
    assert bench.run_pydriller(str(tmp_path), 10) is None
    assert "pip install pydriller" in capsys.readouterr().out

"""Smoke test of ``benchmarks/executor_benchmark.py`` on two problems of two languages: every
arm runs (ours, the reference recipe, the cached re-run, all languages in one pool) and the
report says what it measured."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "executor_benchmark.py"


def test_every_arm_runs_and_the_report_has_the_ratios(tmp_path, humanevalpack_dir, monkeypatch):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    monkeypatch.setenv("OCTOPACK_CACHE_DIR", str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--data-dir", str(humanevalpack_dir), "--limit", "2",
         "--languages", "python", "js", "--output-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "executor_benchmark.json").read_text())
    total = report["total"]
    assert total["programs"] == 8 and total["disagreements"] == 0
    assert total["speedup"] > 0 and total["one_pool_speedup"] > 0 and total["rerun_speedup"] > 1
    assert sorted(report["one_pool"]["language_seconds"]) == ["js", "python"]
    assert report["one_pool"]["differing_from_per_language_runs"] == []
    for language in report["languages"]:
        assert language["ours_status"] == language["baseline_status"] == {"passed": 2, "failed": 2}
        assert language["rerun_executed"] == 0
    assert "| **total, one pool** | 8 |" in done.stdout
    assert (tmp_path / "out" / "executor_benchmark.png").is_file()

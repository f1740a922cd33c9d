"""Smoke test of benchmarks/eval_generation_benchmark.py on a tiny workload: every arm runs,
generates the tokens it claims, and the report has the ratios the README quotes."""

from __future__ import annotations

import importlib.util
import json

from tests.conftest import REPO_ROOT


def test_eval_generation_benchmark_runs_every_arm(tiny_model_dir, humanevalpack_dir, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "eval_generation_benchmark", REPO_ROOT / "benchmarks" / "eval_generation_benchmark.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    assert benchmark.main(["--model", str(tiny_model_dir), "--data-dir", str(humanevalpack_dir),
                           "--prompts", "4", "--samples", "2", "--tokens", "6", "--batch-size", "4",
                           "--repeat", "1", "--concurrency", "1", "4", "--rounds", "2",
                           "--latency", "0.05", "--output-dir", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "eval_generation_benchmark.json").read_text())
    local = report["local"]
    assert set(local["tokens_per_cpu_second"]) == {"backend", "bare", "unsorted", "naive"}
    assert all(rate > 0 for rate in local["tokens_per_cpu_second"].values())
    assert local["backend_over_bare"] > 0 and local["batching_gain_over_naive"] > 0
    assert [row["concurrency"] for row in report["endpoint"]] == [1, 4]
    assert all(0 < row["ratio"] <= 1.05 for row in report["endpoint"])
    assert report["endpoint"][1]["server_max_in_flight"] <= 4
    assert "backend / bare" in (tmp_path / "eval_generation_benchmark.md").read_text()

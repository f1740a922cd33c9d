"""Smoke test of ``benchmarks/generation_benchmark.py`` with tiny numbers: its report's shape and
the figures that do not depend on the machine's speed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "generation_benchmark.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("generation_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_tiny_run_reports_throughput_ratios_and_the_rate_limit(bench, tmp_path, capsys):
    argv = ["--latency", "0.05", "--capacity", "4", "--concurrency", "1", "4", "8", "--rounds", "2",
            "--repeat", "2", "--rpm", "1200", "--rpm-requests", "12", "--output-dir", str(tmp_path)]
    assert bench.main(argv) == 0
    report = json.loads((tmp_path / "generation_benchmark.json").read_text())
    rows = report["throughput"]
    assert [(r["concurrency"], r["requests"]) for r in rows] == [(1, 2), (4, 8), (8, 16)]
    # the server's capacity bound held, and the client reached it when it could
    assert [r["server_max_in_flight"] for r in rows] == [1, 4, 4]
    assert [r["ideal_requests_per_second"] for r in rows] == [20.0, 80.0, 80.0]
    assert all(0 < r["ratio"] <= 1.0 for r in rows)  # nothing beats the server's capacity
    assert all(r["ratio"] == max(r["ratios_of_all_runs"]) and len(r["ratios_of_all_runs"]) == 2
               for r in rows)
    for r in rows:  # the bare AsyncOpenAI baseline ran as often, against the same server
        assert len(r["bare_ratios_of_all_runs"]) == 2 and 0 < r["bare_ratio"] <= 1.0
        assert r["ours_over_bare"] == round(r["ratio"] / r["bare_ratio"], 3)
    limit = report["rate_limit"]
    assert limit["requests"] == 12 and limit["rpm_set"] == 1200
    assert 0 < limit["rpm_measured"] <= 1200 * 1.05  # the limiter never lets it go faster
    assert "| 8 | 16 |" in (tmp_path / "generation_benchmark.md").read_text()
    assert "rate limit 1200 RPM: measured" in capsys.readouterr().out

"""Smoke test of ``benchmarks/decontamination_benchmark.py`` on 200 rows."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "decontamination_benchmark.py"


def test_small_run_finds_every_planted_row_and_agrees_with_the_naive_matcher(test_data_dir, tmp_path):
    spec = importlib.util.spec_from_file_location("decontamination_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    output = tmp_path / "figures.json"
    figures = module.main(["--rows", "200", "--planted", "8", "--naive-sample", "30", "--num-proc", "1",
                           "--data-dir", str(test_data_dir), "--json", str(output)])
    assert figures == json.loads(output.read_text())
    assert figures["rows"] == 200 and figures["planted"] == 8 and figures["planted_missed"] == 0
    assert figures["sample_disagreements"] == 0 and figures["removed"] >= 8
    assert figures["naive_sample_rows"] == 30 and "ratio_plain_vs_naive" in figures

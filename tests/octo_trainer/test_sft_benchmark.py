"""Smoke test of ``benchmarks/sft_benchmark.py``: a tiny run, its outputs, and its efficiency
figures checked against batches read independently from a trainer built on the same recipe."""

from __future__ import annotations

import importlib.util
import json
import sys
from itertools import islice
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sft_benchmark.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("sft_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def tiny_run(bench, tmp_path_factory, test_data_dir: Path, tiny_model_dir: Path):
    """One small run: 24 rows, 2 steps, one timed pair, no warm-up."""
    root = tmp_path_factory.mktemp("sft-benchmark")
    argv = ["--rows", "24", "--steps", "2", "--repeats", "1", "--warmup", "0",
            "--max-length", "128", "--data-dir", str(test_data_dir / "benchmarks"),
            "--work-dir", str(root / "work"), "--output-dir", str(root / "out")]
    assert bench.main(argv) == 0
    report = json.loads((root / "out" / "sft_benchmark.json").read_text())
    return root, report


def test_rows_are_deterministic_and_vary_in_length(bench, test_data_dir: Path):
    data_dir = test_data_dir / "benchmarks"
    rows = bench.instruction_rows(data_dir, 50)
    assert rows == bench.instruction_rows(data_dir, 50)
    assert all(set(row) == {"instruction", "response"} for row in rows)
    lengths = sorted(len(row["response"]) for row in rows)
    assert lengths[-1] > 4 * lengths[0]
    with pytest.raises(ValueError, match="--rows"):
        bench.instruction_rows(data_dir, 10_000)


def test_report_has_every_strategy_and_both_arms(tiny_run):
    root, report = tiny_run
    assert [row["strategy"] for row in report["packing"]] == ["none", "bfd", "bfd_split", "wrapped"]
    for row in report["packing"]:
        assert row["batches"] == 2 * 2  # max_steps x gradient_accumulation_steps of tiny-cpu/lora
        assert 0 < row["tokens"] <= row["slots"] and row["max_length"] == 128
        assert 0 < row["fill"] <= 1 and row["efficiency"] == row["tokens"] / row["slots"]
    by_name = {row["strategy"]: row for row in report["packing"]}
    assert by_name["bfd"]["padding_free"] and by_name["bfd"]["efficiency"] == 1.0
    assert not by_name["none"]["padding_free"] and by_name["none"]["efficiency"] < 1.0
    assert by_name["bfd"]["documents"] >= by_name["bfd"]["rows"]  # rows per packed block

    timing = report["overhead"]
    for clock in ("wall", "cpu"):
        summary = timing[clock]
        assert len(summary["ours_seconds"]) == len(summary["bare_seconds"]) == len(summary["ratios"]) == 1
        assert summary["median_ratio"] == summary["ratios"][0] > 0
        assert all(seconds > 1 for seconds in summary["ours_seconds"] + summary["bare_seconds"])
    assert timing["train_loss"] > 0
    assert report["environment"]["versions"]["trl"]
    out = root / "out"
    assert (out / "sft_benchmark.md").read_text().count("| none |") == 1
    assert (out / "sft_benchmark.png").is_file()  # matplotlib is in the test extra
    # both arms really trained and saved an adapter
    assert (root / "work" / "ours" / "adapter_model.safetensors").is_file()
    assert (root / "work" / "bare" / "adapter_model.safetensors").is_file()


def _independent_trainer(recipe: Path, *overrides: str):
    from octo_trainer.train import build_trainer, parse_args

    return build_trainer(*parse_args(["--config", str(recipe), *overrides]))


@pytest.mark.parametrize("strategy", ["none", "wrapped"])
def test_padded_efficiency_is_one_minus_the_pad_share_of_the_real_batches(bench, tiny_run, strategy):
    root, report = tiny_run
    row = next(r for r in report["packing"] if r["strategy"] == strategy)
    trainer = _independent_trainer(root / "work" / "recipe.yaml", *bench.strategy_overrides(strategy))
    batches = list(islice(trainer.get_train_dataloader(), row["batches"]))
    padding = sum(int((batch["attention_mask"] == 0).sum()) for batch in batches)
    slots = sum(batch["input_ids"].numel() for batch in batches)
    assert slots == row["slots"] and padding == row["masked_padding"]
    assert row["efficiency"] == pytest.approx(1.0 - padding / slots)


def test_padding_free_batches_hold_only_real_tokens(bench, tiny_run):
    root, report = tiny_run
    row = next(r for r in report["packing"] if r["strategy"] == "bfd")
    trainer = _independent_trainer(root / "work" / "recipe.yaml", *bench.strategy_overrides("bfd"))
    epoch = list(trainer.get_train_dataloader())
    assert all("attention_mask" not in batch for batch in epoch)
    # over a whole epoch the batches hold exactly the packed dataset's tokens: no padding at all
    real = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    assert sum(batch["input_ids"].numel() for batch in epoch) == real
    assert sum(batch["input_ids"].numel() for batch in epoch[: row["batches"]]) == row["slots"]

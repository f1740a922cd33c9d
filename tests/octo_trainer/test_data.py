"""Recipe data: local sources, column mapping, fractions, mixture weights, prompt/completion rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from octo_trainer.data import DataArguments, DataSource, build_dataset
from octo_trainer.formats import get_format


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def magic(n: int, tag: str = "m") -> list[dict]:
    return [{"instruction": f"{tag} task {i}", "response": f"{tag} answer {i}"} for i in range(n)]


def test_magicoder_rows_become_prompt_completion_in_the_shared_format(tmp_path: Path):
    args = DataArguments(datasets=[{"path": write_jsonl(tmp_path / "a.jsonl", magic(3))}])
    dataset = build_dataset(args)
    assert dataset.column_names == ["prompt", "completion"]
    row = dataset.filter(lambda r: r["completion"] == "m answer 1")[0]
    assert (row["prompt"], row["completion"]) == get_format("magicoder").split("m task 1", "m answer 1")


def test_column_mapping_context_and_instruction_template(tmp_path: Path):
    rows = [{"q": "Do it.", "a": "done", "ctx": "the input"}, {"q": "Again.", "a": "ok", "ctx": ""}]
    source = {
        "path": write_jsonl(tmp_path / "alpaca.jsonl", rows),
        "columns": {"instruction": "q", "response": "a", "context": "ctx"},
        "instruction_template": "Task: {instruction}",
    }
    dataset = build_dataset(DataArguments(datasets=[source], prompt_format="wizardcoder"))
    by_completion = {row["completion"]: row["prompt"] for row in dataset}
    assert "### Instruction:\nTask: Do it.\n\n### Input:\nthe input\n\n### Response:" in by_completion["done"]
    assert "### Input:" not in by_completion["ok"]


def test_parquet_source_fraction_and_weights(tmp_path: Path):
    import datasets

    parquet = tmp_path / "b.parquet"
    datasets.Dataset.from_list(magic(40, "p")).to_parquet(str(parquet))
    args = DataArguments(
        datasets=[
            {"path": write_jsonl(tmp_path / "a.jsonl", magic(30)), "weight": 1.0},
            {"path": str(parquet), "fraction": 0.5, "weight": 2.0},
        ]
    )
    dataset = build_dataset(args)
    # p keeps 20 of 40 rows; shares 1/3 : 2/3 -> N = min(30 * 3, 20 * 1.5) = 30 -> 10 m + 20 p
    tags = [row["completion"].split()[0] for row in dataset]
    assert (tags.count("m"), tags.count("p")) == (10, 20)


def test_without_weights_sources_are_concatenated_and_shuffled(tmp_path: Path):
    args = DataArguments(
        datasets=[
            {"path": write_jsonl(tmp_path / "a.jsonl", magic(5))},
            {"path": write_jsonl(tmp_path / "b.jsonl", magic(7, "p"))},
        ]
    )
    assert len(build_dataset(args)) == 12


def test_invalid_data_arguments_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown prompt format"):
        DataArguments(prompt_format="nope")
    with pytest.raises(ValueError, match="fraction"):
        DataSource(path="x", fraction=0.0)
    with pytest.raises(ValueError, match="roles"):
        DataSource(path="x", columns={"question": "q"})
    with pytest.raises(ValueError, match="weight"):
        build_dataset(
            DataArguments(
                datasets=[
                    {"path": write_jsonl(tmp_path / "a.jsonl", magic(2)), "weight": 1.0},
                    {"path": write_jsonl(tmp_path / "b.jsonl", magic(2))},
                ]
            )
        )
    with pytest.raises(KeyError, match="output"):
        build_dataset(
            DataArguments(
                datasets=[{"path": write_jsonl(tmp_path / "c.jsonl", magic(2))}],
                response_column="output",
            )
        )

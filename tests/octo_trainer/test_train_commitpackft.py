"""The tiny recipes train end to end on CPU on rows this project's CommitPackFT builder mines from
a real git repository, in LoRA and QLoRA form, with response-only and full-sequence loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from octo_trainer.recipe_files import RESOLVED_RECIPE
from octo_trainer.train import parse_args, run
from tests.octo_trainer.test_data import (  # noqa: F401  (commit_repo is a fixture)
    KEPT_COMMITS,
    commit_repo,
    commitpackft_source,
)
from tests.octo_trainer.test_train import _first_lora_base_layer, losses, write_recipe


def builder_rows(repo, tmp_path: Path) -> int:
    """How many rows the CommitPackFT builder itself yields for ``repo``."""
    from commitpack_dataset import CommitPackFT

    builder = CommitPackFT(config_name="python", cache_dir=str(tmp_path / "reference"),
                           repositories=(str(repo.path),), tokenizer="estimate",
                           license_policy="keep-unknown")
    builder.download_and_prepare()
    return len(builder.as_dataset("train"))


def train_on_commits(tmp_path: Path, variant: str, repo, loss_on_prompt: bool, **changes):
    """Run ``tiny-cpu/<variant>`` with its data replaced by the CommitPackFT builder source; check
    that the loss falls, every mined row is trained on, and the labels follow ``loss_on_prompt``."""
    recipe = write_recipe(tmp_path, variant, [], datasets=[commitpackft_source(repo, tmp_path)],
                          prompt_format="octocoder", max_steps=6, loss_on_prompt=loss_on_prompt,
                          **changes)
    trainer = run(*parse_args(["--config", str(recipe)]))

    history = losses(trainer)
    assert len(history) == 6 and history[-1] < history[0]
    assert len(trainer.train_dataset) == builder_rows(repo, tmp_path) == KEPT_COMMITS
    assert trainer.args.completion_only_loss is not loss_on_prompt
    assert_labels(trainer, loss_on_prompt)
    return trainer


def assert_labels(trainer, loss_on_prompt: bool) -> None:
    """In collated batches: only the completion (response + EOS) is labelled, or every token."""
    tokenizer = trainer.processing_class
    rows = list(trainer.train_dataset)
    for start in range(0, len(rows), 8):
        chunk = rows[start:start + 8]
        batch = trainer.data_collator(chunk)
        real = batch["attention_mask"].bool()
        if loss_on_prompt:
            assert (batch["labels"][real] == batch["input_ids"][real]).all()
            continue
        for row, ids, labels in zip(chunk, batch["input_ids"], batch["labels"]):
            labelled = tokenizer.decode(ids[labels != -100].tolist())
            assert labelled == row["completion"] and "Answer:" not in labelled
            assert labelled.startswith("\n") and labelled.endswith(tokenizer.eos_token)


def test_lora_on_commitpackft_rows_trains_on_the_response_only(tmp_path: Path, commit_repo):
    trainer = train_on_commits(tmp_path, "lora", commit_repo, loss_on_prompt=False)
    prompts = trainer.train_dataset["prompt"]
    assert all(p.startswith("Question: ") and p.endswith("\n\nAnswer: ") for p in prompts)

    # the resolved recipe keeps the builder source and parses back to it
    out = tmp_path / "out"
    assert (out / "adapter_model.safetensors").is_file()
    (source,) = yaml.safe_load((out / RESOLVED_RECIPE).read_text())["datasets"]
    assert (source["builder"], source["name"]) == ("commitpackft", "python")
    data, _, _ = parse_args(["--config", str(out / RESOLVED_RECIPE)])
    assert data.datasets[0].builder_kwargs["repositories"] == [str(commit_repo.path)]


def test_qlora_on_commitpackft_rows_trains_on_the_full_sequence(
    tmp_path: Path, commit_repo, tiny_model_dir: Path
):
    trainer = train_on_commits(tmp_path, "qlora", commit_repo, loss_on_prompt=True,
                               model_name_or_path=str(tiny_model_dir))
    assert type(_first_lora_base_layer(trainer.model)).__name__ == "Linear4bit"


def test_shipped_commit_recipe_mines_the_repository_it_runs_in(
    tmp_path: Path, commit_repo, monkeypatch: pytest.MonkeyPatch
):
    from octo_trainer.data import build_dataset

    monkeypatch.chdir(commit_repo.path)  # the recipe names `repositories: [.]`
    data, training, model = parse_args(["--config", "tiny-cpu/commitpackft-lora"])
    assert data.prompt_format == "octocoder" and data.loss_on_prompt and model.use_peft
    data.datasets[0].cache_dir = str(tmp_path / "cache")
    dataset = build_dataset(data)
    assert len(dataset) == KEPT_COMMITS
    assert all(row["prompt"].startswith("Question: ") for row in dataset)

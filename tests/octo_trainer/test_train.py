"""End-to-end SFT on CPU with the tiny recipes: the loss falls, the prompt is masked, outputs load back."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml

import octo_trainer
from octo_trainer.errors import RecipeError
from octo_trainer.formats import get_format
from octo_trainer.recipe_files import RESOLVED_RECIPE
from octo_trainer.train import build_trainer, parse_args, run

TINY = Path(octo_trainer.__file__).parent / "recipes" / "tiny-cpu"


def magicoder_rows() -> list[dict[str, str]]:
    return [
        {
            "instruction": f"Write a function that returns {n} plus one.",
            "response": f"def f():\n    return {n} + 1\n",
        }
        for n in range(16)
    ]


def alpaca_rows() -> list[dict[str, str]]:
    rows = []
    for n in range(16):
        rows.append(
            {
                "instruction": "Add one to the number." if n % 2 else f"Return {n} plus one.",
                "input": f"x = {n}" if n % 2 else "",
                "output": f"def f():\n    return {n} + 1\n",
            }
        )
    return rows


def write_recipe(tmp_path: Path, variant: str, rows: list[dict], **changes) -> Path:
    """Copy a tiny-cpu recipe into ``tmp_path`` with its data pointed at ``rows`` as JSONL."""
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    recipe = yaml.safe_load((TINY / f"{variant}.yaml").read_text())
    recipe["datasets"] = [{"path": str(data), "split": "train"}]
    recipe["output_dir"] = str(tmp_path / "out")
    recipe.update(changes)
    path = tmp_path / f"{variant}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def losses(trainer) -> list[float]:
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


def test_lora_magicoder_shape_trains_on_the_response_only_and_saves(
    tmp_path: Path, tiny_model_dir: Path
):
    recipe = write_recipe(tmp_path, "lora", magicoder_rows(), max_steps=6, max_length=96)
    trainer = run(*parse_args(["--config", str(recipe), "--merge_adapter", "true"]))

    history = losses(trainer)
    assert len(history) == 6 and history[-1] < history[0]

    # labels: -100 on every prompt token, the response and EOS labelled
    tokenizer = trainer.processing_class
    for row in trainer.train_dataset:
        labelled = [tok for tok, label in zip(row["input_ids"], row["labels"]) if label != -100]
        assert tokenizer.decode(labelled) == row["completion"]
        assert row["completion"].endswith(tokenizer.eos_token)
        assert row["prompt"].startswith(get_format("magicoder").split("x", "")[0][:40])
        prompt_len = len(row["input_ids"]) - len(labelled)
        assert all(label == -100 for label in row["labels"][:prompt_len])

    out = tmp_path / "out"
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json",
                 "train_results.json", "trainer_state.json", RESOLVED_RECIPE):
        assert (out / name).is_file(), name
    assert (out / "merged" / "model.safetensors").is_file()

    # the resolved recipe parses back to the same run
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        data, training, model = parse_args(["--config", str(out / RESOLVED_RECIPE)])
    assert data.loss_on_prompt is False and data.merge_adapter is True
    assert training.max_steps == 6 and training.learning_rate == trainer.args.learning_rate
    assert model.use_peft and model.lora_r == 8
    assert Path(model.model_name_or_path) == tiny_model_dir  # "octopack-tiny", resolved

    # the adapter loads back and runs
    import torch
    from peft import AutoPeftModelForCausalLM

    reloaded = AutoPeftModelForCausalLM.from_pretrained(str(out))
    ids = tokenizer("def f():", return_tensors="pt").input_ids
    with torch.no_grad():
        adapted = reloaded(input_ids=ids).logits
    assert adapted.shape[-1] == len(tokenizer)

    # the merged model is a plain checkpoint giving the adapted model's outputs
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(str(out / "merged"))
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, adapted, atol=1e-4)


def test_qlora_alpaca_shape_with_full_sequence_loss(tmp_path: Path, tiny_model_dir: Path):
    recipe = write_recipe(
        tmp_path, "qlora", alpaca_rows(), model_name_or_path=str(tiny_model_dir), prompt_format="wizardcoder", context_column="input",
        response_column="output", loss_on_prompt=True, max_steps=6, max_length=128,
    )
    trainer = run(*parse_args(["--config", str(recipe)]))

    history = losses(trainer)
    assert len(history) == 6 and history[-1] < history[0]
    assert trainer.args.completion_only_loss is False

    prompts = trainer.train_dataset["prompt"]
    assert any("### Input:\nx = " in p and "paired with an input" in p for p in prompts)
    assert any("### Input:" not in p for p in prompts)  # empty input -> the no-input form

    # every real token is labelled when loss_on_prompt is true
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    real = batch["attention_mask"].bool()
    assert (batch["labels"][real] == batch["input_ids"][real]).all()

    from peft import AutoPeftModelForCausalLM

    out = tmp_path / "out"
    assert (out / "adapter_model.safetensors").is_file() and (out / RESOLVED_RECIPE).is_file()
    assert AutoPeftModelForCausalLM.from_pretrained(str(out)) is not None
    assert type(_first_lora_base_layer(trainer.model)).__name__ == "Linear4bit"


def _first_lora_base_layer(model):
    for module in model.modules():
        if hasattr(module, "base_layer") and hasattr(module, "lora_A"):
            return module.base_layer
    raise AssertionError("no LoRA layer found")


def test_loss_on_prompt_false_masks_prompt_in_a_collated_batch(tmp_path: Path):
    recipe = write_recipe(tmp_path, "lora", alpaca_rows(), prompt_format="wizardcoder",
                          context_column="input", response_column="output")
    trainer = build_trainer(*parse_args(["--config", str(recipe)]))
    rows = [trainer.train_dataset[i] for i in range(4)]
    batch = trainer.data_collator(rows)
    tokenizer = trainer.processing_class
    for row, ids, labels in zip(rows, batch["input_ids"], batch["labels"]):
        kept = ids[labels != -100].tolist()
        assert tokenizer.decode(kept) == row["completion"]
        assert "### Response:" not in tokenizer.decode(kept)


def test_contradicting_completion_only_loss_is_refused(tmp_path: Path):
    recipe = write_recipe(tmp_path, "lora", magicoder_rows(), completion_only_loss=True,
                          loss_on_prompt=True)
    with pytest.raises(ValueError, match="contradicts"):
        build_trainer(*parse_args(["--config", str(recipe)]))


def test_octocoder_style_wrapped_packing_labels_whole_blocks(tmp_path: Path, tiny_model_dir: Path):
    recipe = write_recipe(
        tmp_path, "lora", magicoder_rows(), model_name_or_path=str(tiny_model_dir),
        prompt_format="octocoder", loss_on_prompt=True, packing=True, packing_strategy="wrapped",
        max_length=32, max_steps=2,
    )
    trainer = build_trainer(*parse_args(["--config", str(recipe)]))
    blocks = trainer.train_dataset
    lengths = sorted((len(ids) for ids in blocks["input_ids"]), reverse=True)
    assert set(lengths[:-1]) == {32} and lengths[-1] <= 32  # fixed blocks; TRL keeps the remainder
    batch = trainer.data_collator([blocks[0], blocks[1]])
    assert (batch["labels"] != -100).all()  # full-sequence loss, no padding
    text = trainer.processing_class.decode(blocks[0]["input_ids"])
    assert "Question: " in text or "Answer: " in text
    trainer.train()
    assert losses(trainer)


def test_console_entry_runs_the_full_fine_tuning_recipe(tmp_path: Path, tiny_model_dir: Path, capsys):
    from octo_trainer.train import cli

    recipe = write_recipe(tmp_path, "full", magicoder_rows(), model_name_or_path=str(tiny_model_dir))
    assert cli(["--config", str(recipe), "--max_steps", "2", "--max_length", "128"]) == 0
    out = tmp_path / "out"
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    assert yaml.safe_load((out / RESOLVED_RECIPE).read_text())["max_steps"] == 2
    with pytest.raises(RecipeError, match="use_peft"):
        run(*parse_args(["--config", str(recipe), "--merge_adapter", "true"]))
    # a user error found after the model loaded is still one line and exit status 2
    with pytest.raises(SystemExit) as exited:
        cli(["--config", str(recipe), "--max_length", "16"])
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith("octopack-sft: error: no training example is left") and "raise max_length" in line

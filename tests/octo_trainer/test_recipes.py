"""Every shipped recipe parses with TRL's own parser at the pinned versions and says what the paper says."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import yaml

import octo_trainer
from octo_trainer.train import parse_args

RECIPES_DIR = Path(octo_trainer.__file__).parent / "recipes"
RECIPES = sorted(RECIPES_DIR.glob("*/*.yaml"))
EXPECTED = {
    f"{method}/{variant}.yaml"
    for method in ("octocoder", "magicoder", "wizardcoder")
    for variant in ("full", "lora", "qlora")
} | {"tiny-cpu/full.yaml", "tiny-cpu/lora.yaml", "tiny-cpu/qlora.yaml"}
BATCH_COMMENT = re.compile(
    r"# Global batch (\d+) = per-device (\d+) x gradient accumulation (\d+) x (\d+) (?:GPUs|device)"
)


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def parse_recipe(path: Path, *overrides: str):
    """Parse like ``octopack-sft --config path``; deprecated keys are errors, GPU recipes get use_cpu."""
    import trl  # import-time warnings are not the recipe's fault

    assert trl.TrlParser

    extra = () if path.parent.name == "tiny-cpu" else ("--use_cpu", "true")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        return parse_args(["--config", str(path), *extra, *overrides])


def test_every_expected_recipe_ships():
    assert EXPECTED <= {_name(path) for path in RECIPES}


@pytest.mark.parametrize("path", RECIPES, ids=_name)
def test_recipe_parses_with_trl_and_has_no_unknown_or_deprecated_keys(path: Path):
    data, training, model = parse_recipe(path)
    raw = yaml.safe_load(path.read_text())
    assert raw["datasets"], "a recipe names its data"
    assert data.prompt_format == raw["prompt_format"]
    assert training.report_to == []  # "none": no tracker
    if model.load_in_4bit:
        assert model.use_peft and model.bnb_4bit_quant_type == "nf4" and model.use_bnb_nested_quant


@pytest.mark.parametrize("path", RECIPES, ids=_name)
def test_recipe_states_its_global_batch(path: Path):
    match = BATCH_COMMENT.search(path.read_text())
    assert match, "every recipe states its global batch as per-device x accumulation x devices"
    total, per_device, accumulation, devices = map(int, match.groups())
    assert total == per_device * accumulation * devices
    _, training, _ = parse_recipe(path)
    assert (training.per_device_train_batch_size, training.gradient_accumulation_steps) == (
        per_device,
        accumulation,
    )


def test_unknown_key_is_an_error(tmp_path: Path):
    recipe = tmp_path / "bad.yaml"
    text = (RECIPES_DIR / "tiny-cpu" / "lora.yaml").read_text()
    recipe.write_text(text + "max_seq_length: 512\n")
    with pytest.raises(ValueError, match=r"unknown recipe key 'max_seq_length' \(did you mean 'max_length'\?\)"):
        parse_args(["--config", str(recipe)])
    recipe.write_text("- a list\n")
    with pytest.raises(ValueError, match="must contain a YAML mapping"):
        parse_args(["--config", str(recipe)])
    recipe.write_text("max_steps: [1\n")
    with pytest.raises(ValueError, match="is not valid YAML"):
        parse_args(["--config", str(recipe)])


def test_octocoder_recipes_follow_the_paper():
    for variant in ("full", "lora", "qlora"):
        data, training, model = parse_recipe(RECIPES_DIR / "octocoder" / f"{variant}.yaml")
        assert data.prompt_format == "octocoder" and data.loss_on_prompt is True
        assert data.datasets[0].path == "bigcode/guanaco-commits"
        assert (training.max_length, training.packing, training.packing_strategy) == (2048, True, "wrapped")
        assert training.lr_scheduler_type == "cosine" and training.warmup_steps == 5
        assert training.weight_decay == 0.05 and training.max_steps == 30
        if variant != "full":
            assert training.learning_rate == 5e-4
            assert (model.lora_r, model.lora_alpha, model.lora_dropout) == (16, 32, 0.05)
            assert model.lora_target_modules == ["c_proj", "c_attn", "q_attn"]
    _, _, lora = parse_recipe(RECIPES_DIR / "octocoder" / "lora.yaml")
    assert lora.load_in_8bit and not lora.load_in_4bit


def test_magicoder_recipes_follow_the_paper():
    data, training, model = parse_recipe(RECIPES_DIR / "magicoder" / "full.yaml")
    assert data.prompt_format == "magicoder" and data.loss_on_prompt is False
    assert data.datasets[0].instruction_template.startswith("Write a solution to the following")
    assert training.optim == "adafactor" and training.max_grad_norm == 0.0
    assert (training.learning_rate, training.num_train_epochs, training.warmup_steps) == (5e-5, 2, 15)
    assert training.lr_scheduler_type == "linear"
    assert (training.max_length, training.packing) == (1216, False)
    assert not model.use_peft
    for variant in ("lora", "qlora"):
        _, lora_training, lora = parse_recipe(RECIPES_DIR / "magicoder" / f"{variant}.yaml")
        assert lora.use_peft and lora_training.optim == "adafactor"
        assert {"q_proj", "v_proj", "down_proj"} <= set(lora.lora_target_modules)


def test_wizardcoder_recipes_follow_the_readme():
    data, training, model = parse_recipe(RECIPES_DIR / "wizardcoder" / "full.yaml")
    assert data.prompt_format == "wizardcoder" and data.loss_on_prompt is False
    assert data.datasets[0].column_map == {"instruction": "instruction", "response": "output", "context": "input"}
    assert (training.learning_rate, training.num_train_epochs, training.warmup_steps) == (2e-5, 3, 30)
    assert training.lr_scheduler_type == "cosine" and training.fp16 and not training.bf16
    assert (training.max_length, training.packing) == (2048, False)


def test_shipped_recipes_are_addressable_by_name(tmp_path: Path):
    from octo_trainer.recipe_files import list_recipes, recipe_path

    assert "magicoder/qlora" in list_recipes() and len(list_recipes()) == len(RECIPES)
    assert recipe_path("tiny-cpu/lora") == RECIPES_DIR / "tiny-cpu" / "lora.yaml"
    own = tmp_path / "mine.yaml"
    own.write_text("max_steps: 1\n")
    assert recipe_path(str(own)) == own
    with pytest.raises(FileNotFoundError, match="did you mean 'tiny-cpu/lora'.*tiny-cpu/full"):
        recipe_path("tiny-cpu/lorra")
    data, training, _ = parse_args(["--config", "tiny-cpu/qlora", "--max_steps", "3"])
    assert training.max_steps == 3 and data.prompt_format == "magicoder"


def test_sources_can_be_given_on_the_command_line():
    data, _, _ = parse_args(["--config", "tiny-cpu/lora", "--datasets", "a.jsonl", "b.parquet"])
    assert [source.path for source in data.datasets] == ["a.jsonl", "b.parquet"]
    assert all(source.split == "train" and source.subsample == 1.0 for source in data.datasets)
    data, _, _ = parse_args(["--config", "tiny-cpu/lora", "--datasets",
                             "a.jsonl:instruction=question,response=answer,weight=1",
                             '{"path": "b.jsonl", "column_map": {"messages": "chat"}, "weight": 3}'])
    assert [(s.path, s.column_map, s.weight) for s in data.datasets] == [
        ("a.jsonl", {"instruction": "question", "response": "answer"}, 1.0),
        ("b.jsonl", {"messages": "chat"}, 3.0),
    ]


def test_help_documents_the_datasets_syntax_and_the_recipes():
    from octo_trainer.train import make_parser

    text = " ".join(make_parser().format_help().split())
    assert "PATH[:KEY=VALUE,...]" in text and "rows.jsonl:instruction=question,response=answer" in text
    assert "prompt, completion, messages, text" in text and "JSON object of source fields" in text
    assert "Shipped recipes: magicoder/full" in text


def test_make_parser_adds_the_sft_subcommand_to_a_parent_parser():
    """TRL's ``make_parser(subparsers)`` shape, for one ``octopack`` command with subcommands."""
    import argparse

    from octo_trainer.recipe_parser import RecipeParser
    from octo_trainer.train import make_parser

    parent = argparse.ArgumentParser(prog="octopack")  # a plain parent, like the other CLIs
    subparsers = parent.add_subparsers(dest="command")
    sft = make_parser(subparsers)
    other = subparsers.add_parser("other")
    assert subparsers.choices["sft"] is sft and isinstance(sft, RecipeParser)
    assert type(other) is argparse.ArgumentParser  # the parent's class is left as it was
    assert sft.prog == "octopack sft"
    argv = ["sft", "--config", "tiny-cpu/qlora", "--max_steps", "3", "--datasets", "r.jsonl:text=body"]
    assert parent.parse_known_args(argv)[0].command == "sft"
    data, training, _ = sft.parse_args_and_config(argv[1:])
    assert training.max_steps == 3 and data.datasets[0].column_map == {"text": "body"}
    assert sft.recipe_source == "tiny-cpu/qlora"

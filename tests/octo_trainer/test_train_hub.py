"""The SFT entry point and the Hub: recipes pulled by ``hf://`` URL, model cards, ``push_to_hub``.

Everything runs against the local Hub server (``local_hub``) with the real clients and the real tiny
model; each training run is a few CPU seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard

import octo_trainer
from hub_cards import RecipeNotFoundError, push_recipes
from octo_trainer.card_info import MODEL_CARD
from octo_trainer.recipe_files import RESOLVED_RECIPE, resolve_config
from octo_trainer.train import cli, parse_args
from tests.octo_trainer.test_train import magicoder_rows

RECIPES = Path(octo_trainer.__file__).parent / "recipes"
TINY = ("tiny-cpu/full.yaml", "tiny-cpu/lora.yaml", "tiny-cpu/qlora.yaml")
QUICK = ["--max_steps", "2", "--max_length", "96"]


def rows_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in magicoder_rows()))
    return path


def push_tiny(local_hub, tmp_path: Path, name: str = "recipes", **changes) -> tuple[str, str, Path]:
    """Push copies of the tiny-cpu recipes (``changes`` applied to lora.yaml); (repo, commit, folder)."""
    folder = tmp_path / "recipe-src"
    (folder / "tiny-cpu").mkdir(parents=True, exist_ok=True)
    for path in TINY:
        shutil.copyfile(RECIPES / path, folder / path)
    if changes:
        lora = folder / "tiny-cpu" / "lora.yaml"
        lora.write_text(lora.read_text() + yaml.safe_dump(changes))
    repo_id = local_hub.repo_id(name)
    return repo_id, push_recipes(folder, repo_id).oid, folder


def load_card(path: Path) -> ModelCard:
    assert path.is_file(), path
    return ModelCard.load(path)


def test_a_recipe_pushed_to_the_hub_is_pulled_and_run(local_hub, tmp_path, tiny_model_dir):
    repo_id, commit, _ = push_tiny(local_hub, tmp_path)
    out = tmp_path / "out"
    url = f"hf://{repo_id}/tiny-cpu/lora.yaml"
    assert cli(["--config", url, "--datasets", str(rows_file(tmp_path)), "--output_dir", str(out), *QUICK]) == 0

    assert (out / "adapter_model.safetensors").is_file() and (out / RESOLVED_RECIPE).is_file()
    recipe = yaml.safe_load((out / RESOLVED_RECIPE).read_text())
    assert recipe["lora_r"] == 8 and recipe["learning_rate"] == 1e-2 and recipe["max_steps"] == 2

    card = load_card(out / MODEL_CARD)
    assert card.data.library_name == "peft"  # ours, not peft's or TRL's generated card
    assert card.data.tags[:4] == ["octopack", "trl", "sft", "lora"]
    text = card.text
    assert f"with the recipe `hf://{repo_id}@{commit}/tiny-cpu/lora.yaml`" in text  # pinned to the commit
    assert "**Global batch:** 8 = 4 per device × 2 gradient accumulation × 1 device" in text
    assert "`magicoder`; loss on the response only" in text
    assert "| optimizer steps | 2 |" in text and "final training loss" in text
    assert (out / RESOLVED_RECIPE).read_text().strip() in text  # the resolved recipe, verbatim
    assert "AutoPeftModelForCausalLM.from_pretrained" in text


def test_console_script_pulls_a_hub_recipe_in_a_subprocess(local_hub, tmp_path, tiny_model_dir):
    repo_id, commit, _ = push_tiny(local_hub, tmp_path)
    script = Path(sys.executable).with_name("octopack-sft")
    assert script.is_file(), "octopack-sft is not installed: pip install -e ."
    out = tmp_path / "out"
    # the environment the local_hub fixture patched (HF_ENDPOINT, HF_TOKEN, HF_HOME) is inherited
    result = subprocess.run(
        [str(script), "--config", f"hf://{repo_id}/tiny-cpu/full.yaml",
         "--model_name_or_path", str(tiny_model_dir), "--datasets", str(rows_file(tmp_path)),
         "--output_dir", str(out), *QUICK],
        capture_output=True, text=True, timeout=600, env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    card = load_card(out / MODEL_CARD)
    assert card.data.library_name == "transformers" and "base_model" not in card.data.to_dict()
    assert f"`hf://{repo_id}@{commit}/tiny-cpu/full.yaml`" in card.text
    assert "full fine-tuning (every weight trained)" in card.text


def test_a_revision_pin_pulls_the_old_recipe_after_it_changed(local_hub, tmp_path):
    repo_id, first, folder = push_tiny(local_hub, tmp_path, name="pinned")
    local_hub.api.create_branch(repo_id, branch="stable", revision=first)
    lora = folder / "tiny-cpu" / "lora.yaml"
    lora.write_text(lora.read_text().replace("lora_r: 8", "lora_r: 4"))
    second = push_recipes(folder, repo_id, files=["tiny-cpu/lora.yaml"]).oid

    def rank(url: str) -> int:
        return parse_args(["--config", url])[2].lora_r

    assert rank(f"hf://{repo_id}/tiny-cpu/lora.yaml") == 4
    assert rank(f"hf://{repo_id}@{first}/tiny-cpu/lora.yaml") == 8
    assert rank(f"hf://{repo_id}@stable/tiny-cpu/lora.yaml") == 8
    assert rank(f"hf://{repo_id}/tiny-cpu/lora") == 4  # .yaml optional, as for shipped names
    # the card names what was run: the branch resolved to its commit
    _, source = resolve_config(f"hf://{repo_id}@stable/tiny-cpu/lora.yaml")
    assert source == f"hf://{repo_id}@{first}/tiny-cpu/lora.yaml"
    _, source = resolve_config(f"hf://{repo_id}/tiny-cpu/lora.yaml")
    assert source == f"hf://{repo_id}@{second}/tiny-cpu/lora.yaml"
    # a command-line override still wins over the pulled recipe
    assert parse_args(["--config", f"hf://{repo_id}@stable/tiny-cpu/lora.yaml", "--lora_r", "2"])[2].lora_r == 2


def test_missing_recipe_file_or_repo_names_the_fix_before_training(local_hub, tmp_path):
    repo_id, _, _ = push_tiny(local_hub, tmp_path, name="errs")
    with pytest.raises(RecipeNotFoundError) as missing_file:
        parse_args(["--config", f"hf://{repo_id}/tiny-cpu/lorra.yaml", "--output_dir", str(tmp_path / "o")])
    message = str(missing_file.value)
    assert "no file 'tiny-cpu/lorra.yaml'" in message
    assert "YAML files there: tiny-cpu/full.yaml, tiny-cpu/lora.yaml, tiny-cpu/qlora.yaml" in message
    assert f"Did you mean hf://{repo_id}/tiny-cpu/lora.yaml?" in message

    with pytest.raises(RecipeNotFoundError, match="hf auth login"):
        parse_args(["--config", f"hf://{local_hub.repo_id('no-such-repo')}/tiny-cpu/lora.yaml"])
    with pytest.raises(RecipeNotFoundError, match="no revision 'v9'; branches: main"):
        parse_args(["--config", f"hf://{repo_id}@v9/tiny-cpu/lora.yaml"])
    assert not (tmp_path / "o").exists()


def test_push_to_hub_publishes_our_card_and_a_loadable_adapter(local_hub, tmp_path, tiny_model_dir):
    """A Hub base model (license inherited), LoRA + merge, pushed once with our card."""
    api = local_hub.api
    base_id = local_hub.repo_id("tiny-base")
    api.create_repo(base_id)
    api.upload_folder(folder_path=tiny_model_dir, repo_id=base_id)
    api.upload_file(path_or_fileobj=b"---\nlicense: apache-2.0\n---\n# tiny base\n", path_in_repo="README.md",
                    repo_id=base_id)
    model_id = local_hub.repo_id("tiny-sft-lora")
    repo_id, commit, _ = push_tiny(local_hub, tmp_path, name="push-recipes", push_to_hub=True,
                                   hub_model_id=model_id, model_name_or_path=base_id, merge_adapter=True)
    out = tmp_path / "out"
    assert cli(["--config", f"hf://{repo_id}/tiny-cpu/lora.yaml", "--datasets", str(rows_file(tmp_path)),
                 "--output_dir", str(out), *QUICK]) == 0

    # one commit after the repo was created: ours, not Trainer.save_model's "Model save" with TRL's card
    titles = [c.title for c in api.list_repo_commits(model_id)]
    assert titles == ["End of training (octopack sft)", "initial commit"], titles
    card = ModelCard.load(model_id)
    assert card.content == (out / MODEL_CARD).read_text()
    data = card.data.to_dict()
    assert data["base_model"] == base_id and data["license"] == "apache-2.0"
    assert data["library_name"] == "peft" and data["tags"][:4] == ["octopack", "trl", "sft", "lora"]
    assert data["pipeline_tag"] == "text-generation"
    assert f'model_id = "{model_id}"' in card.text
    assert f"`hf://{repo_id}@{commit}/tiny-cpu/lora.yaml`" in card.text

    files = set(api.list_repo_files(model_id))
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json", RESOLVED_RECIPE,
            "train_results.json", "merged/model.safetensors", "merged/README.md"} <= files
    merged_card = ModelCard.load(out / "merged" / MODEL_CARD)
    assert merged_card.data.library_name == "transformers" and merged_card.data.base_model == base_id

    # the card's own "How to use" snippets run against the pushed repo (generation included) ...
    snippets = re.findall(r"```python\n(.*?)```", card.text, flags=re.S)
    assert len(snippets) == 3  # transformers, peft, the merged copy
    loaded = []
    for snippet in snippets:
        namespace: dict = {}
        exec(compile(snippet.replace("max_new_tokens=256", "max_new_tokens=4"), "card", "exec"), namespace)
        loaded.append(namespace["model"])

    # ... and all three are the trained model
    import torch
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_id)
    ids = tokenizer("def f():", return_tensors="pt").input_ids
    with torch.no_grad():
        expected = AutoPeftModelForCausalLM.from_pretrained(str(out))(input_ids=ids).logits
        for model in loaded:
            assert torch.allclose(model(input_ids=ids).logits, expected, atol=1e-4), type(model)

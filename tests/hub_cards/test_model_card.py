"""Model card rendering: metadata survives ``ModelCard.load``, the body has every section, the batch adds up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from hub_cards import global_batch, hub_id_or_none, render_model_card
from hub_cards.model_card import MODEL_CARD_FIELDS, describe_finetuning

RECIPE_YAML = """\
# Resolved octopack SFT recipe
model_name_or_path: my-org/base-coder
use_peft: true
lora_r: 16
note: "a ``` fence inside must not end the code block"
"""


def qlora_info(**changes) -> dict:
    info = {
        "model_id": "my-org/coder-qlora",
        "finetuning": "qlora",
        "base_model": "my-org/base-coder",
        "license": "apache-2.0",
        "tags": ["magicoder", "code"],
        "merged_subfolder": "merged",
        "recipe": {"source": "hf://my-org/recipes@0123abc/magicoder/qlora.yaml", "yaml": RECIPE_YAML},
        "prompt_format": {
            "name": "magicoder",
            "template": "@@ Instruction\n{instruction}\n\n@@ Response\n",
            "example": "@@ Instruction\nWrite fib.\n\n@@ Response",
            "loss_on_prompt": False,
        },
        "datasets": [
            {"path": "ise-uiuc/Magicoder-OSS-Instruct-75K", "split": "train", "weight": 0.7,
             "columns": {"instruction": "problem"}},
            {"path": "local/rows.jsonl", "split": "train", "weight": 0.3},  # a local file, not a Hub id
            {"path": "/tmp/data/dir", "split": "train"},
        ],
        "lora": {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj", "v_proj"]},
        "quantization": {"bits": 4, "quant_type": "nf4", "double_quant": True},
        "batch": {"per_device": 2, "gradient_accumulation": 128, "devices": 2},
        "hyperparameters": {"learning_rate": 5e-4, "max_length": 1216, "packing": False},
        "metrics": {"final_loss": 0.4321, "train_loss": 0.61234, "train_runtime": 3600.5,
                    "global_step": 292, "custom_metric": 7},
        "framework_versions": {"trl": "1.16.0", "transformers": "5.23.0"},
    }
    info.update(changes)
    return info


def test_metadata_round_trips_through_model_card_load(tmp_path: Path):
    card = render_model_card(qlora_info())
    path = tmp_path / "README.md"
    card.save(path)
    loaded = ModelCard.load(path)
    data = loaded.data.to_dict()
    assert data["base_model"] == "my-org/base-coder"
    assert data["library_name"] == "peft"
    assert data["license"] == "apache-2.0"
    assert data["pipeline_tag"] == "text-generation"
    assert data["tags"] == ["octopack", "trl", "sft", "qlora", "magicoder", "code"]
    assert data["datasets"] == ["ise-uiuc/Magicoder-OSS-Instruct-75K"]  # local files stay out of metadata
    assert loaded.content == card.content
    assert loaded.text.lstrip().startswith("# coder-qlora")


def test_full_fine_tune_is_a_transformers_model_and_local_bases_stay_out_of_metadata(tmp_path: Path):
    info = qlora_info(finetuning="full", base_model=str(tmp_path), merged_subfolder=None, license=None)
    del info["lora"], info["quantization"]
    card = render_model_card(info)
    data = card.data.to_dict()
    assert data["library_name"] == "transformers"
    assert "base_model" not in data and "license" not in data
    assert data["tags"][:3] == ["octopack", "trl", "sft"] and "qlora" not in data["tags"]
    assert "full fine-tuning" in card.text and "from peft import" not in card.text
    assert f"from the base model `{tmp_path}`" in card.text  # shown in the body instead


def test_body_has_every_section_and_the_facts():
    text = render_model_card(qlora_info()).text
    for heading in ("## What was trained", "### Data", "### Hyper-parameters", "## Training results",
                    "## How to use", "## Recipe", "## Framework versions"):
        assert heading in text, heading
    assert "QLoRA: LoRA adapter (r=16; alpha=32; dropout=0.05; target modules q_proj, v_proj)" in text
    assert "quantised to 4-bit NF4 with double quantisation" in text
    assert "`magicoder`; loss on the response only (prompt tokens masked)" in text
    assert "**Global batch:** 512 = 2 per device × 128 gradient accumulation × 2 devices" in text
    assert "```text\n@@ Instruction\n{instruction}\n\n@@ Response\n```" in text
    assert "| ise-uiuc/Magicoder-OSS-Instruct-75K | train | 0.7 | - | columns: {'instruction': 'problem'} |" in text
    assert "| final training loss (last logged step) | 0.4321 |" in text
    assert "| mean training loss | 0.6123 |" in text and "| optimizer steps | 292 |" in text
    assert "| runtime (s) | 3600 |" in text and "| custom_metric | 7 |" in text
    assert "| learning_rate | 0.0005 |" in text
    assert "with the recipe `hf://my-org/recipes@0123abc/magicoder/qlora.yaml`" in text
    assert "- trl 1.16.0\n- transformers 5.23.0" in text
    # usage: transformers and peft, with the repo id, the base and the prompt format's example
    assert 'model_id = "my-org/coder-qlora"' in text
    assert "AutoModelForCausalLM.from_pretrained(model_id)" in text
    assert 'AutoPeftModelForCausalLM.from_pretrained("my-org/coder-qlora")' in text
    assert 'base = AutoModelForCausalLM.from_pretrained("my-org/base-coder")' in text
    assert 'prompt = "@@ Instruction\\nWrite fib.\\n\\n@@ Response"' in text
    assert ('path = snapshot_download("my-org/coder-qlora", allow_patterns=["merged/*"]) + "/merged"'
            in text)
    # the resolved recipe verbatim, in a fence longer than the ``` inside it
    assert "````yaml\n" + RECIPE_YAML + "````" in text


def test_merged_card_loads_from_its_subfolder_without_peft():
    info = qlora_info(adapter=False, subfolder="merged", merged_subfolder=None)
    card = render_model_card(info)
    assert card.data.library_name == "transformers"
    assert "A model whose QLoRA adapter was merged into its base" in card.text
    assert ('model_id = snapshot_download(model_id, allow_patterns=["merged/*"]) + "/merged"\n'
            "tokenizer = AutoTokenizer.from_pretrained(model_id)\n"
            "model = AutoModelForCausalLM.from_pretrained(model_id)") in card.text
    assert "AutoPeftModelForCausalLM" not in card.text


def test_local_model_cards_load_from_the_directory(tmp_path: Path):
    adapter = render_model_card(qlora_info(model_id=str(tmp_path / "out"))).text
    assert f'model_id = "{tmp_path}/out"' in adapter and "snapshot_download" not in adapter
    assert f'AutoModelForCausalLM.from_pretrained("{tmp_path}/out/merged")' in adapter
    merged = render_model_card(qlora_info(model_id=str(tmp_path / "out"), adapter=False, subfolder="merged",
                                          merged_subfolder=None)).text
    assert f'model_id = "{tmp_path}/out/merged"' in merged and "snapshot_download" not in merged


@pytest.mark.parametrize(("batch", "total"), [
    ({"per_device": 4, "gradient_accumulation": 2, "devices": 1}, 8),
    ({"per_device": 2, "gradient_accumulation": 128, "devices": 2}, 512),
    ({"per_device": 1, "gradient_accumulation": 4, "devices": 8}, 32),
])
def test_global_batch_is_per_device_times_accumulation_times_devices(batch, total):
    assert global_batch(batch) == total
    text = render_model_card(qlora_info(batch=batch)).text
    devices = "device" if batch["devices"] == 1 else "devices"
    assert (f"**Global batch:** {total} = {batch['per_device']} per device × "
            f"{batch['gradient_accumulation']} gradient accumulation × {batch['devices']} {devices}") in text


@pytest.mark.parametrize("bad", [0, -1, 2.5, None, True])
def test_global_batch_refuses_non_positive_integers(bad):
    with pytest.raises(ValueError, match="positive integer"):
        global_batch({"per_device": 4, "gradient_accumulation": bad, "devices": 1})


def test_bad_info_is_refused_with_the_field_names():
    with pytest.raises(ValueError, match=r"lacks \['batch'\]"):
        render_model_card({"model_id": "a/b", "finetuning": "lora"})
    with pytest.raises(ValueError, match="unknown model card fields \\['lora_rank'\\]"):
        render_model_card({**qlora_info(), "lora_rank": 8})
    with pytest.raises(ValueError, match="finetuning must be one of"):
        render_model_card(qlora_info(finetuning="prefix-tuning"))
    assert "batch" in MODEL_CARD_FIELDS


def test_hub_ids_only():
    assert hub_id_or_none("my-org/base-coder") == "my-org/base-coder"
    for value in ("octopack-tiny", "rows.jsonl", "a/b/c.jsonl", "/abs/path", "bad id/x", None, 3):
        assert hub_id_or_none(value) is None, value


def test_describe_finetuning_lora_flags():
    text = describe_finetuning("lora", {"r": 8, "target_modules": "all-linear", "use_dora": True}, None)
    assert text == "LoRA adapter (r=8; target modules all-linear; DoRA) on the unquantised base model"


def test_hub_cards_imports_none_of_the_other_packages():
    probe = ("import sys, hub_cards, hub_cards.cli\n"
             "bad = [m for m in sys.modules if m.split('.')[0] in "
             "('octo_trainer', 'commitpack_dataset', 'humanevalpack_metric', 'torch', 'transformers')]\n"
             "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)

"""The tiny causal LM: loads with Auto classes, chats, generates, builds deterministically, caches.

``tiny_model_dir`` (tests/support/openai_fixtures.py) is the build in the default cache; tests that
need their own build write into ``tmp_path``. Each fresh build costs a few seconds of CPU, so the
tests share builds where they can.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from octo_trainer import tiny


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def model(tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir)


CONVERSATION = [
    {"role": "system", "content": "You write Python."},
    {"role": "user", "content": "Add two numbers."},
    {"role": "assistant", "content": "def add(a, b):\n    return a + b"},
]


def test_importing_octo_trainer_stays_light():
    code = (
        "import sys, octo_trainer, octo_trainer.tiny\n"
        "print(sorted({'torch', 'transformers', 'tokenizers'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_loads_with_auto_classes(tiny_model_dir, tokenizer, model):
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 2
    assert model.config.tie_word_embeddings
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight
    assert len(tokenizer) == model.config.vocab_size == tiny.VOCAB_SIZE
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>"
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert model.generation_config.eos_token_id == [tokenizer.eos_token_id, im_end]
    code = "def add(a, b):\n    return a + b\n"
    assert tokenizer.decode(tokenizer(code)["input_ids"]) == code  # byte-level: lossless
    assert len(tokenizer(code)["input_ids"]) < len(code) / 2  # and actually trained on code


def test_chat_template_renders_chatml_with_generation_markers(tokenizer):
    text = tokenizer.apply_chat_template(CONVERSATION, tokenize=False)
    assert text == (
        "<|im_start|>system\nYou write Python.<|im_end|>\n"
        "<|im_start|>user\nAdd two numbers.<|im_end|>\n"
        "<|im_start|>assistant\ndef add(a, b):\n    return a + b<|im_end|>\n"
    )
    prompt = tokenizer.apply_chat_template(
        CONVERSATION[:2], tokenize=False, add_generation_prompt=True
    )
    assert prompt.endswith("<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n")
    assert re.search(r"{%-?\s*generation\s*-?%}", tokenizer.chat_template)
    assert re.search(r"{%-?\s*endgeneration\s*-?%}", tokenizer.chat_template)

    encoded = tokenizer.apply_chat_template(
        CONVERSATION, return_dict=True, return_assistant_tokens_mask=True
    )
    assistant = [i for i, m in zip(encoded["input_ids"], encoded["assistant_masks"]) if m]
    assert tokenizer.decode(assistant) == "def add(a, b):\n    return a + b<|im_end|>"


def test_chat_template_suits_trl_assistant_only_loss(tokenizer):
    from trl.chat_template_utils import has_generation_markers, is_chat_template_stop_token_trained

    assert has_generation_markers(tokenizer.chat_template)
    assert is_chat_template_stop_token_trained(tokenizer)


def test_generate(tokenizer, model):
    inputs = tokenizer.apply_chat_template(
        CONVERSATION[:2], add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    output = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    new_tokens = output[0, inputs["input_ids"].shape[1] :]
    assert 1 <= len(new_tokens) <= 12
    assert isinstance(tokenizer.decode(new_tokens, skip_special_tokens=True), str)


def test_training_lowered_the_loss_below_chance(tokenizer, model):
    import math

    import torch

    text = Path(shutil.__file__).read_text()[:4000]  # stdlib code the corpus does not contain
    ids = tokenizer(text, return_tensors="pt")["input_ids"][:, :256]
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss.item()
    assert loss < math.log(tiny.VOCAB_SIZE) - 1.0


def test_build_is_deterministic_across_processes_and_concurrent_builders(tiny_model_dir, tmp_path):
    """Two CLI processes race to build the same directory; the result equals the cached build."""
    target = tmp_path / "model"
    command = [sys.executable, "-m", "octo_trainer.tiny", "--output-dir", str(target)]
    builders = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [builder.communicate(timeout=600) for builder in builders]
    for builder, (stdout, stderr) in zip(builders, outputs):
        assert builder.returncode == 0, stderr
        assert stdout.strip() == str(target.resolve())

    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.lock", "model"]  # no leftovers
    assert _file_bytes(target) == _file_bytes(tiny_model_dir)
    assert _weights(target).keys() == _weights(tiny_model_dir).keys()
    for name, tensor in _weights(target).items():
        assert tensor.equal(_weights(tiny_model_dir)[name]), name


def test_warm_cache_is_reused_quickly(tiny_model_dir):
    before = {p.name: p.stat().st_mtime_ns for p in tiny_model_dir.iterdir()}
    started = time.perf_counter()
    assert tiny.build_tiny_model() == tiny_model_dir
    assert tiny.build_tiny_model(tiny_model_dir) == tiny_model_dir
    assert time.perf_counter() - started < 1.0
    assert {p.name: p.stat().st_mtime_ns for p in tiny_model_dir.iterdir()} == before


def _truncate_weights(directory: Path) -> None:
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])


def _delete_tokenizer(directory: Path) -> None:
    (directory / "tokenizer.json").unlink()


def _garble_stamp(directory: Path) -> None:
    (directory / tiny.STAMP_FILE).write_text("{not json")


def _stale_recipe(directory: Path) -> None:
    stamp = json.loads((directory / tiny.STAMP_FILE).read_text())
    stamp["recipe_key"] = "0" * 64
    (directory / tiny.STAMP_FILE).write_text(json.dumps(stamp))


@pytest.mark.parametrize(
    "damage", [_truncate_weights, _delete_tokenizer, _garble_stamp, _stale_recipe]
)
def test_damaged_or_stale_builds_are_detected(tiny_model_dir, tmp_path, damage):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    key = tiny.recipe_key(tiny._corpus_documents(None))
    assert tiny._is_complete(copy, key)
    damage(copy)
    assert not tiny._is_complete(copy, key)


def test_damaged_build_is_rebuilt(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    _truncate_weights(copy)
    (copy / "stray-file").write_text("left over")

    assert tiny.build_tiny_model(copy) == copy
    assert _file_bytes(copy) == _file_bytes(tiny_model_dir)


def test_partial_default_cache_dir_is_rebuilt(tiny_model_dir, tmp_path, monkeypatch):
    """A half-copied cache dir without a stamp at the default location is ours to replace."""
    monkeypatch.setenv("OCTOPACK_CACHE_DIR", str(tmp_path / "cache"))
    partial = tmp_path / "cache" / tiny.MODEL_DIR_NAME
    partial.mkdir(parents=True)
    shutil.copy(tiny_model_dir / "config.json", partial)
    (tmp_path / "cache" / f".{tiny.MODEL_DIR_NAME}.tmp-dead").mkdir()  # a killed builder's

    assert tiny.build_tiny_model() == partial.resolve()
    assert _file_bytes(partial) == _file_bytes(tiny_model_dir)
    assert not list((tmp_path / "cache").glob(".*.tmp-*"))


def test_refuses_to_replace_a_foreign_directory(tmp_path):
    foreign = tmp_path / "my-notes"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    for force in (False, True):
        with pytest.raises(FileExistsError):
            tiny.build_tiny_model(foreign, force=force)
    assert (foreign / "notes.txt").read_text() == "precious"


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("OCTOPACK_CACHE_DIR", str(tmp_path))
    assert tiny.default_model_dir() == tmp_path / "tiny-model"
    monkeypatch.delenv("OCTOPACK_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tiny.default_model_dir() == tmp_path / "home" / ".cache" / "octopack" / "tiny-model"


def _file_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _weights(directory: Path):
    from safetensors.torch import load_file

    return load_file(directory / "model.safetensors")

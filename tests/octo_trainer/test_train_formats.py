"""The tiny recipe trains on each of TRL's dataset formats, and user errors are one line.

Training: one short run (2 steps) per format the sources speak besides instruction/response --
prompt-completion (real OASST rows, as released for OctoCoder), conversational ``messages``,
conversational prompt-completion, and plain ``text`` given a column map on the command line --
checking which tokens carry the loss. Errors: the real ``octopack-sft`` console script in a
subprocess, one per class of mistake; each fails before any model is loaded, with exit status 2,
one ``octopack-sft: error: ...`` line naming the fix, and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from octo_trainer.card_info import MODEL_CARD
from octo_trainer.train import cli, parse_args, run
from tests.octo_trainer.test_data import chats, oasst_rows, write_jsonl

QUICK = ["--max_steps", "2", "--max_length", "96", "--logging_steps", "1"]
SCRIPT = Path(sys.executable).with_name("octopack-sft")


def tiny_run(tmp_path: Path, tiny_model_dir: Path, datasets: str, *flags: str):
    args = parse_args(["--config", "tiny-cpu/lora", "--model_name_or_path", str(tiny_model_dir),
                       "--datasets", datasets, "--output_dir", str(tmp_path / "out"), *QUICK, *flags])
    return run(*args)


def labelled_texts(trainer, count: int = 4) -> list[tuple[str, str]]:
    """(whole text, labelled text) of the first ``count`` rows of a collated batch."""
    tokenizer = trainer.processing_class
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(count)])
    pairs = []
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        pairs.append((tokenizer.decode(ids[mask.bool()].tolist()),
                      tokenizer.decode(ids[labels != -100].tolist())))
    return pairs


def test_prompt_completion_rows_train_as_they_are_on_the_completion(tmp_path, tiny_model_dir, test_data_dir):
    rows = oasst_rows(test_data_dir, 16)
    trainer = tiny_run(tmp_path, tiny_model_dir, write_jsonl(tmp_path / "oasst.jsonl", rows))
    assert trainer.state.global_step == 2
    prompts = {row["prompt"] for row in rows}
    for row in trainer.train_dataset:
        assert row["prompt"] in prompts  # not wrapped in the recipe's magicoder format
    eos = trainer.processing_class.eos_token
    for whole, labelled in labelled_texts(trainer):
        row = next(row for row in rows if whole.startswith(row["prompt"]))
        # the prompt exactly as in the data, unlabelled; the completion labelled (cut at max_length)
        assert whole == row["prompt"] + labelled and (row["completion"] + eos).startswith(labelled)
    card = ModelCard.load(tmp_path / "out" / MODEL_CARD)
    assert "rows: prompt-completion" in card.text and "magicoder" not in card.data.tags


def test_messages_train_on_every_token_with_the_chat_template(tmp_path, tiny_model_dir):
    trainer = tiny_run(tmp_path, tiny_model_dir, write_jsonl(tmp_path / "chat.jsonl", chats(8)),
                       "--loss_on_prompt", "true")
    assert trainer.state.global_step == 2 and "messages" in trainer.train_dataset.column_names
    for whole, labelled in labelled_texts(trainer):
        assert whole == labelled and whole.startswith("<|im_start|>system\nBe brief.<|im_end|>")


def test_conversational_prompt_completion_rows_train_on_the_completion(tmp_path, tiny_model_dir):
    rows = [{"prompt": [{"role": "user", "content": f"add {i} and 1"}],
             "completion": [{"role": "assistant", "content": f"{i + 1}"}]} for i in range(8)]
    trainer = tiny_run(tmp_path, tiny_model_dir, write_jsonl(tmp_path / "conv.jsonl", rows))
    assert trainer.state.global_step == 2
    for whole, labelled in labelled_texts(trainer):
        assert "add " in whole and "add " not in labelled and "<|im_start|>user" not in labelled
        assert labelled.strip().removesuffix("<|im_end|>").strip().isdigit()


def test_text_rows_mapped_on_the_command_line_train_as_language_modelling(tmp_path, tiny_model_dir):
    rows = [{"body": f"def add_{i}(x):\n    return x + {i}\n", "id": i} for i in range(8)]
    path = write_jsonl(tmp_path / "code.jsonl", rows)
    out = tmp_path / "out"
    assert cli(["--config", "tiny-cpu/lora", "--model_name_or_path", str(tiny_model_dir),
                "--datasets", f"{path}:text=body", "--output_dir", str(out), *QUICK]) == 0
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    card = ModelCard.load(out / MODEL_CARD)
    assert "rows: language modelling" in card.text and "text: body" in card.text


# --- user errors through the real console script: one line, exit 2, before any model loads ---


def octopack_sft(tmp_path: Path, *args: str) -> str:
    """Run ``octopack-sft args`` in ``tmp_path``; assert a one-line user error; return it."""
    assert SCRIPT.is_file(), "octopack-sft is not installed: pip install -e ."
    result = subprocess.run([str(SCRIPT), *args, "--output_dir", str(tmp_path / "out")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("octopack-sft: error: ")]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0]), result.stderr[-3000:]
    assert not (tmp_path / "out").exists()  # nothing was trained or written
    return errors[0].removeprefix("octopack-sft: error: ")


def test_a_missing_column_names_the_columns_that_exist(tmp_path):
    write_jsonl(tmp_path / "qa.jsonl", [{"question": "q", "answer": "a"}])
    message = octopack_sft(tmp_path, "--config", "tiny-cpu/lora",
                           "--datasets", "qa.jsonl:instruction=questoin,response=answer")
    assert message == (
        "qa.jsonl: no column 'questoin' for instruction (did you mean 'question'?); its columns are "
        "question, answer: map them, e.g. --datasets qa.jsonl:instruction=question,response=answer "
        "(roles instruction, response, context are rendered with the prompt format; TRL's prompt, "
        "completion, messages, text are taken as they are)"
    )


def test_an_unknown_recipe_key_names_the_closest_key(tmp_path):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("model_name_or_path: octopack-tiny\nuse_cpu: true\nlerning_rate: 0.001\n")
    message = octopack_sft(tmp_path, "--config", str(recipe))
    assert message.startswith(
        f"unknown recipe key 'lerning_rate' (did you mean 'learning_rate'?) in {recipe}: keys are fields of")


def test_a_bad_value_names_the_field(tmp_path):
    message = octopack_sft(tmp_path, "--config", "tiny-cpu/lora", "--max_steps", "many")
    assert message.startswith("argument --max_steps/--max-steps: invalid int value: 'many'")


def test_an_unknown_recipe_name_lists_the_recipes(tmp_path):
    message = octopack_sft(tmp_path, "--config", "tiny-cpu/lorra")
    assert message.startswith("--config 'tiny-cpu/lorra' is neither a recipe file nor a shipped recipe "
                              "(did you mean 'tiny-cpu/lora'?)")
    assert "magicoder/qlora" in message and "tiny-cpu/commitpackft-lora" in message


@pytest.mark.parametrize("flags, expected", [
    (["--lerning_rate", "0.1"], "unknown option --lerning_rate (did you mean --learning_rate?)"),
    (["--datasets", "rows.jsonl:instrucion=q"], "argument --datasets: data source 'rows.jsonl:instrucion=q': "
                                                "unknown key 'instrucion' (did you mean 'instruction'?)"),
    (["--prompt_format", "magicodr"], "unknown prompt_format 'magicodr' (did you mean 'magicoder'?)"),
    (["--use_peft", "false", "--merge_adapter", "true"], "merge_adapter needs a LoRA run"),
])
def test_other_mistakes_are_one_line_before_training(tmp_path, capsys, flags, expected):
    """More classes of mistake, in process (no subprocess each): what cli() prints, and exit 2."""
    with pytest.raises(SystemExit) as exited:
        cli(["--config", "tiny-cpu/lora", "--output_dir", str(tmp_path / "out"), *flags])
    assert exited.value.code == 2
    assert f"octopack-sft: error: {expected}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

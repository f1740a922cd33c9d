"""Prompt formats render exactly as the HumanEvalPack harness renders them."""

import pytest

from octo_trainer.formats import FORMATS, get_format


def test_octocoder_puts_context_after_instruction_and_strips():
    prompt = get_format("octocoder").prompt("Fix bugs in f.", "def f():\n    return 1\n", "def f():\n")
    assert prompt == "Question: Fix bugs in f.\ndef f():\n    return 1\n\n\nAnswer:\ndef f():"


def test_instruct_puts_context_first():
    assert get_format("instruct").prompt("Do it.", "ctx", "base\n") == "ctx\nDo it.\n\nbase"


def test_wizardcoder_and_starchat_strings():
    wizard = get_format("wizardcoder").prompt("Write f.", None, "def f():")
    assert wizard.startswith("Below is an instruction that describes a task.")
    assert wizard.endswith("### Instruction:\nWrite f.\n\n### Response:\ndef f():")
    starchat = get_format("starchat")
    assert starchat.prompt("hi", None, "") == "<|system|>\n<|end|>\n<|user|>\nhi<|end|>\n<|assistant|>"
    assert "<|end|>" in starchat.stop_words


def test_continue_rejects_context_and_unknown_format_names_the_choices():
    with pytest.raises(ValueError, match="context"):
        get_format("continue").prompt("x", "context", "base")
    with pytest.raises(ValueError, match="octocoder"):
        get_format("prompt")


def test_training_split_joins_to_the_full_text():
    for fmt in FORMATS.values():
        prompt, completion = fmt.split("Write f.", "def f(): pass")
        assert (prompt + completion).endswith("def f(): pass")
        assert "Write f." in prompt or fmt.name == "continue"


def test_training_forms_differ_from_evaluation_forms_where_the_recipes_say_so():
    octo = get_format("octocoder")
    assert octo.split("Fix f.", "\ndef f(): pass") == ("Question: Fix f.\n\nAnswer: ", "\ndef f(): pass")
    wizard = get_format("wizardcoder")
    prompt, completion = wizard.split("Do it.", "done", "the input")
    assert prompt.startswith("Below is an instruction that describes a task, paired with an input")
    assert prompt.endswith("### Instruction:\nDo it.\n\n### Input:\nthe input\n\n### Response:")
    assert completion == "done"
    assert wizard.split("Do it.", "done", "")[0].endswith("### Instruction:\nDo it.\n\n### Response:")
    magic = get_format("magicoder").split("Do it.", "done")
    assert magic[0].endswith("@@ Instruction\nDo it.\n\n@@ Response\n")

"""Prompt formats render exactly as the HumanEvalPack harness renders them.

The expected strings are transcribed from bigcode-evaluation-harness ``humanevalpack.py``
(``HumanEvalPack.get_prompt`` and ``HumanEvalFixBase.get_prompt``), not built from our constants,
so a changed character in a template fails here.
"""

import pytest

from octo_trainer.formats import FORMATS, get_format

INSTRUCTION = "Fix bugs in f."
CONTEXT = "def f():\n    return 2\n"
PREFILL = "def f():\n"
DEEPSEEK = ("You are an AI programming assistant, utilizing the Deepseek Coder model, developed by "
            "Deepseek Company, and you only answer questions related to computer science. For "
            "politically sensitive questions, security and privacy issues, and other non-computer "
            "science questions, you will refuse to answer")
ALPACA = ("Below is an instruction that describes a task. Write a response that appropriately "
          "completes the request.")

#: (format, instruction + context + prefill rendered by the harness's generic get_prompt)
WITH_CONTEXT = {
    "instruct": "def f():\n    return 2\n\nFix bugs in f.\n\ndef f():",
    "octocoder": "Question: Fix bugs in f.\ndef f():\n    return 2\n\n\nAnswer:\ndef f():",
    "octogeex": "Question: Fix bugs in f.\ndef f():\n    return 2\n\nAnswer:\ndef f():",
    "starchat": "<|system|>\n<|end|>\n<|user|>\nFix bugs in f.\ndef f():\n    return 2\n<|end|>\n"
                "<|assistant|>\ndef f():",
    "starcodercommit": "<commit_before><commit_msg>Fix bugs in f.\ndef f():\n    return 2\n"
                       "<commit_after>def f():",
    "instructcodet5p": ALPACA + "\n\n### Instruction:\nFix bugs in f.\ndef f():\n    return 2\n"
                       "\n\n### Response:def f():",
    "wizardcoder": ALPACA + "\n\n### Instruction:\nFix bugs in f.\ndef f():\n    return 2\n\n\n"
                   "### Response:\ndef f():",
    "codellama": "[INST] Fix bugs in f.\ndef f():\n    return 2 [/INST] def f():",
    "deepseek": DEEPSEEK + "\n### Instruction:\nFix bugs in f.\ndef f():\n    return 2\n"
                "### Response:\ndef f():",
    "tulu": "<|user|>\nFix bugs in f.\ndef f():\n    return 2\n\n<|assistant|>\ndef f():",
    "gritlm": "<|user|>\nFix bugs in f.\ndef f():\n    return 2\n\n<|assistant|>\ndef f():",
    "zephyr": "<|user|>\nFix bugs in f.\ndef f():\n    return 2\n</s>\n<|assistant|>\ndef f():",
    "yi": "<|im_start|>user\nFix bugs in f.\ndef f():\n    return 2\n<|im_end|>\n"
          "<|im_start|>assistant\ndef f():",
    "codegemma": "<start_of_turn>user\nFix bugs in f.\ndef f():\n    return 2\n<end_of_turn>\n"
                 "<start_of_turn>model\ndef f():",
    "codellama-70b": "Source: user\n\n Fix bugs in f.\ndef f():\n    return 2 Source: assistant\n"
                     "Destination: user \n\ndef f():",
    "aurora-m": "### Instruction:\nFix bugs in f.\ndef f():\n    return 2\n\n### Response:\ndef f():",
}
#: HumanEvalFixBase's own forms (file name: entry point + the language's extension)
FIX_FORMS = {
    "starcodercommit": "<commit_before>def f():\n    return 2\n<commit_msg>Fix bugs in f."
                       "<commit_after>def f():",
    "file": "<file_name>\nf.py\n<commit_before>\ndef f():\n    return 2\n\n<commit_msg>\n"
            "Fix bugs in f.<commit_after>\ndef f():",
    "diff": "<commit_before>def f():\n    return 2\n<commit_msg>Fix bugs in f.<commit_after>",
    "diff-carper": "<NME> f.py\n<BEF> def f():\n    return 2\n\n<MSG> Fix bugs in f.\n<DFF>",
    "issue": "<issue_start>username_0: Fix bugs in f.\n\n```def f():\n    return 2\n```\n"
             "Upvotes: 100<issue_comment>username_1: Sure, here is the fixed code.\n\n```def f():",
}


@pytest.mark.parametrize("name", sorted(WITH_CONTEXT))
def test_every_harness_format_renders_character_for_character(name):
    assert get_format(name).prompt(INSTRUCTION, CONTEXT, PREFILL) == WITH_CONTEXT[name]


@pytest.mark.parametrize("name", sorted(FIX_FORMS))
def test_fix_forms_of_the_commit_formats(name):
    assert get_format(name).fix_prompt(INSTRUCTION, CONTEXT, PREFILL, file_name="f.py") == FIX_FORMS[name]


def test_chatml_aliases_are_one_string_and_formats_without_a_fix_form_use_the_generic_one():
    for alias in ("starchat2", "codeqwen"):
        assert get_format(alias).prompt(INSTRUCTION, CONTEXT, PREFILL) == WITH_CONTEXT["yi"]
    assert get_format("octocoder").fix_prompt(INSTRUCTION, CONTEXT, PREFILL) == WITH_CONTEXT["octocoder"]


def test_no_context_and_the_encoder_prompt_leave_out_what_is_absent():
    assert get_format("octocoder").prompt("Write f.", None, PREFILL) == "Question: Write f.\n\nAnswer:\ndef f():"
    assert get_format("instruct").prompt("Do it.", "ctx", "base\n") == "ctx\nDo it.\n\nbase"
    # the encoder of an encoder-decoder model sees the prompt without the prefilled code
    assert get_format("instructcodet5p").encoder_prompt("Write f.") == (
        ALPACA + "\n\n### Instruction:\nWrite f.\n\n### Response:")


def test_stop_words_follow_the_harness():
    python = ["\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\nassert"]
    assert get_format("octocoder").eval_stop_words(python) == [*python, "<|endoftext|>"]
    assert get_format("starchat").eval_stop_words(python) == [*python, "<|end|>", "<|endoftext|>"]
    assert get_format("issue").eval_stop_words(python) == [*python, "```", "<|endoftext|>"]
    # the diff formats replace the language's stop words
    assert get_format("diff").eval_stop_words(python) == [
        "<commit_before>", "<commit_msg>", "<commit_after>", "<|endoftext|>"]
    assert get_format("diff-carper").eval_stop_words(python) == [
        "<BEF>", "<MSG>", "<DFF>", "\\ No newline at end of file", "<|endoftext|>"]
    # starcodercommit is not an "edit" prompt: the harness adds no commit stop words
    assert get_format("starcodercommit").eval_stop_words(python) == [*python, "<|endoftext|>"]


def test_fix_only_formats_refuse_other_tasks_and_unknown_names_list_the_choices():
    for name in ("file", "diff", "diff-carper", "issue"):
        with pytest.raises(ValueError, match="Fix"):
            get_format(name).prompt("Write f.", None, PREFILL)
    with pytest.raises(ValueError, match="context"):
        get_format("continue").prompt("x", "context", "base")
    with pytest.raises(ValueError, match="octocoder") as error:
        get_format("prompt")
    assert "codegemma" in str(error.value) and "chat" in str(error.value)


def test_chat_format_renders_the_tokenizers_template(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    with pytest.raises(ValueError, match="tokenizer"):
        get_format("chat").prompt("Write f.", None, PREFILL)
    chat = get_format("chat", tokenizer=tokenizer)
    prompt = chat.prompt("Write f.", None, PREFILL)
    assert prompt == "<|im_start|>user\nWrite f.<|im_end|>\n<|im_start|>assistant\ndef f():"
    assert chat.prompt("Write f.") == "<|im_start|>user\nWrite f.<|im_end|>\n<|im_start|>assistant"
    no_template = type("T", (), {"chat_template": None, "name_or_path": "plain"})()
    with pytest.raises(ValueError, match="has none"):
        get_format("chat", tokenizer=no_template)


def test_training_split_joins_to_the_full_text(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    for name in FORMATS:
        fmt = get_format(name, tokenizer=tokenizer)
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

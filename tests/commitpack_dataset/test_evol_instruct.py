"""Evol-Instruct's pieces: each elimination rule at its boundary (moving a threshold by one or
dropping a wording fails a test), the prompts of both modes, the method choice, the judge's
verdicts and the seed formats (Code Alpaca, messages, prompt/completion, a column map)."""

import json
from collections import Counter

import pytest

from commitpack_dataset.evol_instruct import (
    CODE_METHODS,
    GENERAL_METHODS,
    EvolInstruct,
    check_answer,
    check_instruction,
    choose_method,
    evolution_prompt,
    judge_prompt,
    judge_verdict,
    make_seeds,
    prompts_fingerprint,
)
from commitpack_dataset.evol_instruct.prompts import PROMPT_WORDING

PARENT = "Write a function that adds two numbers."


def words(n: int, word: str = "code") -> str:
    return " ".join([word] * n)


def test_instruction_rules_at_their_boundaries():
    assert check_instruction("", 5, PARENT) == "instruction_empty"
    assert check_instruction(words(3), 5, PARENT) == "instruction_too_few_words"
    assert check_instruction(words(4), 5, PARENT) == ""
    assert check_instruction("Écrire " + words(4), 5, PARENT) == "instruction_non_ascii_start"
    assert check_instruction(words(4), 999, PARENT) == ""
    assert check_instruction(words(4), 1000, PARENT) == "instruction_too_many_tokens"
    for wording in PROMPT_WORDING:  # any case, with or without the #markers#
        assert check_instruction(f"Rewrite the {wording.upper()} below carefully.", 5, PARENT) == "copied_prompt_wording"
    assert check_instruction("#Rewritten Test#\nAdd numbers without the plus sign.", 5, PARENT) == "copied_prompt_wording"
    assert check_instruction("Write a  function that\nadds two numbers.", 5, PARENT) == "same_as_parent"
    assert check_instruction("Write a function that adds two numbers in C.", 5, PARENT) == ""
    # the switches
    assert check_instruction(words(2), 1000, PARENT, evol_teacher_rules=False) == ""
    assert check_instruction("The given prompt asks for more.", 5, PARENT, wizardlm_rules=False) == ""


def test_answer_rules_at_their_boundaries():
    long_ok = words(10, "value")
    assert check_answer("", 10) == "answer_empty"
    assert check_answer(words(3), 10) == "answer_too_few_words"
    assert check_answer("¿" + long_ok, 10) == "answer_non_ascii_start"
    assert check_answer(long_ok, 1999) == ""
    assert check_answer(long_ok, 2000) == "answer_too_many_tokens"
    sorry = "Sorry, " + words(78, "value")  # 79 words
    assert check_answer(sorry, 10) == "answer_sorry"
    assert check_answer(sorry + " value", 10) == ""  # 80 words: a long answer may apologise
    assert check_answer("I am SORRY but here it is anyway, fine.", 10) == "answer_sorry"
    assert check_answer("It is what it is, and so on: the, a, an!", 10) == "answer_only_stop_words"
    assert check_answer("It is what it is, and so on: x = 1", 10) == ""
    assert check_answer("Sorry, " + words(4), 10, wizardlm_rules=False) == ""


def test_prompts_follow_the_structure_of_both_modes():
    code = evolution_prompt("code", "erroneous_code", "  Reverse a list.  ")
    assert code.startswith("Rewrite the programming test question below so that it becomes a little more difficult.")
    assert f"\n{CODE_METHODS['erroneous_code']}\n" in code
    assert code.endswith("#Given Test#\nReverse a list.\n\n#Rewritten Test#\n")
    depth = evolution_prompt("general", "depth_concretize", "Plan a trip.")
    assert depth.startswith("You are a prompt rewriter.") and "Replace general concepts" in depth
    assert depth.endswith("#The Given Prompt#:\nPlan a trip.\n#Rewritten Prompt#:\n")
    breadth = evolution_prompt("general", "breadth", "Plan a trip.")
    assert breadth.startswith("You are a prompt creator.")
    assert breadth.endswith("#Given Prompt#:\nPlan a trip.\n#Created Prompt#:\n")
    judge = judge_prompt("first one", "second one")
    assert "First instruction:\nfirst one" in judge and "Second instruction:\nsecond one" in judge
    assert "Equal or Not Equal" in judge
    assert prompts_fingerprint().startswith("sha256:") and len(prompts_fingerprint()) == 71
    with pytest.raises(ValueError, match="unknown Evol-Instruct mode 'fancy'"):
        choose_method("fancy", 1, 1, "x")


def test_method_choice_is_per_sample_deterministic_and_covers_every_method():
    picks = [choose_method("code", 42, 1, f"row{i}") for i in range(200)]
    assert picks == [choose_method("code", 42, 1, f"row{i}") for i in range(200)]
    assert set(picks) == set(CODE_METHODS)
    assert picks != [choose_method("code", 43, 1, f"row{i}") for i in range(200)]
    assert picks != [choose_method("code", 42, 2, f"row{i}") for i in range(200)]
    assert {choose_method("general", 42, 1, f"row{i}") for i in range(200)} == set(GENERAL_METHODS)
    counts = Counter(picks)  # uniform: each method near 40 of 200
    assert min(counts.values()) > 20


@pytest.mark.parametrize("answer, verdict", [
    ("Equal", "equal"), ("equal.", "equal"), ("**Equal**", "equal"), ("Not Equal", "not_equal"),
    ("not equal.", "not_equal"), ("Not-Equal", "not_equal"), ("NOT EQUAL\nbecause...", "not_equal"),
    ("They are different", "unclear"), ("", "unclear")])
def test_judge_verdicts(answer, verdict):
    assert judge_verdict(answer) == verdict


def test_seed_formats():
    alpaca = [{"instruction": " Sum the numbers. ", "input": " [1, 2] ", "output": " 3 "},
              {"instruction": "Print hi.", "input": "", "output": "print('hi')"},
              {"instruction": "", "input": "x", "output": "y"}]
    drops = Counter()
    seeds = make_seeds(alpaca, drops=drops, source="ca")
    assert [(s.index, s.instruction, s.response, s.source) for s in seeds] == [
        (0, "Sum the numbers.\n[1, 2]", "3", "ca:0"), (1, "Print hi.", "print('hi')", "ca:1")]
    assert drops == {"seed_empty_instruction": 1}
    messages = [{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q1"},
                              {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]}]
    assert [(s.instruction, s.response) for s in make_seeds(messages)] == [("Q1", "A1")]
    pairs = [{"prompt": "P", "completion": "C"}]
    assert [(s.instruction, s.response) for s in make_seeds(pairs)] == [("P", "C")]
    mapped = [{"question": "Why?", "context": "ctx", "answer": "Because."}]
    seeds = make_seeds(mapped, seed_columns={"instruction": "question", "input": "context", "output": "answer"})
    assert [(s.instruction, s.response) for s in seeds] == [("Why?\nctx", "Because.")]
    assert [s.index for s in make_seeds(alpaca * 3, seed_start=2, max_seeds=3)] == [3, 4]  # row 5 is empty
    with pytest.raises(ValueError, match="pass seed_columns="):
        make_seeds([{"question": "q"}])
    with pytest.raises(ValueError, match="no column"):
        make_seeds(mapped, seed_columns={"instruction": "prompt"})


def test_code_alpaca_2k_seeds_load_from_the_json_file(test_data_dir):
    import datasets

    from commitpack_dataset.oss_instruct.seeds import load_seed_dataset

    path = test_data_dir / "seeds" / "code_alpaca_2k.json"
    rows = load_seed_dataset(str(path))
    assert isinstance(rows, datasets.Dataset) and len(rows) == 2017
    seeds = make_seeds(rows)
    raw = json.loads(path.read_text())
    with_input = next(i for i, r in enumerate(raw) if r["input"].strip())
    assert seeds[with_input].instruction == f"{raw[with_input]['instruction'].strip()}\n{raw[with_input]['input'].strip()}"
    assert len(seeds) == sum(1 for r in raw if r["instruction"].strip())


def test_config_errors_name_the_fix(tmp_path):
    with pytest.raises(ValueError, match="failed_evolutions must be 'drop'"):
        EvolInstruct(config_name="code", cache_dir=str(tmp_path), failed_evolutions="retry")
    with pytest.raises(ValueError, match="unknown seed_format"):
        EvolInstruct(config_name="code", cache_dir=str(tmp_path), seed_format="csv")
    builder = EvolInstruct(config_name="general", cache_dir=str(tmp_path))
    assert builder.config.mode == "general"
    with pytest.raises(ValueError, match="Evol-Instruct needs seeds"):
        builder.download_and_prepare()

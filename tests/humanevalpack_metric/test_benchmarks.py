"""HumanEval / MBPP loaders (local release files and a local Hub) and docstring extraction."""

import gzip
import json

import pytest

from humanevalpack_metric.benchmarks import (
    HUMANEVAL_FIELDS,
    HUMANEVAL_HUB,
    MBPP_FIELDS,
    MBPP_HUB,
    humaneval_docstring,
    load_humaneval,
    load_mbpp,
)


@pytest.fixture(scope="module")
def humaneval_path(test_data_dir):
    return test_data_dir / "benchmarks" / "HumanEval.jsonl.gz"


@pytest.fixture(scope="module")
def mbpp_path(test_data_dir):
    return test_data_dir / "benchmarks" / "mbpp.jsonl"


def test_humaneval_from_the_release_file(humaneval_path):
    problems = load_humaneval(humaneval_path)
    assert [p["task_id"] for p in problems] == [f"HumanEval/{i}" for i in range(164)]
    assert all(tuple(p) == HUMANEVAL_FIELDS for p in problems)
    assert problems[53]["canonical_solution"] == "    return x + y\n"
    assert problems[0]["entry_point"] == "has_close_elements"


def test_docstrings_are_the_last_triple_quoted_block(humaneval_path):
    problems = load_humaneval(humaneval_path)
    docstrings = [humaneval_docstring(p["prompt"]) for p in problems]
    assert all(d and d == d.strip() and d in p["prompt"] for d, p in zip(docstrings, problems))
    assert not any('"""' in d or "'''" in d for d in docstrings)
    assert docstrings[0].startswith("Check if in given list of numbers, are any two numbers closer")
    assert docstrings[0].endswith(">>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)\n    True")
    # two docstrings in the prompt (a helper first): the task's own is the second
    assert docstrings[10].startswith("Find the shortest palindrome")
    # ''' quotes (17 prompts, the first HumanEval/69), and the stray quote of HumanEval/142's """"
    assert "'''" in problems[69]["prompt"] and docstrings[69].startswith("You are given a non-empty list")
    assert docstrings[142].startswith("This function will take a list of integers.")
    for broken in ("def f():\n    pass\n", 'def f():\n    """open\n'):
        with pytest.raises(ValueError, match="docstring"):
            humaneval_docstring(broken)


def test_mbpp_test_split_from_a_crlf_ascii_escaped_file(mbpp_path):
    assert b"\r\n" in mbpp_path.read_bytes()[:2000] and b"\\u2019" in mbpp_path.read_bytes()
    problems = load_mbpp(mbpp_path)
    assert [p["task_id"] for p in problems] == list(range(11, 511))
    assert all(tuple(p) == MBPP_FIELDS for p in problems)
    first = problems[0]
    assert first["text"] == "Write a python function to remove first and last occurrence of a given character from the string."
    assert first["code"].startswith("def remove_Occ(s,ch): \r\n    for i in range(len(s)): \r\n")
    assert first["test_list"][0] == 'assert remove_Occ("hello","l") == "heo"'
    assert "\u2019" in next(p["text"] for p in problems if p["task_id"] == 122)
    assert len(load_mbpp(mbpp_path, split=None)) == 974
    assert [p["task_id"] for p in load_mbpp(mbpp_path, split="prompt")] == list(range(1, 11))
    with pytest.raises(ValueError, match="prompt, test, validation, train"):
        load_mbpp(mbpp_path, split="dev")


def test_bad_local_files_name_the_problem(tmp_path, mbpp_path):
    with pytest.raises(FileNotFoundError, match=r"\.jsonl\.gz file, or None"):
        load_humaneval(tmp_path / "missing.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"task_id": 1}\n{not json\n')
    with pytest.raises(ValueError, match=r"broken.jsonl:2: not a JSON line"):
        load_mbpp(broken)
    partial = tmp_path / "partial.jsonl.gz"
    with gzip.open(partial, "wt") as handle:
        handle.write(json.dumps({"task_id": "HumanEval/0", "prompt": "x"}) + "\n")
    with pytest.raises(ValueError, match="lacks the field.*canonical_solution"):
        load_humaneval(partial)
    few = tmp_path / "few.jsonl"
    few.write_text("".join(line + "\n" for line in mbpp_path.read_text().splitlines()[:100]))
    with pytest.raises(ValueError, match="expected 500 MBPP test problems .task_id 11-510., found 90"):
        load_mbpp(few)


def test_default_hub_datasets_load_through_datasets(local_hub, humaneval_path, mbpp_path):
    import datasets

    humaneval = load_humaneval(humaneval_path)
    datasets.Dataset.from_list(humaneval[::-1]).push_to_hub(HUMANEVAL_HUB, split="test")
    mbpp = load_mbpp(mbpp_path, split=None)
    features = datasets.Dataset.from_list(mbpp).features
    for split in ("test", "train"):
        rows = load_mbpp(mbpp_path, split=split)
        dataset = datasets.Dataset.from_list(rows, features=features)
        dataset.push_to_hub(MBPP_HUB, config_name="full", split=split)
    assert load_humaneval() == humaneval
    assert load_mbpp() == [p for p in mbpp if 11 <= p["task_id"] <= 510]
    assert load_mbpp(split="train")[0]["task_id"] == 601

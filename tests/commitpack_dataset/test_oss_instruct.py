"""OSS-Instruct's pure parts, rule by rule: the D.1 snippet rule and seeding, seed sources (files,
a real git repository, datasets), the prompt's structure, D.4 parsing reasons, D.5 dedup."""

import random

import datasets
import numpy as np
import pytest

from commitpack_dataset.oss_instruct import OSSInstruct, OSSInstructConfig, language_configs, parse_answer
from commitpack_dataset.oss_instruct.cleaning import shuffle_and_dedup
from commitpack_dataset.oss_instruct.prompt import SYSTEM_MESSAGE, code_blocks, messages, sft_view
from commitpack_dataset.oss_instruct.seeds import (
    Document,
    dataset_documents,
    extract_snippet,
    file_documents,
    make_seeds,
    repository_documents,
)
from tests.commitpack_dataset.gitrepo import GitRepo


def documents(count, lines=40):
    return [Document("".join(f"doc{d} line{i}\n" for i in range(lines)), f"d{d}") for d in range(count)]


def released_snippet(document, min_lines=1, max_lines=15):
    """The released script's draws, on the global ``random`` module."""
    lines = document.splitlines(keepends=True)
    start = random.choice(range(len(lines)))
    return "".join(lines[start:start + random.randint(min_lines, max_lines)])


def test_snippet_rule_and_chunked_seeding_match_the_released_script():
    docs = documents(2300)
    seeds = make_seeds(docs)  # 976, chunks of 1000, 1-15 lines, shuffle with 976
    expected = []
    for chunk in (0, 1000, 2000):
        random.seed(976 + chunk)
        expected += [released_snippet(d.content) for d in docs[chunk:chunk + 1000]]
    order = np.random.default_rng(976).permutation(len(docs))
    assert [s.raw_index for s in seeds] == order.tolist()
    assert [s.index for s in seeds] == list(range(len(docs)))
    assert [s.seed for s in seeds] == [expected[i] for i in order]
    # the shuffle is Dataset.shuffle(seed=976)
    shuffled = datasets.Dataset.from_dict({"i": list(range(len(docs)))}).shuffle(seed=976)
    assert shuffled["i"] == [s.raw_index for s in seeds]
    lengths = {len(s.seed.splitlines()) for s in seeds}
    assert min(lengths) == 1 and max(lengths) == 15  # both ends of [1, 15] are drawn
    # a seed depends on its chunk only: changing a document of chunk 0 leaves chunk 1 alone
    changed = list(docs)
    changed[3] = Document("other\n" * 90, "x")
    again = {s.raw_index: s.seed for s in make_seeds(changed)}
    assert all(again[s.raw_index] == s.seed for s in seeds if s.raw_index >= 1000)
    # the slice and the index
    sliced = make_seeds(docs, start_index=10, max_new_data=5)
    assert [(s.index, s.raw_index, s.seed) for s in sliced] == [(s.index, s.raw_index, s.seed) for s in seeds[10:15]]


def test_snippets_near_the_end_are_shorter_and_empty_documents_are_counted():
    rng = random.Random(1)
    snippets = [extract_snippet("a\nb\nc\n", rng) for _ in range(200)]
    # every start line and every length (cut at the end of the file) occurs, nothing else
    assert set(snippets) == {"a\n", "a\nb\n", "a\nb\nc\n", "b\n", "b\nc\n", "c\n"}
    drops = __import__("collections").Counter()
    seeds = make_seeds([Document("", "e"), Document("x\n", "x")], drops=drops)
    assert [s.seed for s in seeds] == ["x\n"] and drops == {"seed_empty_document": 1}
    assert extract_snippet("one line, no newline", random.Random(0)) == "one line, no newline"
    with pytest.raises(ValueError, match="min_lines <= max_lines"):
        make_seeds(documents(1), min_lines=0)


def test_seed_sources_files_repositories_and_datasets(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "b.py").write_text("print('b')\n")
    (tmp_path / "src" / "a.py").write_text("print('a')\n")
    (tmp_path / "src" / "page.js").write_text("console.log(1)\n")
    (tmp_path / "src" / "blob.py").write_bytes(b"\x00\x01binary")
    (tmp_path / "notes.txt").write_text("explicit files are always read\n")
    found = list(file_documents([str(tmp_path / "src"), str(tmp_path / "notes.txt")], "Python"))
    assert [(d.source.replace(str(tmp_path), ""), d.content) for d in found] == [
        ("/src/a.py", "print('a')\n"), ("/src/pkg/b.py", "print('b')\n"),
        ("/notes.txt", "explicit files are always read\n")]
    assert [d.content for d in file_documents([str(tmp_path / "src" / "*.js")], "JavaScript")] == ["console.log(1)\n"]
    with pytest.raises(FileNotFoundError, match="seed file or directory not found"):
        list(file_documents([str(tmp_path / "missing")], "Python"))

    repo = GitRepo(tmp_path / "repo")
    repo.commit("first", {"lib/x.py": "x = 1\n", "web/y.js": "y()\n", "z.py": "old\n"})
    repo.commit("second", {"z.py": "z = 3\n", "bin.py": b"\x00\x00"})
    drops = __import__("collections").Counter()
    docs = list(repository_documents([str(repo.path)], "Python", drops=drops))
    assert [(d.source.split(":")[-1], d.content) for d in docs] == [("lib/x.py", "x = 1\n"), ("z.py", "z = 3\n")]
    assert drops == {"seed_file_unreadable": 1}
    first = list(repository_documents([str(repo.path)], "Python", revision="HEAD~1"))
    assert [d.content for d in first] == ["x = 1\n", "old\n"]

    table = datasets.Dataset.from_dict({"content": ["a\n", "b\n", "c\n"], "n": [1, 2, 3]})
    assert [d.content for d in dataset_documents(table, limit=2)] == ["a\n", "b\n"]
    with pytest.raises(ValueError, match="no column 'code'.*content, n.*seed_column"):
        list(dataset_documents(table, "code"))


def test_prompt_has_the_d3_structure():
    system, user = messages("def f():\n    return 1\n")
    assert system == {"role": "system", "content": SYSTEM_MESSAGE} and SYSTEM_MESSAGE.count(".") == 1
    text = user["content"]
    assert user["role"] == "user"
    order = [text.index(part) for part in ("exactly two sections", "[Problem Description], [Solution]",
                                           "```\ndef f():\n    return 1\n```", "1. [Problem Description]",
                                           "2. [Solution]")]
    assert order == sorted(order)
    assert "self-contained" in text and "correct" in text and "[Tests]" not in text
    with_tests = messages("x = 1\n", "plain asserts.")[1]["content"]
    assert "exactly three sections" in with_tests and "3. [Tests]: plain asserts." in with_tests
    assert sft_view("P", "S") == {"instruction": "Write a solution to the following coding problem:\nP",
                                  "response": "S"}


@pytest.mark.parametrize("answer, expected", [
    ("intro\n[Problem Description]\n  Do X.\n\n[Solution]\n```py\nx\n```\n", ("Do X.", "```py\nx\n```", "")),
    ("**[PROBLEM DESCRIPTION]**\nA\n### [solution]:\nB\n[Problem Description]\nC\n", ("A", "B\n[Problem Description]\nC", "")),
    ("no markers at all", "parse_no_problem_header"),
    ("[Problem Description]\nonly a problem", "parse_no_solution_header"),
    ("[Solution]\nS\n[Problem Description]\nP", "parse_headers_out_of_order"),
    ("[Problem Description] [Solution]\nboth on one line", "parse_headers_out_of_order"),
    ("[Problem Description]\n   \n[Solution]\nS", "parse_empty_problem"),
    ("[Problem Description]\nP\n[Solution]\n  \n", "parse_empty_solution"),
])
def test_parsing_follows_d4_with_a_reason_per_rejection(answer, expected):
    parsed = parse_answer(answer)
    if isinstance(expected, str):
        assert (parsed.ok, parsed.reason, parsed.problem, parsed.solution) == (False, expected, "", "")
    else:
        assert parsed.ok and (parsed.problem, parsed.solution, parsed.tests) == expected


def test_parsing_with_tests():
    answer = "[Problem Description]\nP\n[Solution]\n```python\ndef f(): pass\n```\n[Tests]\n```python\nassert f() is None\n```"
    parsed = parse_answer(answer, with_tests=True)
    assert (parsed.problem, parsed.solution) == ("P", "```python\ndef f(): pass\n```")
    assert code_blocks(parsed.tests) == "assert f() is None\n"
    assert parse_answer("[Problem Description]\nP\n[Solution]\nS", with_tests=True).reason == "parse_no_tests_header"
    assert parse_answer("[Problem Description]\nP\n[Solution]\nS\n[Tests]\n", with_tests=True).reason == "parse_empty_tests"
    assert parse_answer("[Tests]\n[Problem Description]\nP\n[Solution]\nS", with_tests=True).reason == "parse_no_tests_header"


def test_dedup_is_whitespace_free_after_the_seed_666_shuffle():
    def row(index, seed, problem, solution):
        return {"index": index, "seed": seed, "problem": problem, "solution": solution}

    pairs = {  # pair -> (two rows that collide, the reason the later one is dropped)
        "seed": ([row(0, "s 0", "p0", "x0"), row(1, "s\t0\n", "p1", "x1")], "duplicate_seed"),
        "problem": ([row(2, "s2", "Do  it.", "x2"), row(3, "s3", "Do it .", "x3")], "duplicate_problem"),
        "solution": ([row(4, "s4", "p4", "return 1"), row(5, "s5", "p5", "return\n1")], "duplicate_solution"),
        "both": ([row(6, "s6", "p6", "x6"), row(7, "s 6", "p 6", "x7")], "duplicate_seed"),
    }
    unique = row(8, "s8", "p8", "x8")
    rows = [r for pair, _ in pairs.values() for r in pair] + [unique]
    kept, dropped = shuffle_and_dedup(rows)
    order = list(rows)
    random.Random(666).shuffle(order)
    position = {r["index"]: i for i, r in enumerate(order)}
    expected_kept, expected_dropped = [unique["index"]], {}
    for pair, reason in pairs.values():
        first, second = sorted(pair, key=lambda r: position[r["index"]])
        expected_kept.append(first["index"])
        expected_dropped[second["index"]] = reason
    assert [r["index"] for r in kept] == sorted(expected_kept, key=position.get)
    assert {r["index"]: reason for r, reason in dropped} == expected_dropped
    assert [r["index"] for r in order if r["index"] in expected_kept] == [r["index"] for r in kept]


def test_configs_and_errors():
    configs = language_configs()
    assert list(configs)[:9] == ["python", "typescript", "csharp", "rust", "swift", "php", "java", "cpp", "shell"]
    assert configs["cpp"] == "C++" and configs["go"] == "Go" and configs["javascript"] == "JavaScript"
    assert "c++" not in configs and len(configs) == 358
    assert {c.name for c in OSSInstruct.BUILDER_CONFIGS} == set(configs)
    with pytest.raises(ValueError, match="unknown OSS-Instruct language 'klingon'"):
        OSSInstructConfig(name="x", language="klingon")
    with pytest.raises(ValueError, match="execution check runs only.*python, javascript, cpp.*not 'php'"):
        OSSInstructConfig(name="php", language="php", execution_check=True)
    with pytest.raises(ValueError, match="Magicoder has no seed corpus for 'go'"):
        OSSInstructConfig(name="go", language="go", magicoder_seeds=True).seed_source()
    assert OSSInstructConfig(name="csharp", language="csharp", magicoder_seeds=True).seed_source() == (
        "bigcode/starcoderdata", "c-sharp")

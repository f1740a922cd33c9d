"""Decontamination against the real benchmark files: planted copies are removed and reported,
clean rows stay, and every rule's boundary (whitelist, MBPP range, n, case, whitespace) holds."""

import json

import datasets
import pytest

from commitpack_dataset.decontamination import (
    TRIVIAL_SOLUTIONS,
    TRIVIAL_TASKS,
    Benchmark,
    Decontaminator,
    builtin_benchmarks,
    tokenize,
)
from humanevalpack_metric.benchmarks import humaneval_docstring, load_humaneval, load_mbpp
from humanevalpack_metric.problems import load_problems


@pytest.fixture(scope="module")
def sources(test_data_dir):
    return {"humaneval_source": test_data_dir / "benchmarks" / "HumanEval.jsonl.gz",
            "mbpp_source": test_data_dir / "benchmarks" / "mbpp.jsonl",
            "humanevalpack_dir": test_data_dir / "humanevalpack"}


@pytest.fixture(scope="module")
def builtins(sources):
    return builtin_benchmarks(**sources)


@pytest.fixture(scope="module")
def decontaminator(builtins):
    return Decontaminator(builtins)


@pytest.fixture(scope="module")
def data(sources):
    return {"humaneval": load_humaneval(sources["humaneval_source"]),
            "mbpp": {p["task_id"]: p for p in load_mbpp(sources["mbpp_source"], split=None)},
            "cpp": load_problems("cpp", sources["humanevalpack_dir"]),
            "rust": load_problems("rust", sources["humanevalpack_dir"]),
            "js": load_problems("js", sources["humanevalpack_dir"])}


@pytest.fixture(scope="module")
def clean_rows(test_data_dir):
    alpaca = json.loads((test_data_dir / "seeds" / "code_alpaca_2k.json").read_text())
    return [{"problem": r["instruction"], "solution": r["output"], "lang": "python"} for r in alpaca[:100]]


def row(problem, solution="def solve():\n    pass\n", lang="python"):
    return {"problem": problem, "solution": solution, "lang": lang}


def reindent(code):
    return "\n".join("\t" + line.strip() for line in code.replace("\r\n", "\n").split("\n"))


def fragment(text, start, n):
    return " ".join(tokenize(text)[start:start + n])


def planted(data):
    """(row, the match expected first: benchmark, item, field, method)."""
    humaneval, mbpp, cpp, rust, js = data["humaneval"], data["mbpp"], data["cpp"], data["rust"], data["js"]
    docstring12 = humaneval_docstring(humaneval[12]["prompt"])
    return [
        (row(f"Consider this:\n{docstring12}\nNow solve it."),
         ("humaneval", "HumanEval/12", "docstring", "substring")),
        (row(mbpp[11]["text"].upper()), ("mbpp", "11", "text", "substring")),
        (row("Check the balance.", reindent(humaneval[3]["canonical_solution"])),
         ("humaneval", "HumanEval/3", "canonical_solution", "substring")),
        (row("Count subsequences.", reindent(mbpp[510]["code"])), ("mbpp", "510", "code", "substring")),
        (row("Greatest common divisor in C++.", "int gcd(int a,int b){\n" + cpp[13]["canonical_solution"], "cpp"),
         ("humanevalpack", "CPP/13", "canonical_solution", "substring")),
        (row(f"Task: {fragment(rust[20]['docstring'], 10, 10)}, quickly.", lang="rust"),
         ("humanevalpack", "Rust/20", "docstring", "ngram")),
        (row("Port this.", js[7]["prompt"] + "  return strings.filter(s => s.includes(substring));\n}", "js"),
         ("humanevalpack", "JavaScript/7", "prompt", "substring")),
    ]


def test_planted_benchmark_strings_are_removed_and_reported(decontaminator, data, clean_rows, tmp_path):
    plants = planted(data)
    rows = list(clean_rows)
    positions = {}
    for number, (planted_row, expected) in enumerate(plants):
        positions[7 + number * 13] = expected
        rows.insert(7 + number * 13, planted_row)
    dataset = datasets.Dataset.from_list(rows)
    result = decontaminator.decontaminate(dataset, num_proc=2, batch_size=16)
    assert isinstance(result.kept, datasets.Dataset) and result.kept.to_list() == clean_rows
    assert [r.index for r in result.removed] == sorted(positions)
    for removed in result.removed:
        benchmark, item, field, method = positions[removed.index]
        found = {(m.benchmark, m.item, m.field, m.method) for m in removed.matches}
        assert (benchmark, item, field, method) in found, (removed.index, found)
        assert removed.reason == f"contamination_{removed.matches[0].benchmark}"
        assert removed.row == rows[removed.index]
    # HumanEval/12's docstring is HumanEvalPack Python/12's too: both are reported, HumanEval first
    first = result.removed[0]
    assert first.reason == "contamination_humaneval"
    assert {("humanevalpack", "Python/12", "docstring", "substring"),
            ("humaneval", "HumanEval/12", "docstring", "substring")} <= {
        (m.benchmark, m.item, m.field, m.method) for m in first.matches}
    # the reason is the first benchmark matched: Rust/20's and JavaScript/7's docstrings are
    # HumanEval's too, CPP/13's solution is HumanEvalPack's only
    assert result.drop_counts() == {"contamination_humaneval": 4, "contamination_mbpp": 2,
                                    "contamination_humanevalpack": 1}

    plain = decontaminator.decontaminate(rows)
    assert plain.kept == clean_rows
    assert [(r.index, r.matches) for r in plain.removed] == [(r.index, r.matches) for r in result.removed]

    saved = result.save(tmp_path / "report")
    report = json.loads((saved / "report.json").read_text())
    assert report["rows"] == len(rows) and report["removed"] == 7 and report["kept"] == 100
    assert report["removed_by_group"] == {"python": {"contamination_humaneval": 2, "contamination_mbpp": 2},
                                          "cpp": {"contamination_humanevalpack": 1},
                                          "rust": {"contamination_humaneval": 1},
                                          "js": {"contamination_humaneval": 1}}
    assert report["benchmarks"] == {"humaneval": 164 * 2 - 4, "mbpp": 1000, "humanevalpack": 6 * (3 * 164 - 4)}
    removed = [json.loads(line) for line in (saved / "removed.jsonl").read_text().splitlines()]
    assert [r["index"] for r in removed] == sorted(positions) and removed[2]["row"] == rows[33]
    strings = json.loads((saved / "benchmarks.json").read_text())
    assert {"benchmark": "mbpp", "item": "11", "field": "text", "kind": "text",
            "text": data["mbpp"][11]["text"], "problem": "mbpp/11"} in strings


def test_trivial_humaneval_bodies_are_whitelisted_in_every_language(decontaminator, data):
    humaneval = data["humaneval"]
    whitelisted = {i for i, p in enumerate(humaneval) if p["canonical_solution"].strip() in TRIVIAL_SOLUTIONS}
    assert whitelisted == set(TRIVIAL_TASKS) == {23, 28, 41, 53}
    for body in TRIVIAL_SOLUTIONS:  # each entry on its own, the fixed ''.join one included
        assert decontaminator.matches(f"def f(x, y, n, string, strings):\n    {body}\n") == []
    for task in sorted(TRIVIAL_TASKS):
        assert decontaminator.matches("int f() {\n" + data["cpp"][task]["canonical_solution"]) == []
    # the shortest bodies that are not whitelisted still count
    assert [m.item for m in decontaminator.matches("    return a * h / 2.0\n")] == ["HumanEval/45", "Python/45"]
    assert decontaminator.matches("float f(){\n" + data["cpp"][45]["canonical_solution"])[0].item == "CPP/45"


def test_mbpp_is_the_test_problems_11_to_510(decontaminator, data):
    mbpp = data["mbpp"]
    for task in (10, 511, 601):
        assert decontaminator.matches(mbpp[task]["text"] + "\n\n" + mbpp[task]["code"]) == []
    for task in (11, 510):
        assert {m.field for m in decontaminator.matches(mbpp[task]["code"])} == {"code"}
        assert {m.item for m in decontaminator.matches(mbpp[task]["text"])} == {str(task)}


def test_ngram_size_case_and_whitespace_rules(builtins, decontaminator, data):
    docstring = data["rust"][20]["docstring"]
    ten, nine = fragment(docstring, 10, 10), fragment(docstring, 10, 9)
    assert [m.method for m in decontaminator.matches(ten.upper())] == ["ngram"] * 7  # HumanEval + 6 languages
    assert decontaminator.matches(nine) == []
    humaneval, mbpp, humanevalpack = builtins
    nine_grams = Decontaminator([humaneval, humanevalpack], ngram_size=9)
    assert {m.item for m in nine_grams.matches(nine)} >= {"Rust/20", "HumanEval/20"}

    solution = data["humaneval"][3]["canonical_solution"]
    substring_only = Decontaminator([humaneval], methods=("substring",))
    assert substring_only.matches(solution.upper())[0].item == "HumanEval/3"
    exact = Decontaminator([humaneval], methods=("substring",), whitespace="exact")
    assert exact.matches(solution.upper().replace("\n", "\r\n"))[0].item == "HumanEval/3"
    assert exact.matches(reindent(solution)) == [] and substring_only.matches(reindent(solution))

    # code n-grams only when asked for; a phrase of several MBPP problems is a common idiom
    code_fragment = fragment(data["mbpp"][101]["code"], 2, 10)
    assert decontaminator.matches(code_fragment) == []
    with_code = Decontaminator([mbpp], ngram_kinds=("text", "code"))
    assert {m.item for m in with_code.matches(code_fragment)} == {"101"}
    common = "Write a function to find the surface area of a"  # 4 problems
    assert decontaminator.matches(common) == []
    assert len({m.item for m in Decontaminator([mbpp], ngram_max_problems=4).matches(common)}) == 4
    assert Decontaminator([mbpp], ngram_max_problems=3).matches(common) == []


def test_user_benchmarks_from_jsonl_and_datasets(tmp_path, decontaminator):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"id": "q1", "question": "Compute the frobnication index of a zebra list.",
                                "answer": "return zebra_index(items)"}) + "\n")
    mine = Benchmark.from_jsonl("mine", path, text_fields=["question"], code_fields=["answer"], id_field="id")
    dataset = datasets.Dataset.from_dict({"q": ["How many florbles fit in a grommet box?"]})
    dataset.save_to_disk(tmp_path / "saved")
    other = Benchmark.from_dataset("other", dataset, text_fields=["q"])
    checker = Decontaminator([mine, other], methods=("substring",))
    assert [(m.benchmark, m.item, m.field) for m in checker.matches("x RETURN zebra_index(items) y")] == [
        ("mine", "q1", "answer")]
    keep, reason = checker(row("how many florbles fit in a grommet box?"))
    assert (keep, reason) == (False, "contamination_other")
    assert checker(row("how many fit?")) == (True, "")
    assert decontaminator(row("how many florbles fit in a grommet box?")) == (True, "")
    with pytest.raises(ValueError, match="no column.*answer.*its columns are q"):
        Benchmark.from_dataset("bad", dataset, code_fields=["answer"])
    with pytest.raises(ValueError, match="name at least one field"):
        Benchmark.from_jsonl("bad", path)


def test_errors_name_the_problem(builtins, decontaminator):
    with pytest.raises(ValueError, match="subset of .'substring', 'ngram'."):
        Decontaminator(builtins, methods=("fuzzy",))
    with pytest.raises(ValueError, match="unknown built-in benchmark.*apps.*from_dataset"):
        builtin_benchmarks(["apps"])
    with pytest.raises(KeyError, match="no column.*solution.*pass columns="):
        decontaminator.decontaminate(datasets.Dataset.from_dict({"problem": ["x"]}))
    with pytest.raises(KeyError, match="no column.*text"):
        decontaminator.decontaminate([{"problem": "x"}], columns=("text",))

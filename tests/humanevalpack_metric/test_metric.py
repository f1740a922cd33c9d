"""The metric end to end: evaluate.load vs the class, the reference return shape, the opt-in,
dedup and resume, the high-level entry and the CLI — all with real execution."""

import json

import evaluate
import pytest

import humanevalpack_metric
from humanevalpack_metric import Executor, HumanEvalPack, evaluate_completions, load_problems
from humanevalpack_metric.cli import main as cli_main
from humanevalpack_metric.languages import get_language
from humanevalpack_metric.settings import CodeEvalNotAllowed

TEST = "assert add(2, 3) == 5"
GOOD = "def add(a, b):\n    return a + b"
BAD = "def add(a, b):\n    return a * b"


@pytest.fixture()
def code_eval(monkeypatch):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")


@pytest.fixture(scope="module")
def executor(tmp_path_factory):
    with Executor(num_workers=2, progress=False,
                  cache_dir=tmp_path_factory.mktemp("toolchains")) as shared:
        yield shared


def test_execution_needs_the_explicit_opt_in(monkeypatch):
    monkeypatch.delenv("HF_ALLOW_CODE_EVAL", raising=False)
    with pytest.raises(CodeEvalNotAllowed, match="HF_ALLOW_CODE_EVAL"):
        HumanEvalPack().compute(predictions=[[GOOD]], references=[TEST], k=[1])


def test_evaluate_load_and_class_agree_on_the_unbiased_estimate(code_eval, tmp_path):
    predictions = [[GOOD] * 3 + [BAD] * 7, [GOOD] * 10]
    references = [TEST, TEST]
    loaded = evaluate.load(humanevalpack_metric.METRIC_PATH, cache_dir=str(tmp_path))
    by_load = loaded.compute(predictions=predictions, references=references, k=[1, 10],
                             num_workers=2)
    by_class = HumanEvalPack().compute(predictions=predictions, references=references, k=[1, 10],
                                       num_workers=2)
    assert by_load[0] == by_class[0] == {"pass@1": pytest.approx((0.3 + 1.0) / 2),
                                         "pass@10": pytest.approx(1.0)}
    pass_at_k, results = by_class
    assert sorted(results) == [0, 1]
    completion_id, record = results[0][3]
    assert completion_id == 3 and record["task_id"] == 0 and record["completion_id"] == 3
    assert record["passed"] is False and record["result"].startswith("failed: ")
    assert record["status"] == "failed"
    assert results[0][0][1] == {**results[0][0][1], "passed": True, "result": "passed"}


def test_default_k_reports_only_k_up_to_n(code_eval):
    pass_at_k, _ = HumanEvalPack().compute(predictions=[[GOOD, BAD]], references=[TEST])
    assert pass_at_k == {"pass@1": 0.5}


def test_shapes_are_checked_with_a_clear_message(code_eval):
    with pytest.raises(ValueError, match="expected a list"):  # evaluate checks the features
        HumanEvalPack().compute(predictions=[GOOD], references=[TEST])
    with pytest.raises(TypeError, match="one list of candidate programs per problem"):
        humanevalpack_metric.score_candidates([GOOD], [TEST])
    with pytest.raises(ValueError, match="one test per problem"):
        humanevalpack_metric.score_candidates([[GOOD], [GOOD]], [TEST])


def test_timeouts_and_wrong_answers_are_told_apart(code_eval, executor):
    report = humanevalpack_metric.score_candidates(
        [[GOOD, BAD, "def add(a, b):\n    while True: pass"]], [TEST], k=[1], timeout=2,
        executor=executor)
    assert [r["status"] for r in report.results] == ["passed", "failed", "timeout"]
    assert report.results[2]["result"] == "timed out"


def test_identical_programs_run_once_and_results_resume(code_eval, tmp_path):
    path = tmp_path / "outcomes.jsonl"
    predictions = [[GOOD] * 20 + [BAD] * 20]
    with Executor(num_workers=2, progress=False, results_path=path) as first:
        report = humanevalpack_metric.score_candidates(predictions, [TEST], k=[1], executor=first)
    assert report.stats["executed"] == 2 and report.stats["programs"] == 40
    assert report.pass_at_k == {"pass@1": pytest.approx(0.5)}
    with Executor(num_workers=2, progress=False, results_path=path) as resumed:
        again = humanevalpack_metric.score_candidates(predictions, [TEST], k=[1], executor=resumed)
    assert again.stats["executed"] == 0 and again.pass_at_k == report.pass_at_k


@pytest.mark.toolchain
@pytest.mark.parametrize("language", ["python", "js", "java", "go", "cpp", "rust"])
def test_high_level_entry_scores_canonical_and_buggy_completions(code_eval, executor, language,
                                                                 humanevalpack_dir):
    problems = load_problems(language, humanevalpack_dir)[:3]
    ids = [p["task_id"] for p in problems]
    # a model's completion of the (stripped) Synthesize prompt starts with the newline
    good = [["\n" + p["canonical_solution"]] for p in problems]
    report = evaluate_completions(good, "synthesize", language, problem_ids=ids,
                                  data_dir=humanevalpack_dir, k=[1], executor=executor)
    assert report.pass_at_k == {"pass@1": 1.0}, report.results
    bad = {p["task_id"]: ["\n" + p["buggy_solution"]] for p in problems}
    report = evaluate_completions(bad, "synthesize", language, data_dir=humanevalpack_dir, k=[1],
                                  executor=executor)
    assert report.pass_at_k == {"pass@1": 0.0}, report.results
    assert [r["task_id"] for r in report.results] == ids


def test_cli_scores_a_jsonl_and_writes_json_and_table(code_eval, tmp_path, humanevalpack_dir):
    problems = load_problems("python", humanevalpack_dir)[:2]
    generations = tmp_path / "generations.jsonl"
    generations.write_text("\n".join(json.dumps({"task_id": p["task_id"], "completions": [
        "\n" + p["canonical_solution"], "\n" + p["buggy_solution"]]}) for p in problems) + "\n")
    out = tmp_path / "out"
    code = cli_main([str(generations), "--task", "humanevalsynthesize-python", "--data-dir",
                     str(humanevalpack_dir), "--output-dir", str(out), "--k", "1,2",
                     "--no-progress"])
    assert code == 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["pass_at_k"] == {"pass@1": pytest.approx(0.5), "pass@2": pytest.approx(1.0)}
    assert len(saved["results"]) == 4
    assert "| python | synthesize | 2 | 4 | 50.0 | 100.0 |" in (out / "results.md").read_text()


def test_cli_rejects_bad_input_with_the_line_number(code_eval, tmp_path, capsys):
    generations = tmp_path / "generations.jsonl"
    generations.write_text('{"task_id": "Python/0", "completions": ["x"]}\n{"oops": 1}\n')
    assert cli_main([str(generations), "--task", "synthesize", "--language", "python"]) == 2
    assert "generations.jsonl:2" in capsys.readouterr().err


@pytest.mark.toolchain
def test_run_many_starts_the_longest_timeouts_first_and_matches_single_runs(code_eval, tmp_path,
                                                                              humanevalpack_dir,
                                                                              monkeypatch):
    """One pool for two languages: Go (20 s timeout) starts before Python (10 s) although it
    comes second; the verdicts are those of one run per language."""
    batches = {}
    for language in ("python", "go"):
        lang = get_language(language)
        problems = load_problems(language, humanevalpack_dir)[:3]
        batches[language] = [lang.program(lang.assemble(p["prompt"] + p[kind], p, "synthesize"),
                                          "\n" + p["test"])
                             for p in problems for kind in ("canonical_solution", "buggy_solution")]
    expected = [True, False] * 3
    started = []
    execute_one = Executor._execute_one

    def recording(lang, sandbox, program, timeout):
        started.append(lang.name)
        return execute_one(lang, sandbox, program, timeout)

    with Executor(num_workers=1, progress=False, cache_dir=tmp_path / "tc") as executor:
        monkeypatch.setattr(executor, "_execute_one", recording)
        ran = executor.run_many(batches)
        assert list(ran) == ["python", "go"]
        for language, (outcomes, stats) in ran.items():
            assert [o.passed for o in outcomes] == expected, (language, outcomes)
            assert stats.executed == 6 and stats.language == language
        # admission follows the job order (a thread may overtake a woken one by one place)
        assert started[:4] == ["go"] * 4 and started[-4:] == ["python"] * 4, " ".join(started)
        with pytest.raises(ValueError, match="given twice"):
            executor.run_many({"js": [], "javascript": []})
    with Executor(num_workers=1, progress=False, cache_dir=tmp_path / "tc") as single:
        for language, programs in batches.items():
            assert [o.passed for o in single.run(language, programs)[0]] == expected


def test_cli_scores_several_languages_from_one_file_in_one_pool(code_eval, tmp_path,
                                                                humanevalpack_dir):
    rows = []
    for language in ("python", "js"):
        for p in load_problems(language, humanevalpack_dir)[:2]:
            rows.append({"task_id": p["task_id"], "completions": [
                "\n" + p["canonical_solution"], "\n" + p["buggy_solution"]]})
    generations = tmp_path / "generations.jsonl"
    generations.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    out = tmp_path / "out"
    assert cli_main([str(generations), "--task", "synthesize", "--data-dir", str(humanevalpack_dir),
                     "--output-dir", str(out), "--k", "1", "--no-progress"]) == 0
    saved = json.loads((out / "results.json").read_text())["languages"]
    assert sorted(saved) == ["js", "python"]
    for language, report in saved.items():
        assert report["pass_at_k"] == {"pass@1": pytest.approx(0.5)}
        assert [r["passed"] for r in report["results"]] == [True, False, True, False]
    table = (out / "results.md").read_text()
    assert "| js | synthesize | 2 | 4 | 50.0 | 2 | 2 |" in table
    assert "| python | synthesize | 2 | 4 | 50.0 | 2 | 2 |" in table
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"task_id": "Cobol/0", "completions": ["x"]}\n')
    assert cli_main([str(unknown), "--task", "synthesize", "--output-dir", str(out)]) == 2

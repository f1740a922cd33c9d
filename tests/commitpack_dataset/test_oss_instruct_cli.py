"""``oss-instruct`` CLI: generate (atomic outputs, --overwrite, resume from the build cache),
decontaminate, stats, push to a local Hub, and the errors users see."""

import json

import pytest

from commitpack_dataset.cli.oss_instruct import main, make_parser
from tests.commitpack_dataset.test_oss_instruct_build import answer, case_of, seed_files


@pytest.fixture()
def sources(test_data_dir):
    return ["--humaneval", str(test_data_dir / "benchmarks" / "HumanEval.jsonl.gz"),
            "--mbpp", str(test_data_dir / "benchmarks" / "mbpp.jsonl"),
            "--humanevalpack-dir", str(test_data_dir / "humanevalpack")]


def test_generate_stats_decontaminate_push(scripted_openai, tmp_path, sources, local_hub, capsys):
    import datasets

    server = scripted_openai(lambda request: answer(case_of(request)) if case_of(request) != "bad" else "no")
    seeds = seed_files(tmp_path / "seeds", ["one", "two", "bad"])
    out = tmp_path / "out"
    generate = ["generate", "-o", str(out), "--seed-files", str(seeds), "--base-url", server.base_url,
                "--model", "teacher", *sources]
    assert main(generate) == 0
    rows = [json.loads(line) for line in (out / "data" / "python" / "data.jsonl").read_text().splitlines()]
    assert sorted(r["problem"] for r in rows) == ["Problem about one.", "Problem about two."]
    summary = json.loads((out / "drop_counts.json").read_text())
    assert summary == {"kept": 2, "rows_per_config": {"python": 2}, "drop_counts": {"parse_no_problem_header": 1}}
    assert [r["reason"] for r in map(json.loads, (out / "rejected.jsonl").read_text().splitlines())] == [
        "parse_no_problem_header"]
    assert json.loads((out / "decontamination" / "report.json").read_text())["rows"] == 2
    facts = json.loads((out / "build.json").read_text())
    assert facts["teacher"]["model"] == "teacher" and facts["generation"]["requests"] == 3
    assert server.count() == 3

    assert main(generate) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert main(generate + ["--overwrite"]) == 0 and server.count() == 3  # the build cache answers

    assert main(["stats", str(out), "--png", str(tmp_path / "drops.png")]) == 0
    printed = capsys.readouterr().out
    assert "parse_no_problem_header" in printed and (tmp_path / "drops.png").stat().st_size > 1000

    from humanevalpack_metric.benchmarks import humaneval_docstring, load_humaneval

    docstring = humaneval_docstring(load_humaneval(sources[1])[7]["prompt"])
    extra = tmp_path / "quiz.jsonl"
    extra.write_text(json.dumps({"question": "How many florbles fit in a grommet box?"}) + "\n")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("".join(json.dumps(r) + "\n" for r in [
        {"problem": "Sum a list.", "solution": "sum(x)", "lang": "python"},
        {"problem": docstring, "solution": "pass", "lang": "python"},
        {"problem": "how many FLORBLES fit in a grommet box?", "solution": "3", "lang": "go"},
        {"problem": "Reverse a string.", "solution": "s[::-1]", "lang": "go"}]))
    cleaned = tmp_path / "cleaned"
    assert main(["decontaminate", str(mixed), "-o", str(cleaned), "--extra", f"quiz={extra}:question", *sources]) == 0
    kept = {lang: [json.loads(line)["problem"] for line in (cleaned / "data" / lang / "data.jsonl").read_text().splitlines()]
            for lang in ("python", "go")}
    assert kept == {"python": ["Sum a list."], "go": ["Reverse a string."]}
    report = json.loads((cleaned / "report.json").read_text())
    assert report["removed_by_reason"] == {"contamination_humaneval": 1, "contamination_quiz": 1}
    assert (cleaned / "benchmarks.json").is_file() and len((cleaned / "removed.jsonl").read_text().splitlines()) == 2

    repo_id = local_hub.repo_id("oss-instruct-test")
    assert main(["push", str(out), repo_id, "--license", "mit"]) == 0
    pushed = datasets.load_dataset(repo_id, "python", split="train")
    assert sorted(pushed["problem"]) == ["Problem about one.", "Problem about two."]
    card = local_hub.api.hf_hub_download(repo_id, "README.md", repo_type="dataset")
    assert "teacher" in open(card, encoding="utf-8").read()


def test_errors_name_the_problem_and_the_parser_mounts(tmp_path, capsys):
    assert main(["generate", "-o", str(tmp_path / "o")]) == 2
    assert "no seeds: pass --seed-dataset, --seed-files" in capsys.readouterr().err
    assert main(["generate", "-o", str(tmp_path / "o"), "--language", "klingon", "--seed-files", "."]) == 2
    assert "unknown OSS-Instruct language 'klingon'" in capsys.readouterr().err
    assert main(["decontaminate", str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "d")]) == 2
    assert "input not found" in capsys.readouterr().err
    assert main(["push", str(tmp_path / "nothing"), "me/x"]) == 2
    message = capsys.readouterr().err
    assert "oss-instruct push needs --license" in message and "seeds'" in message and "apache-2.0" in message
    import argparse

    top = argparse.ArgumentParser(prog="octopack")
    make_parser(top.add_subparsers(dest="command"))
    args = top.parse_args(["oss-instruct", "stats", "x"])
    assert args.oss_instruct_command == "stats" and args.handler.__name__ == "command_stats"

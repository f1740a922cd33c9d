"""``evol-instruct`` CLI: generate (outputs per round, --overwrite, the build cache answers a re-run),
stats with its PNG, push to a local Hub with a card, the errors users see, mounting the parser."""

import argparse
import json

from commitpack_dataset.cli.evol_instruct import main, make_parser
from tests.commitpack_dataset.test_evol_instruct_build import given_test


def test_generate_stats_push(scripted_openai, tmp_path, test_data_dir, local_hub, capsys):
    import datasets

    def teacher(request):
        if "#Given Test#" in request.key:
            question = given_test(request.key)
            return "Sorry." if "bad" in question else question + " Use no loops, only recursion."
        return "def solve():\n    return 'recursive answer with enough words here'"

    server = scripted_openai(teacher)
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(row) + "\n" for row in [
        {"instruction": "Print the numbers from one to ten.", "input": "", "output": "for i in range(1, 11): print(i)"},
        {"instruction": "This bad task cannot evolve at all.", "input": "", "output": "x"}]))
    out = tmp_path / "out"
    sources = ["--humaneval", str(test_data_dir / "benchmarks" / "HumanEval.jsonl.gz"),
               "--mbpp", str(test_data_dir / "benchmarks" / "mbpp.jsonl"),
               "--humanevalpack-dir", str(test_data_dir / "humanevalpack")]
    generate = ["generate", "-o", str(out), "--seed-dataset", str(seeds), "--rounds", "2", "--model", "teacher",
                "--base-url", server.base_url, *sources]
    assert main(generate) == 0
    printed = capsys.readouterr().out
    assert "instruction_too_few_words" in printed and "round 2" in printed
    rows = [json.loads(line) for line in (out / "data" / "code" / "data.jsonl").read_text().splitlines()]
    assert [(r["round"], r["seed_index"]) for r in rows] == [(0, 0), (0, 1), (1, 0), (2, 0)]
    summary = json.loads((out / "drop_counts.json").read_text())
    assert summary == {"kept": 4, "rows_per_config": {"code": 4}, "rows_per_round": {"0": 2, "1": 1, "2": 1},
                       "rounds": {"0": {}, "1": {"instruction_too_few_words": 1}, "2": {}},
                       "drop_counts": {"instruction_too_few_words": 1}}
    assert json.loads((out / "rounds.json").read_text())["1"]["pool"] == 2
    assert [r["reason"] for r in map(json.loads, (out / "rejected.jsonl").read_text().splitlines())] == [
        "instruction_too_few_words"]
    assert sorted(p.name for p in (out / "decontamination").iterdir()) == ["round_0", "round_1", "round_2"]
    facts = json.loads((out / "build.json").read_text())
    assert facts["teacher"]["model"] == "teacher" and facts["generation"]["requests"] == 2 + 1 + 1 + 1
    assert facts["decontamination"]["checked"] == 4
    sent = server.count()

    assert main(generate) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert main(generate + ["--overwrite"]) == 0 and server.count() == sent  # the build cache answers

    capsys.readouterr()
    png = tmp_path / "rounds.png"
    assert main(["stats", str(out), str(out / "drop_counts.json"), "--png", str(png)]) == 0
    table = capsys.readouterr().out
    line = next(line for line in table.splitlines() if line.startswith("instruction_too_few_words"))
    assert line.split()[1:] == ["0", "2", "0"]  # rounds 0, 1, 2, summed over both paths
    assert png.stat().st_size > 5000

    repo_id = local_hub.repo_id("evol-instruct-test")
    assert main(["push", str(out), repo_id, "--license", "cc-by-nc-4.0"]) == 0
    pushed = datasets.load_dataset(repo_id, "code", split="train")
    assert pushed["round"] == [0, 0, 1, 2]
    card = open(local_hub.api.hf_hub_download(repo_id, "README.md", repo_type="dataset"), encoding="utf-8").read()
    assert "instruction_too_few_words" in card and "teacher" in card and "cc-by-nc-4.0" in card


def test_errors_name_the_problem_and_the_parser_mounts(tmp_path, capsys):
    assert main(["generate", "-o", str(tmp_path / "o"), "--seed-dataset", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
    seeds = tmp_path / "s.jsonl"
    seeds.write_text(json.dumps({"question": "q"}) + "\n")
    assert main(["generate", "-o", str(tmp_path / "o"), "--seed-dataset", str(seeds)]) == 2
    assert "pass seed_columns=" in capsys.readouterr().err
    assert main(["generate", "-o", str(tmp_path / "o"), "--seed-dataset", str(seeds),
                 "--seed-column", "question"]) == 2
    assert "expected ROLE=COLUMN" in capsys.readouterr().err
    assert main(["push", str(tmp_path / "nothing"), "me/x", "--license", "cc-by-nc-4.0"]) == 2
    assert "run 'evol-instruct generate' first" in capsys.readouterr().err
    # the data's license is the user's call: no default, and no id the Hub refuses
    assert main(["push", str(tmp_path / "nothing"), "me/x"]) == 2
    message = capsys.readouterr().err
    assert "needs --license" in message and "cc-by-nc-4.0" in message and "teacher's terms" in message
    assert main(["push", str(tmp_path / "nothing"), "me/x", "--license", "other"]) == 2
    assert "license_name" in capsys.readouterr().err
    assert main(["push", str(tmp_path / "nothing"), "me/x", "--license", "cc-by-nc"]) == 2
    assert "not a Hub license identifier" in capsys.readouterr().err
    top = argparse.ArgumentParser(prog="octopack")
    make_parser(top.add_subparsers(dest="command"))
    args = top.parse_args(["evol-instruct", "stats", "x"])
    assert args.evol_instruct_command == "stats" and args.handler.__name__ == "command_stats"

"""The ``commitpack`` CLI on real git repositories: mine, filter, stats, push, and its error messages."""

import json

import pytest

from commitpack_dataset.cli import main
from tests.commitpack_dataset.gitrepo import GitRepo, build_two_language_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def repository(tmp_path):
    repo = GitRepo(tmp_path / "octo" / "multilang")
    build_two_language_history(repo)
    repo.commit("update", {"app.py": "x = 3\n" * 40})  # kept by CommitPack, dropped by CommitPackFT
    return repo


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def no_temporary_files(directory):
    return not [p for p in directory.rglob("*.tmp")]


def test_mine_filter_stats(repository, tmp_path, capsys):
    mined = tmp_path / "mined"
    assert main(["mine", str(repository.path), "-o", str(mined), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert sorted(p.name for p in (mined / "data").iterdir()) == ["go", "javascript", "python"]
    python_rows = read_jsonl(mined / "data" / "python" / "data.jsonl")
    assert [row["subject"] for row in python_rows] == [
        "Refactor the loop of the program", "Fix the handling of nested lists"]  # "update" dropped (blocklist)
    summary = json.loads((mined / "drop_counts.json").read_text())
    assert summary["kept"] == 4 and summary["rows_per_config"] == {"python": 2, "javascript": 1, "go": 1}
    assert summary["drop_counts"]["multiple_modified_files"] == 1
    assert summary["drop_counts"]["message_blocklist"] == 1

    filtered = tmp_path / "ft"
    assert main(["filter", str(mined / "data"), "-o", str(filtered), "--tokenizer", "estimate",
                 "--format", "parquet"]) == 0
    import pyarrow.parquet as pq

    table = pq.read_table(filtered / "data" / "python" / "data.parquet")
    assert sorted(table.column("subject").to_pylist()) == [
        "Fix the handling of nested lists", "Refactor the loop of the program"]
    ft_summary = json.loads((filtered / "drop_counts.json").read_text())
    assert ft_summary["kept"] == 4 and ft_summary["drop_counts"] == {}

    png = tmp_path / "chart" / "drops.png"
    capsys.readouterr()
    assert main(["stats", str(mined / "drop_counts.json"), str(filtered / "drop_counts.json"),
                 "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "multiple_modified_files" in out and "message_blocklist" in out
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 1000
    assert no_temporary_files(tmp_path)


def test_mine_languages_parquet_and_ft(repository, tmp_path):
    out = tmp_path / "out"
    assert main(["mine", str(repository.path), "-o", str(out), "--languages", "python", "Go",
                 "--format", "parquet", "--ft", "--tokenizer", "estimate"]) == 0
    assert sorted(p.name for p in (out / "data").iterdir()) == ["go", "python"]
    summary = json.loads((out / "drop_counts.json").read_text())
    assert summary["rows_per_config"] == {"python": 2, "go": 1}
    assert summary["drop_counts"]["language_not_selected"] == 1


def test_filter_drop_counts_per_reason(tmp_path):
    rows = [{"commit": str(i), "old_file": "qqq.py", "new_file": "qqq.py", "old_contents": "x = 1\n" * 40,
             "new_contents": "x = 2\n" * 40, "subject": subject, "message": subject, "lang": "Python",
             "license": "mit", "repos": "o/r"} for i, subject in enumerate(
                 ["Fix the handling of nested lists", "fix lowercase start of it", "Fix #12 in parser"])]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["filter", str(source), "-o", str(tmp_path / "out"), "--tokenizer", "estimate"]) == 0
    summary = json.loads((tmp_path / "out" / "drop_counts.json").read_text())
    assert summary["kept"] == 1
    assert summary["drop_counts"] == {"subject_not_uppercase": 1, "subject_has_hash": 1}
    assert read_jsonl(tmp_path / "out" / "data" / "python" / "data.jsonl")[0]["commit"] == "0"


def card_drop_counts(text):
    """``{rule: dropped}`` of a dataset card's rules table (``| 3 | `rule` | stage | what | 12 |``)."""
    counts = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit() and cells[1].startswith("`"):
            counts[cells[1].strip("`")] = int(cells[4].replace(",", ""))
    return counts


def pushed_card(repo_id, *drop_counts_files):
    """The pushed README parsed by huggingface_hub, with every drop count of ``drop_counts_files`` in its rules."""
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(repo_id, repo_type="dataset")
    counts = {reason: count for path in drop_counts_files
              for reason, count in json.loads(path.read_text())["drop_counts"].items()}
    in_card = card_drop_counts(card.text)
    assert counts and {reason: in_card.get(reason) for reason in counts} == counts
    return card, in_card


def test_push(local_hub, repository, tmp_path, capsys):
    from datasets import get_dataset_config_names, load_dataset

    mined = tmp_path / "mined"
    assert main(["mine", str(repository.path), "-o", str(mined)]) == 0
    repo_id = local_hub.repo_id("cli-commitpack")
    capsys.readouterr()
    assert main(["push", str(mined / "data"), repo_id, "--dry-run"]) == 0
    assert "# CommitPack" in capsys.readouterr().out and not local_hub.api.repo_exists(repo_id, repo_type="dataset")
    assert main(["push", str(mined / "data"), repo_id]) == 0
    assert sorted(get_dataset_config_names(repo_id)) == ["go", "javascript", "python"]
    loaded = load_dataset(repo_id, "javascript", split="train")
    assert loaded.to_list() == read_jsonl(mined / "data" / "javascript" / "data.jsonl")
    card, in_card = pushed_card(repo_id, mined / "drop_counts.json")
    assert card.data.pretty_name == "CommitPack" and card.data.license == "mit"
    assert in_card["multiple_modified_files"] == 1 and in_card["message_blocklist"] == 1
    assert f"| octo/multilang | {repository.head()[:12]} | HEAD | mit | 4 |" in card.text

    # CommitPackFT from the mined files: the card counts every rule from mining on
    filtered, ft_repo = tmp_path / "ft", local_hub.repo_id("cli-commitpackft")
    assert main(["filter", str(mined / "data"), "-o", str(filtered), "--tokenizer", "estimate"]) == 0
    assert main(["push", str(filtered), ft_repo]) == 0
    card, in_card = pushed_card(ft_repo, mined / "drop_counts.json", filtered / "drop_counts.json")
    assert card.data.pretty_name == "CommitPackFT" and in_card["multiple_modified_files"] == 1
    assert in_card["subject_not_uppercase"] == 0 and f"{repository.head()[:12]}" in card.text


def error_of(capsys, argv):
    assert main(argv) == 2
    return capsys.readouterr().err


def test_clear_errors(tmp_path, capsys, repository):
    out = str(tmp_path / "out")
    assert "repository path not found" in error_of(capsys, ["mine", str(tmp_path / "nope"), "-o", out])
    (tmp_path / "plain").mkdir()
    assert "not a git repository" in error_of(capsys, ["mine", str(tmp_path / "plain"), "-o", out])
    message = error_of(capsys, ["mine", str(repository.path), "-o", out, "--languages", "pyton"])
    assert "unknown language 'pyton'" in message and "python" in message
    assert "c++" in error_of(capsys, ["mine", str(repository.path), "-o", out, "--languages", "c+"])

    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    assert "cannot read" in error_of(capsys, ["filter", str(broken), "-o", out])
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text("{not json\n")
    assert "cannot read" in error_of(capsys, ["filter", str(bad_json), "-o", out])
    partial = tmp_path / "partial.jsonl"
    partial.write_text(json.dumps({"commit": "x"}) + "\n")
    assert "lacks CommitPack fields" in error_of(capsys, ["filter", str(partial), "-o", out])
    assert "input not found" in error_of(capsys, ["filter", str(tmp_path / "missing.jsonl"), "-o", out])
    assert "drop counts file not found" in error_of(capsys, ["stats", str(tmp_path / "none.json")])
    assert "not a drop counts file" in error_of(capsys, ["stats", str(bad_json)])
    assert not (tmp_path / "out").exists()


def test_bad_row_midway_leaves_no_output(tmp_path, capsys):
    """An error after some rows were written removes the temporary files: no partial output."""
    good = {"commit": "1", "old_file": "qqq.py", "new_file": "qqq.py", "old_contents": "x = 1\n" * 40,
            "new_contents": "x = 2\n" * 40, "subject": "Fix the handling of nested lists",
            "message": "Fix the handling of nested lists", "lang": "Python", "license": "mit", "repos": "o/r"}
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(good) + "\n" + "{broken\n")
    out = tmp_path / "out"
    for file_format in ("jsonl", "parquet"):
        assert "cannot read" in error_of(capsys, ["filter", str(source), "-o", str(out), "--tokenizer", "estimate",
                                                  "--format", file_format])
        assert not [p for p in out.rglob("*") if p.is_file()]


def test_parquet_batches_round_trip(tmp_path):
    from commitpack_dataset.cli import LanguageFiles, read_records

    rows = [{"commit": str(i), "old_file": "a.go", "new_file": "a.go", "old_contents": "", "new_contents": "x",
             "subject": "s", "message": "m", "lang": "Go" if i % 3 else "C++", "license": "mit", "repos": "o/r"}
            for i in range(25)]
    with LanguageFiles(tmp_path, "parquet", batch_size=4) as files:
        for row in rows:
            files.write(row)
    assert files.rows == {"c++": 9, "go": 16}
    back = list(read_records(tmp_path / "data" / "go" / "data.parquet"))
    assert back == [row for row in rows if row["lang"] == "Go"]


def test_push_errors(local_hub, tmp_path, capsys):
    repo_id = local_hub.repo_id("never-created")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert "no records to push" in error_of(capsys, ["push", str(empty), repo_id, "--cache-dir", str(tmp_path / "c")])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    assert "cannot read" in error_of(capsys, ["push", str(bad), repo_id, "--cache-dir", str(tmp_path / "c")])
    assert "input not found" in error_of(capsys, ["push", str(tmp_path / "nothing"), repo_id])
    loose = tmp_path / "loose" / "rows.jsonl"  # CommitPack rows from nowhere: no card facts beside them
    loose.parent.mkdir()
    loose.write_text(json.dumps({name: "x" for name in ("commit", "old_file", "new_file", "old_contents",
                     "new_contents", "subject", "message", "license", "repos")} | {"lang": "Python"}) + "\n")
    message = error_of(capsys, ["push", str(loose), repo_id, "--cache-dir", str(tmp_path / "c")])
    assert "no card_facts.json" in message and "commitpack mine" in message and "--facts" in message
    assert not local_hub.api.repo_exists(repo_id, repo_type="dataset")


def test_existing_output_needs_overwrite(repository, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["mine", str(repository.path), "-o", str(out), "--languages", "go"]) == 0
    assert "--overwrite" in error_of(capsys, ["mine", str(repository.path), "-o", str(out), "--languages", "python"])
    assert main(["mine", str(repository.path), "-o", str(out), "--languages", "python", "--overwrite"]) == 0
    assert sorted(p.name for p in (out / "data").iterdir()) == ["python"]  # no stale go/
    message = error_of(capsys, ["filter", str(out / "data"), "-o", str(out), "--overwrite"])
    assert "inside the output directory" in message and (out / "data" / "python" / "data.jsonl").exists()


def test_stats_reads_a_builder_drop_counts_directory(repository, tmp_path, capsys):
    from commitpack_dataset.builders import CommitPack

    builder = CommitPack(cache_dir=str(tmp_path / "cache"), config_name="all", repositories=(str(repository.path),))
    builder.download_and_prepare()
    directory = next((tmp_path / "cache").rglob("drop_counts"))
    capsys.readouterr()
    assert main(["stats", str(directory), "--png", str(tmp_path / "d.png")]) == 0
    assert "multiple_modified_files" in capsys.readouterr().out
    assert (tmp_path / "d.png").read_bytes()[:8] == PNG_MAGIC


def test_scale_reports_like_mine_and_pushes(local_hub, repository, tmp_path, capsys):
    from datasets import load_dataset

    mined = tmp_path / "mined"
    assert main(["mine", str(repository.path), "-o", str(mined)]) == 0
    out, png = tmp_path / "scaled", tmp_path / "chart" / "scale.png"
    repo_id = local_hub.repo_id("cli-scale")
    capsys.readouterr()
    assert main(["scale", str(repository.path), "-o", str(out), "--tasks", "2", "--png", str(png),
                 "--push-to-hub", repo_id]) == 0
    printed = capsys.readouterr().out
    assert "multiple_modified_files" in printed and "message_blocklist" in printed
    assert "configs go, javascript, python" in printed
    assert png.read_bytes()[:8] == PNG_MAGIC
    summary = json.loads((out / "drop_counts.json").read_text())
    assert summary == json.loads((mined / "drop_counts.json").read_text())  # the builder's numbers
    loaded = load_dataset(repo_id, "python", split="train")
    mined_python = read_jsonl(mined / "data" / "python" / "data.jsonl")
    assert sorted(loaded["subject"]) == sorted(row["subject"] for row in mined_python)
    card, _ = pushed_card(repo_id, out / "drop_counts.json")
    assert card.data.pretty_name == "CommitPack" and f"| octo/multilang | {repository.head()[:12]} |" in card.text

    assert main(["stats", str(out / "drop_counts.json")]) == 0  # the summary reads back like mine's
    assert "message_blocklist" in capsys.readouterr().out


def test_scale_errors(repository, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert "KEY=VALUE" in error_of(capsys, ["scale", str(repository.path), "-o", out, "--executor-option", "x"])
    message = error_of(capsys, ["scale", str(repository.path), "-o", out, "--executor", "slurm"])
    assert "partition" in message and "--executor-option" in message
    assert "repository path not found" in error_of(capsys, ["scale", str(tmp_path / "nope"), "-o", out])
    assert "tasks and partitions must be >= 1" in error_of(capsys, ["scale", str(repository.path), "-o", out,
                                                                   "--tasks", "0"])
    assert main(["scale", str(repository.path), "-o", out, "--languages", "go"]) == 0
    assert "other settings (changed: commitpack)" in error_of(capsys, ["scale", str(repository.path), "-o", out])

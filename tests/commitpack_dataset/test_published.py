"""Loading the published JSONL layout (``data/<config>/*.jsonl``) as per-language builder configs."""

import json

import pytest

from commitpack_dataset.builders import FIELDS, CommitPack, CommitPackFT, CommitPackConfig


def row(sha, lang, path, **extra):
    record = {"commit": sha * 40, "old_file": path, "new_file": path, "old_contents": "a\n", "new_contents": "b\n",
              "subject": f"Fix {sha}", "message": f"Fix {sha}\n\nbody", "lang": lang, "license": "mit",
              "repos": "o/r,o/fork"}
    record.update(extra)
    return record


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def published(tmp_path):
    """A directory laid out like bigcode/commitpack: sharded language files with returncode/stderr."""
    root = tmp_path / "commitpack"
    extra = {"returncode": 0, "stderr": ""}
    write_jsonl(root / "data" / "python" / "python-0001.jsonl", [row("1", "Python", "a.py", **extra),
                                                                 row("2", "Python", "b.py", **extra)])
    write_jsonl(root / "data" / "python" / "python-0002.jsonl",
                [row("3", "Python", "c.py", returncode=128, stderr="fatal: remote error: upload-pack: not our ref")])
    write_jsonl(root / "data" / "c++" / "c++-0001.jsonl", [row("4", "C++", "d.cpp", **extra)])
    write_jsonl(root / "data" / "go" / "go-0001.jsonl", [row("5", "Go", "e.go", **extra)])
    (root / "README.md").write_text("not data\n")
    return root


def load(builder_class, tmp_path, data_dir, **config):
    builder = builder_class(cache_dir=str(tmp_path / "cache"), source="published", data_dir=str(data_dir), **config)
    builder.download_and_prepare()
    return builder, builder.as_dataset("train")


def test_language_configs_read_their_directory(published, tmp_path):
    _, python = load(CommitPack, tmp_path, published, config_name="python")
    assert list(python.features) == list(FIELDS) + ["returncode", "stderr"]  # CommitPack's 12 fields (A.1)
    assert python["commit"] == ["1" * 40, "2" * 40, "3" * 40]
    assert python[0] == row("1", "Python", "a.py", returncode=0, stderr="")
    assert python[2]["returncode"] == 128 and python[2]["stderr"].startswith("fatal: ")
    _, cpp = load(CommitPack, tmp_path, published, config_name="c++")
    assert cpp["lang"] == ["C++"]
    _, ft = load(CommitPackFT, tmp_path / "ft", published, config_name="python")
    assert list(ft.features) == list(FIELDS) and ft[0] == row("1", "Python", "a.py")  # CommitPackFT's 10 fields


def test_all_config_and_language_override(published, tmp_path):
    builder, everything = load(CommitPack, tmp_path, published, config_name="all")
    assert sorted(everything["lang"]) == ["C++", "Go", "Python", "Python", "Python"]
    assert builder.drop_statistics() == {}
    _, some = load(CommitPack, tmp_path / "x", published, config_name="all", languages=("Go", "C++"))
    assert sorted(some["lang"]) == ["C++", "Go"]


def test_commitpackft_reads_cli_mined_layout(tmp_path):
    """The CLI writes ``data/<config>/data.jsonl`` like bigcode/commitpackft; the builder reads it back."""
    from commitpack_dataset.cli import main
    from tests.commitpack_dataset.gitrepo import GitRepo, build_two_language_history

    repo = GitRepo(tmp_path / "octo" / "multilang")
    build_two_language_history(repo)
    out = tmp_path / "ft"
    assert main(["mine", str(repo.path), "-o", str(out), "--ft", "--tokenizer", "estimate"]) == 0
    _, javascript = load(CommitPackFT, tmp_path, out, config_name="javascript")
    mined = [json.loads(line) for line in (out / "data" / "javascript" / "data.jsonl").read_text().splitlines()]
    assert javascript.to_list() == mined and len(mined) == 1


def test_published_from_local_hub(local_hub, published, tmp_path):
    repo_id = local_hub.repo_id("commitpack-published")
    local_hub.api.create_repo(repo_id, repo_type="dataset")
    local_hub.api.upload_folder(repo_id=repo_id, folder_path=str(published), repo_type="dataset")
    _, python = load(CommitPack, tmp_path, f"hf://datasets/{repo_id}", config_name="python")
    assert python["commit"] == ["1" * 40, "2" * 40, "3" * 40]


def test_published_errors(published, tmp_path):
    with pytest.raises(ValueError, match="needs data_dir"):
        CommitPackConfig(name="x", source="published")
    with pytest.raises(ValueError, match="source must be one of"):
        CommitPack(config_name="python", source="elsewhere")
    with pytest.raises(FileNotFoundError):
        load(CommitPack, tmp_path, published, config_name="rust")
    write_jsonl(published / "data" / "java" / "java-0001.jsonl", [{"commit": "x"}])
    with pytest.raises(Exception) as raised:  # datasets wraps it in DatasetGenerationError
        load(CommitPack, tmp_path / "j", published, config_name="java")
    assert "missing CommitPack fields" in str(raised.value.__cause__ or raised.value)

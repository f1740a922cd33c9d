"""``octopack-hub``: dry runs that send nothing, push/pull of a dataset folder (offline once pulled),
local card rendering, and ``serve`` (the dev hub as a process, with its token and storage kept)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hub_cards.cli import hub_main
from hub_cards.dev_hub import DEFAULT_NAMESPACE
from tests.hub_cards.card_examples import MODEL_INFO, RESULTS, facts


def dataset_folder(tmp_path: Path) -> Path:
    """``data/python/*.jsonl`` and ``data/rust/*.parquet`` plus card_facts.json (rows left to the data)."""
    from datasets import Dataset

    folder = tmp_path / "built"
    (folder / "data" / "python").mkdir(parents=True)
    rows = [{"instruction": f"task {n}", "response": f"answer {n}", "lang": "Python", "seed": "s"} for n in range(3)]
    (folder / "data" / "python" / "part-0.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    Dataset.from_list([{**rows[0], "lang": "Rust"}]).to_parquet(str(folder / "data" / "rust" / "000.parquet"))
    example = facts("oss-instruct")
    del example["configs"]
    (folder / "card_facts.json").write_text(json.dumps(example))
    return folder


def test_dataset_folder_dry_run_push_and_offline_pull(local_hub, tmp_path, capsys, monkeypatch):
    from datasets import load_dataset
    from huggingface_hub import constants

    folder = dataset_folder(tmp_path)
    repo_id = local_hub.repo_id("cli-oss")
    assert hub_main(["push", "dataset", str(folder), repo_id, "--dry-run", "--private"]) == 0
    preview = capsys.readouterr().out
    assert preview.startswith(f"would push one commit to the dataset repository {repo_id} (private)")
    assert "+ data/python/train-00000-of-00001.parquet" in preview and "+ data/rust/000.parquet" in preview
    assert "----- README.md -----" in preview and "| `python` | python | 3 |" in preview
    assert not local_hub.api.repo_exists(repo_id, repo_type="dataset")

    assert hub_main(["push", "dataset", str(folder), repo_id, "--revision", "dev"]) == 0
    assert f"pushed 2 config(s) (python, rust) to {repo_id} @ dev in commit" in capsys.readouterr().out
    loaded = load_dataset(repo_id, "python", split="train", revision="dev")
    assert loaded["instruction"] == ["task 0", "task 1", "task 2"]
    assert load_dataset(repo_id, "rust", split="train", revision="dev")["lang"] == ["Rust"]

    out = tmp_path / "pulled"
    assert hub_main(["pull", "dataset", repo_id, "--revision", "dev", "--config", "rust", "--output", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == str(out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and ".cache" not in p.parts) \
        == ["README.md", "data/rust/000.parquet"]
    assert hub_main(["pull", "dataset", repo_id, "--revision", "dev", "--config", "rust"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (Path(lines[0]) / "data" / "rust" / "000.parquet").is_file()
    assert lines[-1].endswith(f'load_dataset("{repo_id}", "rust", split="train", revision="dev")')
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hub_main(["pull", "dataset", repo_id, "--revision", "dev", "--config", "rust"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == lines[0]
    assert hub_main(["pull", "model", local_hub.repo_id("never-pulled")]) == 1
    assert "not in the local cache" in capsys.readouterr().err


def test_errors_are_one_line_and_name_the_fix(local_hub, tmp_path, capsys):
    folder = dataset_folder(tmp_path)
    example = facts("oss-instruct", configs={"python": {"rows": 5}})
    (folder / "card_facts.json").write_text(json.dumps(example))
    assert hub_main(["push", "dataset", str(folder), local_hub.repo_id("x"), "--dry-run"]) == 1
    assert "the card facts say config 'python' has 5 rows, the data has 3" in capsys.readouterr().err
    assert hub_main(["push", "dataset", str(tmp_path / "nowhere"), local_hub.repo_id("x")]) == 1
    assert "has no data/<config>/ folders" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text(json.dumps({"results": {"humanevalfix-python": {"pass@1": 40}}}))
    assert hub_main(["push", "results", str(tmp_path / "bad.json"), local_hub.repo_id("m"), "--dry-run"]) == 1
    assert "octopack-hub: error:" in capsys.readouterr().err


def test_local_cards_and_a_model_dry_run(tmp_path, capsys):
    from huggingface_hub import DatasetCard, ModelCard

    from hub_cards import render_model_card

    (tmp_path / "facts.json").write_text(json.dumps(facts("commitpackft")))
    assert hub_main(["card", "dataset", str(tmp_path / "facts.json"), "-o", str(tmp_path / "DATASET.md")]) == 0
    assert DatasetCard.load(tmp_path / "DATASET.md").data.pretty_name == "CommitPackFT"
    capsys.readouterr()

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    render_model_card(MODEL_INFO).save(model / "README.md")
    (tmp_path / "results.json").write_text(json.dumps(RESULTS))
    original = (model / "README.md").read_text()
    assert hub_main(["push", "model", str(model), "octo-user/m", "--results", str(tmp_path / "results.json"),
                     "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+ config.json" in out and "## Evaluation" in out and "model-index:" in out
    assert (model / "README.md").read_text() == original  # the folder is not modified
    assert hub_main(["card", "results", str(tmp_path / "results.json"), str(model / "README.md")]) == 0
    assert len(ModelCard.load(model / "README.md").data.eval_results) == 18


def test_serve_prints_the_environment_and_keeps_token_and_repositories(tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    def start(sigint_ignored: bool = False) -> tuple[subprocess.Popen, dict]:
        # a background job (`cmd &` in a script, nohup) inherits SIGINT ignored
        ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
        process = subprocess.Popen([sys.executable, "-m", "hub_cards.cli", "serve", "--port", "0",
                                    "--root", str(tmp_path / "hub")], stdout=subprocess.PIPE, text=True,
                                   preexec_fn=ignore)
        exports = {}
        for line in process.stdout:
            if line.startswith("export "):
                name, value = line[len("export "):].strip().split("=", 1)
                exports[name] = value
            if "HF_UPDATE_DOWNLOAD_COUNTS" in exports:
                return process, exports
        pytest.fail(f"octopack-hub serve exited with {process.wait()} before printing its environment")

    process, env = start(sigint_ignored=True)
    try:
        assert env["HF_HUB_DISABLE_XET"] == "1" and env["HF_ENDPOINT"].startswith("http://127.0.0.1:")
        api = HfApi(endpoint=env["HF_ENDPOINT"], token=env["HF_TOKEN"])
        assert api.whoami()["name"] == DEFAULT_NAMESPACE
        with pytest.raises(HfHubHTTPError, match="Invalid user token"):  # the 401 whoami maps to
            HfApi(endpoint=env["HF_ENDPOINT"], token="hf_not_this_one").whoami()
        api.create_repo("kept")
        api.upload_file(path_or_fileobj=b"kept across restarts", path_in_repo="notes.txt", repo_id="octo-user/kept")
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    process, again = start()
    try:
        assert again["HF_TOKEN"] == env["HF_TOKEN"]  # made once per root
        api = HfApi(endpoint=again["HF_ENDPOINT"], token=again["HF_TOKEN"])
        assert api.list_repo_files("octo-user/kept") == [".gitattributes", "notes.txt"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

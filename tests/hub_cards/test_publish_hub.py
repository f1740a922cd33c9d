"""Pushes through ``hub_cards`` against the dev hub: an OSS-Instruct-shaped dataset per language
(private, on a branch, pulled back offline), a push killed midway, a tiny model with its results."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
from huggingface_hub import DatasetCard, HfApi, ModelCard, hf_hub_download
from huggingface_hub.errors import RepositoryNotFoundError

from hub_cards import HubPushError, pull, push_dataset, push_folder, render_dataset_card, render_model_card
from hub_cards.cli import hub_main
from hub_cards.dev_hub import HubRequestHandler
from hub_cards.results import eval_results, parse_results
from tests.hub_cards.card_examples import MODEL_INFO, RESULTS, facts

LANGUAGES = {"python": "Python", "rust": "Rust", "cpp": "C++"}


def oss_rows(version: int = 1) -> list[dict]:
    """Rows shaped like OSS-Instruct output: instruction, response, lang, seed."""
    rows = []
    for index, (config, language) in enumerate(LANGUAGES.items()):
        for n in range(3 - index):
            rows.append({"instruction": f"v{version}: write a {language} function number {n} ✓",
                         "response": f"```{config}\n// solution {n}\n```", "lang": language,
                         "seed": f"snippet {n} of {config}"})
    return rows


def per_language(rows: list[dict]):
    from datasets import Dataset

    return {config: Dataset.from_list([row for row in rows if row["lang"] == language])
            for config, language in LANGUAGES.items()}


def oss_card(repo_id: str, configs, revision: str | None = None):
    counts = {name: {"rows": len(data), "language": LANGUAGES[name]} for name, data in configs.items()}
    return render_dataset_card(facts("oss-instruct", repo_id=repo_id, configs=counts, revision=revision))


def test_oss_instruct_dataset_private_on_a_branch_round_trips_and_pulls_offline(local_hub, monkeypatch):
    from datasets import load_dataset
    from huggingface_hub import constants

    repo_id = local_hub.repo_id("oss-instruct")
    configs = per_language(oss_rows())
    commit = push_dataset(repo_id, configs, card=oss_card(repo_id, configs, "v1"), private=True, revision="v1")
    api = local_hub.api
    assert api.list_repo_files(repo_id, repo_type="dataset") == [".gitattributes"]  # main untouched
    assert [c.commit_id for c in api.list_repo_commits(repo_id, repo_type="dataset", revision="v1")][0] == commit.oid
    for config, data in configs.items():
        loaded = load_dataset(repo_id, config, split="train", revision="v1")
        assert loaded.to_list() == data.to_list() and loaded.features == data.features
    card = DatasetCard.load(hf_hub_download(repo_id, "README.md", repo_type="dataset", revision="v1"))
    assert card.data.pretty_name == "OSS-Instruct" and card.data.source_datasets == ["bigcode/the-stack-smol"]
    assert 'load_dataset("octo-user/oss-instruct", "python", split="train", revision="v1")' in card.text
    assert "sha256:9d1f0c4e2b7a" in card.text  # the teacher's prompts fingerprint

    with pytest.raises(RepositoryNotFoundError):  # private: hidden from anonymous users...
        HfApi(endpoint=local_hub.endpoint, token=False).dataset_info(repo_id)
    with pytest.raises(Exception, match="401"):  # ...and from a wrong token
        HfApi(endpoint=local_hub.endpoint, token="hf_wrong").dataset_info(repo_id)
    push_dataset(local_hub.repo_id("public"), configs)
    with pytest.raises(HubPushError, match="exists and is public"):  # never publish what was meant private
        push_dataset(local_hub.repo_id("public"), configs, private=True)

    online = pull(repo_id, repo_type="dataset", revision="v1")
    assert (online.path / "data" / "rust" / "train-00000-of-00001.parquet").is_file() and online.commit == commit.oid
    seen = len(local_hub.server.requests)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    offline = pull(repo_id, repo_type="dataset", revision="v1")
    assert offline == online and len(local_hub.server.requests) == seen  # served from the cache alone


PUSH_SCRIPT = textwrap.dedent("""
    import json, sys
    from datasets import Dataset
    from hub_cards import push_dataset
    rows = json.loads(sys.argv[2])
    configs = {name: Dataset.from_list([r for r in rows if r["lang"] == language])
               for name, language in json.loads(sys.argv[3]).items()}
    push_dataset(sys.argv[1], configs)
""")


def test_a_push_killed_during_its_lfs_uploads_leaves_the_repository_unchanged(local_hub):
    from datasets import load_dataset

    repo_id = local_hub.repo_id("killed")
    first = push_dataset(repo_id, per_language(oss_rows(1)))
    before = local_hub.api.list_repo_tree(repo_id, repo_type="dataset", recursive=True)
    before = sorted((entry.path, getattr(entry, "blob_id", None)) for entry in before)
    child = subprocess.Popen([sys.executable, "-c", PUSH_SCRIPT, repo_id, json.dumps(oss_rows(2)),
                              json.dumps(LANGUAGES)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    original, uploads = HubRequestHandler._lfs_put, []

    def kill_at_the_last_upload(handler, *args):
        uploads.append(args[-1])
        if len(uploads) == len(LANGUAGES):  # the last config's upload: the pusher dies before its answer
            os.kill(child.pid, signal.SIGKILL)  # (a commit per config would have landed two by now)
            child.wait(timeout=30)
        original(handler, *args)  # the object is stored either way

    with pytest.MonkeyPatch.context() as patch:  # not `monkeypatch`: undoing it would undo local_hub too
        patch.setattr(HubRequestHandler, "_lfs_put", kill_at_the_last_upload)
        try:
            assert child.wait(timeout=300) == -signal.SIGKILL, child.stdout.read().decode()[-2000:]
        finally:
            if child.poll() is None:
                child.kill()
    assert len(uploads) == len(LANGUAGES)  # every Parquet file of the new version went up, no commit did
    after = local_hub.api.list_repo_tree(repo_id, repo_type="dataset", recursive=True)
    assert sorted((entry.path, getattr(entry, "blob_id", None)) for entry in after) == before
    assert local_hub.api.dataset_info(repo_id).sha == first.oid
    assert load_dataset(repo_id, "python", split="train")["instruction"][0].startswith("v1:")

    again = push_dataset(repo_id, per_language(oss_rows(2)))  # run again: it finishes, in one commit
    commits = local_hub.api.list_repo_commits(repo_id, repo_type="dataset")
    assert [c.commit_id for c in commits[:2]] == [again.oid, first.oid]
    assert load_dataset(repo_id, "rust", split="train")["instruction"] == [
        row["instruction"] for row in oss_rows(2) if row["lang"] == "Rust"]


def test_a_tiny_model_with_its_results_loads_and_its_card_takes_new_results(local_hub, tmp_path, tiny_model_dir,
                                                                             capsys):
    import torch
    from transformers import AutoModelForCausalLM

    repo_id = local_hub.repo_id("tiny-coder")
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder, ignore=shutil.ignore_patterns("README.md", "stamp.json", ".*"))
    info = {key: value for key, value in MODEL_INFO.items() if key != "lora"}
    render_model_card({**info, "model_id": repo_id, "finetuning": "full", "evaluation": RESULTS}).save(
        folder / "README.md")
    first = push_folder(folder, repo_id)
    pushed = AutoModelForCausalLM.from_pretrained(repo_id)
    local = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert all(torch.equal(tensor, local.state_dict()[name]) for name, tensor in pushed.state_dict().items())
    assert ModelCard.load(repo_id).data.eval_results == eval_results(parse_results(RESULTS))

    files_before = {e.path: e.blob_id for e in local_hub.api.list_repo_tree(repo_id, recursive=True)
                    if hasattr(e, "blob_id")}
    newer = {"sampling": {"temperature": 0.8, "n_samples": 50},
             "results": {"humanevalsynthesize-python": {"pass@1": 0.5, "pass@10": 0.75}}}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    assert hub_main(["push", "results", str(tmp_path / "newer.json"), repo_id]) == 0
    assert "pushed the model card with new results" in capsys.readouterr().out
    files_after = {e.path: e.blob_id for e in local_hub.api.list_repo_tree(repo_id, recursive=True)
                   if hasattr(e, "blob_id")}
    assert {p for p in files_after if files_after[p] != files_before.get(p)} == {"README.md"}  # no retraining
    card = ModelCard.load(repo_id)
    assert card.data.eval_results == eval_results(parse_results(newer))
    assert "| HumanEvalSynthesize | 50.0 |" in card.text and card.data.base_model == "octo-user/tiny-base"
    commits = local_hub.api.list_repo_commits(repo_id)
    assert commits[1].commit_id == first.oid and len(commits) == 3


def test_the_dev_hub_refuses_metadata_the_hub_refuses(local_hub):
    repo_id = local_hub.repo_id("bad-card")
    local_hub.api.create_repo(repo_id)
    with pytest.raises(ValueError, match="not a Hub license identifier"):
        local_hub.api.upload_file(path_or_fileobj=b"---\nlicense: apache2\n---\n# x\n", path_in_repo="README.md",
                                  repo_id=repo_id)
    local_hub.api.update_repo_settings(repo_id, private=True)
    assert local_hub.api.model_info(repo_id).private
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=local_hub.endpoint, token=False).model_info(repo_id)

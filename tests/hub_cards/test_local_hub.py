"""Round trips through the dev hub (``hub_cards.dev_hub``, the tests' local Hub) with the real clients.

Each test pushes with huggingface_hub / datasets / transformers and reads back through the same
public APIs, so a protocol mistake in the server makes the clients fail here before it can make
later tests (dataset pushes, model cards, recipes) fail for confusing reasons.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    DatasetCard,
    DatasetCardData,
    ModelCard,
    ModelCardData,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.support.hub_fixtures import point_clients_at
from hub_cards.dev_hub import HubRequestHandler


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _read_tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and ".cache" not in path.relative_to(folder).parts
    }


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
def test_upload_folder_snapshot_and_revisions(local_hub, tmp_path, repo_type):
    api = local_hub.api
    repo_id = local_hub.repo_id(f"folder-{repo_type}")
    url = api.create_repo(repo_id, repo_type=repo_type, space_sdk="static" if repo_type == "space" else None)
    assert url == local_hub.url(repo_id, repo_type)
    assert url.repo_id == repo_id and url.repo_type == repo_type

    files = {
        "README.md": b"---\nlicense: mit\ntags:\n- octopack\n---\n# Hello\n",
        "notes/info.txt": "small text, ünïcode\n".encode(),
        "代码/示例 file.py": b"print('non-ASCII path with a space')\n",
        "data/blob.bin": os.urandom(300_000),  # binary and a .bin suffix: must travel through LFS
        "weights.safetensors": os.urandom(2_000),
    }
    _write_tree(tmp_path / "v1", files)
    first = api.upload_folder(folder_path=tmp_path / "v1", repo_id=repo_id, repo_type=repo_type,
                              commit_message="first upload")
    assert first.oid and first.commit_url == f"{url}/commit/{first.oid}"
    assert any(method == "PUT" and path.startswith("/lfs-upload/") for method, path, _ in local_hub.server.requests)

    downloaded = snapshot_download(repo_id, repo_type=repo_type)
    snapshot = _read_tree(Path(downloaded))
    assert {k: snapshot[k] for k in files} == files
    assert set(snapshot) == set(files) | {".gitattributes"}
    assert sorted(api.list_repo_files(repo_id, repo_type=repo_type)) == sorted(snapshot)

    tree = {entry.path: entry for entry in api.list_repo_tree(repo_id, repo_type=repo_type, recursive=True)}
    assert tree["data/blob.bin"].lfs is not None and tree["data/blob.bin"].lfs.size == 300_000
    assert tree["notes/info.txt"].lfs is None and tree["notes/info.txt"].size == len(files["notes/info.txt"])
    assert "notes" in tree and not hasattr(tree["notes"], "size")  # a RepoFolder
    (info,) = api.get_paths_info(repo_id, ["notes/info.txt", "missing.txt"], repo_type=repo_type, expand=True)
    assert info.last_commit.oid == first.oid and info.last_commit.title == "first upload"

    assert api.file_exists(repo_id, "notes/info.txt", repo_type=repo_type)
    assert not api.file_exists(repo_id, "notes/absent.txt", repo_type=repo_type)
    repo_info = api.repo_info(repo_id, repo_type=repo_type, files_metadata=True)
    assert repo_info.sha == first.oid
    assert repo_info.card_data["license"] == "mit" and repo_info.tags == ["octopack"]
    assert {s.rfilename for s in repo_info.siblings} == set(snapshot)
    if repo_type == "model":
        assert api.model_info(repo_id).sha == first.oid
    elif repo_type == "dataset":
        assert api.dataset_info(repo_id).sha == first.oid
    else:
        assert api.space_info(repo_id).sdk == "static"

    second = api.upload_file(path_or_fileobj=b"changed\n", path_in_repo="notes/info.txt", repo_id=repo_id,
                             repo_type=repo_type, commit_message="second")
    assert second.oid != first.oid
    assert api.repo_info(repo_id, repo_type=repo_type).sha == second.oid
    latest = hf_hub_download(repo_id, "notes/info.txt", repo_type=repo_type)
    assert Path(latest).read_bytes() == b"changed\n"
    old = hf_hub_download(repo_id, "notes/info.txt", repo_type=repo_type, revision=first.oid)
    assert Path(old).read_bytes() == files["notes/info.txt"]
    short = hf_hub_download(repo_id, "data/blob.bin", repo_type=repo_type, revision=first.oid[:8],
                            local_dir=tmp_path / "short")
    assert Path(short).read_bytes() == files["data/blob.bin"]


def test_commits_deletions_refs_and_delete_repo(local_hub):
    api = local_hub.api
    repo_id = api.create_repo("history").repo_id  # no namespace: lands in the token owner's namespace
    assert repo_id == local_hub.repo_id("history")
    assert api.whoami()["name"] == local_hub.namespace

    added = api.create_commit(repo_id, operations=[
        CommitOperationAdd("keep.txt", b"keep"),
        CommitOperationAdd("drop.txt", b"drop"),
        CommitOperationAdd("folder/a.txt", b"a"),
        CommitOperationAdd("folder/b.txt", b"b"),
    ], commit_message="add four files")
    removed = api.create_commit(repo_id, operations=[
        CommitOperationDelete("drop.txt"),
        CommitOperationDelete("folder/"),
    ], commit_message="remove some", parent_commit=added.oid)
    assert api.list_repo_files(repo_id) == [".gitattributes", "keep.txt"]
    assert sorted(api.list_repo_files(repo_id, revision=added.oid)) == [
        ".gitattributes", "drop.txt", "folder/a.txt", "folder/b.txt", "keep.txt"]
    with pytest.raises(HfHubHTTPError) as stale_parent:  # parent_commit must be the branch head
        api.create_commit(repo_id, operations=[CommitOperationAdd("x.txt", b"x")], commit_message="stale",
                          parent_commit=added.oid)
    assert stale_parent.value.response.status_code == 412

    commits = api.list_repo_commits(repo_id)
    assert [c.commit_id for c in commits[:2]] == [removed.oid, added.oid]
    assert [c.title for c in commits] == ["remove some", "add four files", "initial commit"]

    api.create_branch(repo_id, branch="dev", revision=added.oid)
    api.create_tag(repo_id, tag="v1", revision=added.oid)
    refs = api.list_repo_refs(repo_id)
    assert {b.name: b.target_commit for b in refs.branches} == {"main": removed.oid, "dev": added.oid}
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1", added.oid)]
    assert Path(hf_hub_download(repo_id, "drop.txt", revision="v1")).read_bytes() == b"drop"
    on_dev = api.upload_file(path_or_fileobj=b"dev", path_in_repo="dev.txt", repo_id=repo_id, revision="dev")
    assert api.repo_info(repo_id, revision="dev").sha == on_dev.oid
    assert not api.file_exists(repo_id, "dev.txt")

    pr = api.upload_file(path_or_fileobj=b"pr", path_in_repo="pr.txt", repo_id=repo_id, create_pr=True)
    assert pr.pr_revision == "refs/pr/1" and pr.pr_num == 1
    assert api.file_exists(repo_id, "pr.txt", revision="refs/pr/1") and not api.file_exists(repo_id, "pr.txt")

    api.delete_repo(repo_id)
    assert not api.repo_exists(repo_id)
    api.delete_repo(repo_id, missing_ok=True)


def test_error_paths_raise_the_usual_exceptions(local_hub, tmp_path):
    api = local_hub.api
    repo_id = local_hub.repo_id("errors")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(repo_id, "config.json", cache_dir=tmp_path / "cache")
    with pytest.raises(RepositoryNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
    assert not api.repo_exists(repo_id)

    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=repo_id)
    api.create_repo(repo_id, exist_ok=True)  # a 409 the client tolerates
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "missing.json")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "代码/ünïcödé.json")  # not latin-1: must not break headers
    with pytest.raises(EntryNotFoundError):
        api.list_repo_tree(repo_id, path_in_repo="no/such/dir").__next__()
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo_id, "config.json", revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo_id, revision="0123456789abcdef0123456789abcdef01234567")
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files(repo_id, revision="nope")
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info(repo_id)  # the repo exists, but as a model
    with pytest.raises(ValueError, match="Invalid metadata"):
        api.upload_file(path_or_fileobj=b"---\n[unclosed\n---\n", path_in_repo="README.md", repo_id=repo_id)


def test_model_and_dataset_cards_round_trip(local_hub):
    model_repo = local_hub.repo_id("carded-model")
    card = ModelCard(
        f"---\n{ModelCardData(language='en', license='apache-2.0', library_name='transformers', tags=['code']).to_yaml()}"
        "\n---\n\n# Carded model\n\nFine-tuned on CommitPack.\n"
    )
    local_hub.api.create_repo(model_repo)
    card.push_to_hub(model_repo)
    loaded = ModelCard.load(model_repo)
    assert loaded.content == card.content
    assert loaded.data.to_dict() == card.data.to_dict()
    assert loaded.data.license == "apache-2.0" and loaded.text.strip().endswith("CommitPack.")

    dataset_repo = local_hub.repo_id("carded-dataset")
    dataset_card = DatasetCard(
        f"---\n{DatasetCardData(license='mit', pretty_name='Carded', task_categories=['text-generation']).to_yaml()}"
        "\n---\n\n# Carded dataset\n"
    )
    local_hub.api.create_repo(dataset_repo, repo_type="dataset")
    dataset_card.push_to_hub(dataset_repo)
    loaded_dataset_card = DatasetCard.load(dataset_repo)
    assert loaded_dataset_card.content == dataset_card.content
    assert loaded_dataset_card.data.pretty_name == "Carded"
    assert local_hub.api.dataset_info(dataset_repo).card_data["license"] == "mit"


def test_dataset_push_to_hub_configs_splits_and_streaming(local_hub):
    from datasets import Dataset, DatasetDict, load_dataset

    repo_id = local_hub.repo_id("commits")
    python_rows = {"lang": ["python", "python"], "code": ["print(1)", "def f():\n    return 2\n"]}
    js_rows = {"lang": ["js"], "code": ["console.log(3);"]}
    Dataset.from_dict(python_rows).push_to_hub(repo_id, config_name="python")
    Dataset.from_dict(js_rows).push_to_hub(repo_id, config_name="js")

    assert load_dataset(repo_id, "python", split="train").to_dict() == python_rows
    assert load_dataset(repo_id, "js", split="train").to_dict() == js_rows
    card = DatasetCard.load(repo_id)
    assert sorted(config["config_name"] for config in card.data["configs"]) == ["js", "python"]
    files = local_hub.api.list_repo_files(repo_id, repo_type="dataset")
    assert any(f.startswith("python/train-") and f.endswith(".parquet") for f in files)
    assert any(f.startswith("js/train-") for f in files)

    splits_repo = local_hub.repo_id("splits")
    splits = DatasetDict({
        "train": Dataset.from_dict({"n": list(range(10))}),
        "test": Dataset.from_dict({"n": [100, 101]}),
    })
    splits.push_to_hub(splits_repo)
    loaded = load_dataset(splits_repo)
    assert set(loaded) == {"train", "test"}
    assert loaded["train"]["n"] == list(range(10)) and loaded["test"]["n"] == [100, 101]
    streamed = load_dataset(splits_repo, split="test", streaming=True)
    assert [row["n"] for row in streamed] == [100, 101]


def _tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "def": 3, "return": 4, "x": 5, "(": 6, ")": 7, ":": 8}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>")


def test_transformers_push_and_from_pretrained(local_hub):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2)
    model = LlamaForCausalLM(config)
    tokenizer = _tiny_tokenizer()
    repo_id = local_hub.repo_id("tiny-llama")
    model.push_to_hub(repo_id)
    tokenizer.push_to_hub(repo_id)
    assert "model.safetensors" in local_hub.api.list_repo_files(repo_id)

    reloaded = AutoModelForCausalLM.from_pretrained(repo_id)
    original, restored = model.state_dict(), reloaded.state_dict()
    assert set(original) == set(restored)
    for name, tensor in original.items():
        assert torch.equal(tensor, restored[name]), name
    reloaded_tokenizer = AutoTokenizer.from_pretrained(repo_id)
    text = "def x ( ) : return x"
    assert reloaded_tokenizer(text)["input_ids"] == tokenizer(text)["input_ids"] == [3, 5, 6, 7, 8, 4, 5]
    assert reloaded_tokenizer.eos_token == "</s>"


def test_server_exceptions_are_reported_not_swallowed(local_hub, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated server bug")

    monkeypatch.setattr(HubRequestHandler, "_repo_info", broken)
    with pytest.raises(HfHubHTTPError) as error:
        local_hub.api.model_info(local_hub.repo_id("anything"))
    assert error.value.response.status_code == 500
    assert len(local_hub.server.errors) == 1 and "simulated server bug" in local_hub.server.errors[0]
    local_hub.server.errors.clear()  # otherwise the local_hub teardown fails this test, as intended


def test_point_clients_at_is_undone(local_hub_server, tmp_path):
    import datasets.config
    from huggingface_hub import constants, hf_api

    before = (constants.ENDPOINT, constants.HF_HUB_CACHE, hf_api.api.endpoint, datasets.config.HF_ENDPOINT,
              os.environ.get("HF_ENDPOINT"))
    with pytest.MonkeyPatch.context() as patch:
        point_clients_at(patch, local_hub_server.endpoint, "token", tmp_path)
        assert constants.ENDPOINT == hf_api.api.endpoint == datasets.config.HF_ENDPOINT == local_hub_server.endpoint
        assert constants.HF_HUB_CACHE == str(tmp_path / "hub") and constants.HF_HUB_DISABLE_XET
        assert os.environ["HF_HOME"] == str(tmp_path)
    after = (constants.ENDPOINT, constants.HF_HUB_CACHE, hf_api.api.endpoint, datasets.config.HF_ENDPOINT,
             os.environ.get("HF_ENDPOINT"))
    assert after == before


def test_hf_file_system_ranges_listing_and_writes(local_hub):
    from huggingface_hub import HfFileSystem

    repo_id = local_hub.repo_id("fsspec")
    local_hub.api.create_repo(repo_id, repo_type="dataset")
    payload = bytes(range(256)) * 400
    local_hub.api.upload_file(path_or_fileobj=payload, path_in_repo="dir/data.bin", repo_id=repo_id,
                              repo_type="dataset")
    fs, root = HfFileSystem(), f"datasets/{repo_id}"  # default endpoint and token: the patched ones
    assert fs.info(f"{root}/dir/data.bin")["size"] == len(payload)
    assert fs.ls(f"{root}/dir", detail=False) == [f"{root}/dir/data.bin"]
    assert fs.glob(f"{root}/**/*.bin") == [f"{root}/dir/data.bin"]
    with fs.open(f"{root}/dir/data.bin", "rb", block_size=1024) as handle:
        handle.seek(5000)
        assert handle.read(300) == payload[5000:5300]  # served from byte ranges
    with fs.open(f"{root}/written.txt", "w") as handle:
        handle.write("written through fsspec")
    assert local_hub.server.read_file(repo_id, "written.txt", repo_type="dataset") == b"written through fsspec"


def test_subprocesses_inherit_the_redirection(local_hub, tmp_path):
    """The ``hf`` CLI in a child process reaches the local hub through the patched environment."""
    hf = Path(sys.executable).with_name("hf")
    repo_id = local_hub.repo_id("cli")
    (tmp_path / "up.txt").write_text("through the CLI")
    for args in (["repos", "create", repo_id], ["upload", repo_id, str(tmp_path / "up.txt"), "up.txt"],
                 ["download", repo_id, "up.txt", "--local-dir", str(tmp_path / "down")]):
        subprocess.run([str(hf), *args], check=True, capture_output=True, timeout=120)
    assert (tmp_path / "down" / "up.txt").read_text() == "through the CLI"
    assert local_hub.server.read_file(repo_id, "up.txt") == b"through the CLI"

"""Recipe repositories on the local Hub: push with a README, pull by ``hf://`` URL, pins and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from huggingface_hub import HfFileSystem, ModelCard

import octo_trainer
from hub_cards import (
    RecipeNotFoundError,
    RecipeURLError,
    hub_license,
    parse_recipe_url,
    pull_recipe,
    push_folder,
    push_recipes,
    recipe_url,
)
from hub_cards.cli import main as recipes_cli

RECIPES = Path(octo_trainer.__file__).parent / "recipes"
TINY = ("tiny-cpu/full.yaml", "tiny-cpu/lora.yaml", "tiny-cpu/qlora.yaml")


def copy_tiny(tmp_path: Path) -> Path:
    """The three tiny-cpu variants (not whatever else ships there) in a folder of their own."""
    folder = tmp_path / "recipes"
    (folder / "tiny-cpu").mkdir(parents=True)
    for path in TINY:
        shutil.copyfile(RECIPES / path, folder / path)
    return folder


@pytest.mark.parametrize(("url", "expected"), [
    ("hf://o/r/tiny-cpu/lora.yaml", ("model", "o/r", None, "tiny-cpu/lora.yaml")),
    ("hf://o/r/tiny-cpu/lora", ("model", "o/r", None, "tiny-cpu/lora.yaml")),
    ("hf://datasets/o/r@v1/a.yml", ("dataset", "o/r", "v1", "a.yml")),
    ("hf://spaces/o/r@0123abcd/x/y.yaml", ("space", "o/r", "0123abcd", "x/y.yaml")),
    ("hf://o/r@refs/pr/1/tiny-cpu/lora.yaml", ("model", "o/r", "refs/pr/1", "tiny-cpu/lora.yaml")),
    ("hf://o/r@feature%2Fx/lora.yaml", ("model", "o/r", "feature/x", "lora.yaml")),
    ("hf://o/r/dir/file@1.yaml", ("model", "o/r", None, "dir/file@1.yaml")),
])
def test_parse_recipe_url(url, expected):
    ref = parse_recipe_url(url)
    assert (ref.repo_type, ref.repo_id, ref.revision, ref.path) == expected
    assert parse_recipe_url(ref.url) == ref  # the canonical form parses back


@pytest.mark.parametrize(("url", "says"), [
    ("hf://just-a-name", "namespace/name"),
    ("hf://o/r", "no file in it"),
    ("hf://o/r@/x.yaml", "Empty revision"),
    ("hf://dataset/o/r/x.yaml", "plural"),
    ("hf://buckets/o/r/x.yaml", "bucket"),
    ("https://example.com/o/r/x.yaml", "Unrecognized host"),
])
def test_malformed_urls_show_the_expected_form(url, says):
    with pytest.raises(RecipeURLError, match=says) as error:
        parse_recipe_url(url)
    assert "hf://" in str(error.value)


def test_urls_parse_like_hf_file_system(local_hub):
    """Same repo, revision and path as ``HfFileSystem.resolve_path`` for branches, '/' branches and PR refs."""
    api = local_hub.api
    repo_id = local_hub.repo_id("parse-like-fsspec")
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"a: 1\n", path_in_repo="m/v.yaml", repo_id=repo_id)
    api.create_branch(repo_id, branch="feature/x")
    api.upload_file(path_or_fileobj=b"a: 2\n", path_in_repo="m/v.yaml", repo_id=repo_id, create_pr=True)
    fs = HfFileSystem()
    for revision in (None, "main", "feature/x", "refs/pr/1"):
        url = recipe_url(repo_id, "m/v.yaml", revision=revision)
        ours = parse_recipe_url(url)
        theirs = fs.resolve_path(url)
        assert (ours.repo_type, ours.repo_id, ours.revision or "main", ours.path) == (
            theirs.repo_type, theirs.repo_id, theirs.revision, theirs.path_in_repo), url
    assert fs.cat(recipe_url(repo_id, "m/v.yaml", revision="refs/pr/1")) == b"a: 2\n"
    assert pull_recipe(recipe_url(repo_id, "m/v.yaml", revision="refs/pr/1")).path.read_bytes() == b"a: 2\n"
    assert pull_recipe(recipe_url(repo_id, "m/v.yaml", revision="feature/x")).path.read_bytes() == b"a: 1\n"


def test_push_tiny_recipes_with_a_readme_and_pull_them_back(local_hub, tmp_path):
    repo_id = local_hub.repo_id("recipes")
    commit = push_recipes(RECIPES, repo_id, files=["tiny-cpu/*.yaml"], license="apache-2.0")
    shipped = sorted(p.relative_to(RECIPES).as_posix() for p in (RECIPES / "tiny-cpu").glob("*.yaml"))
    assert set(TINY) <= set(shipped)
    files = local_hub.api.list_repo_files(repo_id)
    assert sorted(files) == sorted([".gitattributes", "README.md", *shipped])  # only the chosen files

    card = ModelCard.load(repo_id)
    assert card.data.tags == ["octopack", "trl", "sft", "recipes"] and card.data.license == "apache-2.0"
    for path in shipped:
        assert f"octopack sft --config hf://{repo_id}/{path}" in card.text
    assert "| [tiny-cpu/lora.yaml](tiny-cpu/lora.yaml) | octopack-tiny | magicoder | LoRA r=8 | 4 × 2 |" in card.text
    assert "| [tiny-cpu/qlora.yaml](tiny-cpu/qlora.yaml) | octopack-tiny | magicoder | QLoRA 4-bit r=8 | 4 × 2 |" in card.text
    assert "Global batch 8 = per-device 4 x gradient accumulation 2 x 1 device (CPU)." in card.text  # comment
    assert f"hf://{repo_id}@<commit-or-tag>/{shipped[0]}" in card.text

    pulled = pull_recipe(f"hf://{repo_id}/tiny-cpu/lora.yaml")
    assert pulled.path.read_text() == (RECIPES / "tiny-cpu" / "lora.yaml").read_text()
    assert pulled.commit == commit.oid
    assert pulled.pinned_url == f"hf://{repo_id}@{commit.oid}/tiny-cpu/lora.yaml"
    assert Path(pulled.path).is_relative_to(local_hub.hf_home)  # through the Hub cache (HF_HOME)


def test_a_revision_pin_pulls_the_old_version_after_a_change(local_hub, tmp_path):
    folder = copy_tiny(tmp_path)
    repo_id = local_hub.repo_id("pinned")
    first = push_recipes(folder, repo_id)
    local_hub.api.create_tag(repo_id, tag="v1", revision=first.oid)
    recipe = folder / "tiny-cpu" / "lora.yaml"
    recipe.write_text(recipe.read_text().replace("learning_rate: 1.0e-2", "learning_rate: 3.0e-3"))
    second = push_recipes(folder, repo_id, files=["tiny-cpu/lora.yaml"])
    assert second.oid != first.oid

    def learning_rate(url: str) -> float:
        return yaml.safe_load(pull_recipe(url).path.read_text())["learning_rate"]

    assert learning_rate(f"hf://{repo_id}/tiny-cpu/lora.yaml") == 3e-3
    assert learning_rate(f"hf://{repo_id}@{first.oid}/tiny-cpu/lora.yaml") == 1e-2
    assert learning_rate(f"hf://{repo_id}@{first.oid[:10]}/tiny-cpu/lora.yaml") == 1e-2
    assert learning_rate(f"hf://{repo_id}@v1/tiny-cpu/lora.yaml") == 1e-2
    assert pull_recipe(f"hf://{repo_id}@v1/tiny-cpu/lora.yaml").commit == first.oid
    # pushing one file kept the others, and the README still lists all three
    assert all(local_hub.api.file_exists(repo_id, path) for path in TINY)
    readme = local_hub.server.read_file(repo_id, "README.md").decode()
    assert all(f"hf://{repo_id}/{path}" in readme for path in TINY)


def test_push_to_a_branch_and_a_dataset_repo(local_hub, tmp_path):
    folder = copy_tiny(tmp_path)
    repo_id = local_hub.repo_id("branchy")
    push_recipes(folder, repo_id, files=["tiny-cpu/full.yaml"])
    push_recipes(folder, repo_id, files=["tiny-cpu/lora.yaml"], revision="experiments")
    assert not local_hub.api.file_exists(repo_id, "tiny-cpu/lora.yaml")
    assert local_hub.api.file_exists(repo_id, "tiny-cpu/lora.yaml", revision="experiments")
    readme = local_hub.server.read_file(repo_id, "README.md", revision="experiments").decode()
    assert f"hf://{repo_id}@experiments/tiny-cpu/lora.yaml" in readme
    assert pull_recipe(f"hf://{repo_id}@experiments/tiny-cpu/lora.yaml").path.read_text().startswith("# Tiny")

    dataset_repo = local_hub.repo_id("recipes-as-data")
    push_recipes(folder, dataset_repo, repo_type="dataset")
    url = f"hf://datasets/{dataset_repo}/tiny-cpu/qlora.yaml"
    assert url in local_hub.server.read_file(dataset_repo, "README.md", repo_type="dataset").decode()
    assert "load_in_4bit: true" in pull_recipe(url).path.read_text()


def test_missing_repo_revision_and_file_name_the_fix(local_hub, tmp_path):
    repo_id = local_hub.repo_id("errors")
    with pytest.raises(RecipeNotFoundError) as missing_repo:
        pull_recipe(f"hf://{repo_id}/tiny-cpu/lora.yaml")
    message = str(missing_repo.value)
    assert f"no model repository {repo_id!r}" in message and local_hub.endpoint in message
    assert "hf auth login" in message and "HF_TOKEN" in message and "datasets/" in message

    push_recipes(copy_tiny(tmp_path), repo_id)
    local_hub.api.create_tag(repo_id, tag="v1")
    with pytest.raises(RecipeNotFoundError) as missing_revision:
        pull_recipe(f"hf://{repo_id}@v2/tiny-cpu/lora.yaml")
    assert "no revision 'v2'" in str(missing_revision.value)
    assert "branches: main; tags: v1" in str(missing_revision.value)

    with pytest.raises(RecipeNotFoundError) as missing_file:
        pull_recipe(f"hf://{repo_id}@v1/tiny-cpu/lorra.yaml")
    message = str(missing_file.value)
    assert "no file 'tiny-cpu/lorra.yaml'" in message and repo_id in message and "at v1" in message
    assert "YAML files there: tiny-cpu/full.yaml, tiny-cpu/lora.yaml, tiny-cpu/qlora.yaml" in message
    assert f"Did you mean hf://{repo_id}@v1/tiny-cpu/lora.yaml?" in message

    with pytest.raises(RecipeNotFoundError, match="in the dataset repository|no dataset repository"):
        pull_recipe(f"hf://datasets/{repo_id}/tiny-cpu/lora.yaml")  # exists, but as a model repo


def test_push_refuses_a_broken_recipe_before_creating_anything(local_hub, tmp_path):
    folder = tmp_path / "recipes"
    (folder / "m").mkdir(parents=True)
    (folder / "m" / "ok.yaml").write_text("learning_rate: 1.0\n")
    (folder / "m" / "list.yaml").write_text("- not\n- a mapping\n")
    repo_id = local_hub.repo_id("broken")
    with pytest.raises(ValueError, match="m/list.yaml must be a YAML mapping"):
        push_recipes(folder, repo_id)
    assert not local_hub.api.repo_exists(repo_id)
    with pytest.raises(FileNotFoundError, match="matches 'm/none-\\*.yaml'"):
        push_recipes(folder, repo_id, files=["m/none-*.yaml"])


def test_cli_push_and_pull(local_hub, tmp_path, capsys):
    folder = copy_tiny(tmp_path)
    repo_id = local_hub.repo_id("cli-recipes")
    assert recipes_cli(["push", str(folder), repo_id, "--files", "tiny-cpu/lora.yaml"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"pushed 1 recipe(s) to {repo_id} in commit ")
    assert out[1] == f"hf://{repo_id}/tiny-cpu/lora.yaml"

    target = tmp_path / "pulled" / "lora.yaml"
    assert recipes_cli(["pull", out[1], "--output", str(target)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(target) and lines[1].startswith(f"hf://{repo_id}@")
    assert target.read_text() == (folder / "tiny-cpu" / "lora.yaml").read_text()

    assert recipes_cli(["pull", f"hf://{repo_id}/tiny-cpu/full.yaml"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("octopack-recipes: error: ") and "YAML files there: tiny-cpu/lora.yaml" in error
    assert recipes_cli(["pull", "hf://nope"]) == 1
    assert "malformed recipe URL" in capsys.readouterr().err


def test_push_folder_requires_a_card_and_uses_a_branch(local_hub, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "checkpoint-1").mkdir()
    (folder / "checkpoint-1" / "x.bin").write_bytes(b"x")
    repo_id = local_hub.repo_id("published")
    with pytest.raises(FileNotFoundError, match="no README.md model card"):
        push_folder(folder, repo_id)
    (folder / "README.md").write_text("# no metadata\n")
    with pytest.raises(ValueError, match="no YAML metadata"):
        push_folder(folder, repo_id)
    (folder / "README.md").write_text("---\nlicense: mit\ntags:\n- octopack\n---\n# card\n")
    push_folder(folder, repo_id, revision="dev")
    assert sorted(local_hub.api.list_repo_files(repo_id, revision="dev")) == [
        ".gitattributes", "README.md", "config.json"]  # checkpoints left out
    assert local_hub.api.list_repo_files(repo_id) == [".gitattributes"]


def test_hub_license_reads_the_base_models_card(local_hub):
    repo_id = local_hub.repo_id("licensed-base")
    local_hub.api.create_repo(repo_id)
    local_hub.api.upload_file(path_or_fileobj=b"---\nlicense: bigcode-openrail-m\n---\n# base\n",
                              path_in_repo="README.md", repo_id=repo_id)
    assert hub_license(repo_id) == "bigcode-openrail-m"
    assert hub_license(local_hub.repo_id("missing")) is None
    assert hub_license("octopack-tiny") is None


def test_offline_pulls_serve_the_cache(local_hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    repo_id = local_hub.repo_id("offline")
    push_recipes(copy_tiny(tmp_path), repo_id)
    online = pull_recipe(f"hf://{repo_id}/tiny-cpu/lora.yaml")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    offline = pull_recipe(f"hf://{repo_id}/tiny-cpu/lora.yaml")
    assert offline.path.read_text() == online.path.read_text()
    assert offline.commit == online.commit and offline.pinned_url == online.pinned_url
    with pytest.raises(RecipeNotFoundError, match="not in the local cache .*HF_HUB_OFFLINE is set"):
        pull_recipe(f"hf://{repo_id}/tiny-cpu/full.yaml")

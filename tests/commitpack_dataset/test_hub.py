"""Round trip through the local Hub: git repo -> builder -> push per language -> load_dataset per config."""

import pytest

from commitpack_dataset.builders import FIELDS, CommitPack, CommitPackFT
from commitpack_dataset.publish import push_languages, split_by_language
from tests.commitpack_dataset.gitrepo import GitRepo

PY_OLD, PY_NEW = "x = 1\n" * 40, "x = 2\n" * 40
JS_OLD, JS_NEW = "let a = 1;\n" * 30, "let a = 2;\n" * 30
GO_OLD, GO_NEW = "var b = 1\n" * 30, "var b = 2\n" * 30


def build_two_language_history(repo):
    """Initial import, then commits kept by CommitPackFT in Python, JavaScript and Go; one multi-file drop."""
    repo.commit("Initial import", {"app.py": PY_OLD, "web/main.js": JS_OLD, "srv/main.go": GO_OLD})
    repo.commit("Fix the handling of nested lists", {"app.py": PY_NEW})
    repo.commit("Improve the rendering of the page header", {"web/main.js": JS_NEW})
    repo.commit("Change two files at once", {"app.py": PY_OLD, "web/main.js": JS_OLD})
    repo.commit("Add the missing error check to the server", {"srv/main.go": GO_NEW})
    repo.commit("Refactor the loop of the program", {"app.py": PY_NEW + "y = 1\n"})


@pytest.fixture
def repository(tmp_path):
    repo = GitRepo(tmp_path / "octo" / "multilang")
    build_two_language_history(repo)
    return repo


def sorted_rows(dataset):
    return sorted((dict(row) for row in dataset), key=lambda row: row["commit"])


@pytest.mark.parametrize("builder_class", [CommitPack, CommitPackFT])
def test_push_per_language_and_load_each_config(local_hub, repository, tmp_path, builder_class):
    from datasets import get_dataset_config_names, load_dataset

    builder = builder_class(cache_dir=str(tmp_path / "cache"), config_name="all",
                            repositories=(str(repository.path),), tokenizer="estimate")
    builder.download_and_prepare()
    built = builder.as_dataset("train")
    assert set(built["lang"]) == {"Python", "JavaScript", "Go"}

    repo_id = local_hub.repo_id(builder.dataset_name)
    pushed = push_languages(built, repo_id)
    assert sorted(pushed) == ["go", "javascript", "python"]
    assert sorted(get_dataset_config_names(repo_id)) == ["go", "javascript", "python"]
    files = local_hub.api.list_repo_files(repo_id, repo_type="dataset")
    assert {f.split("/")[1] for f in files if f.startswith("data/")} == {"go", "javascript", "python"}
    assert all(f.endswith(".parquet") for f in files if f.startswith("data/"))

    expected = {name: sorted_rows(subset) for name, subset in split_by_language(built).items()}
    assert sum(len(rows) for rows in expected.values()) == len(built)
    for name in pushed:
        loaded = load_dataset(repo_id, name, split="train")
        assert list(loaded.features) == list(FIELDS)
        assert sorted_rows(loaded) == expected[name]
    assert {row["commit"] for row in expected["python"]} == set(
        sha for sha, lang in zip(built["commit"], built["lang"]) if lang == "Python")
    assert len(expected["python"]) == 2 and len(expected["javascript"]) == 1 and len(expected["go"]) == 1

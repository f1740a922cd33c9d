"""Round trip through the local Hub: git repo -> builder -> push per language (one commit, with the
dataset card) -> ``load_dataset(repo, config)`` per config and ``DatasetCard.load``."""

import pytest

from commitpack_dataset.builders import FIELDS, CommitPack, CommitPackFT
from commitpack_dataset.publish import language_subsets, push_builder, push_languages
from tests.commitpack_dataset.gitrepo import GitRepo

PY_OLD, PY_NEW = "x = 1\n" * 40, "x = 2\n" * 40
JS_OLD, JS_NEW = "let a = 1;\n" * 30, "let a = 2;\n" * 30
GO_OLD, GO_NEW = "var b = 1\n" * 30, "var b = 2\n" * 30
MIT = """MIT License

Copyright (c) 2024 Tester

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def build_three_language_history(repo):
    """Initial import, then commits kept by CommitPackFT in Python, JavaScript and Go; one multi-file drop."""
    repo.commit("Initial import", {"LICENSE": MIT, "app.py": PY_OLD, "web/main.js": JS_OLD, "srv/main.go": GO_OLD})
    repo.commit("Fix the handling of nested lists", {"app.py": PY_NEW})
    repo.commit("Improve the rendering of the page header", {"web/main.js": JS_NEW})
    repo.commit("Change two files at once", {"app.py": PY_OLD, "web/main.js": JS_OLD})
    repo.commit("Add the missing error check to the server", {"srv/main.go": GO_NEW})
    repo.commit("Refactor the loop of the program", {"app.py": PY_NEW + "y = 1\n"})
    repo.commit("fixed it", {"app.py": PY_NEW})  # CommitPack keeps it; CommitPackFT: subject too short


@pytest.fixture
def repository(tmp_path):
    repo = GitRepo(tmp_path / "octo" / "multilang")
    build_three_language_history(repo)
    return repo


def sorted_rows(dataset):
    return sorted((dict(row) for row in dataset), key=lambda row: row["commit"])


def built(builder_class, repository, tmp_path):
    builder = builder_class(cache_dir=str(tmp_path / "cache"), config_name="all",
                            repositories=(str(repository.path),), tokenizer="estimate")
    builder.download_and_prepare()
    return builder, builder.as_dataset("train")


def test_commitpackft_with_its_card_round_trips_per_language(local_hub, repository, tmp_path):
    from datasets import get_dataset_config_names, load_dataset
    from huggingface_hub import DatasetCard

    builder, dataset = built(CommitPackFT, repository, tmp_path)
    assert set(dataset["lang"]) == {"Python", "JavaScript", "Go"}
    repo_id = local_hub.repo_id("commitpackft")
    preview = push_builder(builder, repo_id, dry_run=True)
    assert "data/python/train-00000-of-00001.parquet" in preview and "# CommitPackFT" in preview
    assert not local_hub.api.repo_exists(repo_id, repo_type="dataset")  # a dry run sends nothing

    commit = push_builder(builder, repo_id)
    commits = local_hub.api.list_repo_commits(repo_id, repo_type="dataset")
    assert [c.commit_id for c in commits] == [commit.oid, commits[1].commit_id] and len(commits) == 2  # one push
    assert sorted(get_dataset_config_names(repo_id)) == ["go", "javascript", "python"]
    expected = {name: sorted_rows(subset) for name, subset in language_subsets(dataset).items()}
    for name in expected:
        loaded = load_dataset(repo_id, name, split="train")
        assert list(loaded.features) == list(FIELDS) and loaded.features == dataset.features
        assert sorted_rows(loaded) == expected[name]

    card = DatasetCard.load(repo_id)
    assert card.data.license == "mit" and card.data.size_categories == ["n<1K"]
    assert card.data.pretty_name == "CommitPackFT" and "commitpackft" in card.data.tags
    assert [c["config_name"] for c in card.data.configs] == ["go", "javascript", "python"]
    head = repository.head()
    assert f"| octo/multilang | {head[:12]} | HEAD | mit | 4 |" in card.text  # the revision mined
    assert f'load_dataset("{repo_id}", "python", split="train")' in card.text
    drops = builder.drop_statistics()
    assert drops["subject_length"] == 1 and drops["multiple_modified_files"] == 1
    assert "| `subject_length` | CommitPackFT (B) |" in card.text and "| `subject_not_uppercase` |" in card.text
    assert f"Considered {len(dataset) + sum(drops.values())}, dropped {sum(drops.values())}, kept 4." in card.text
    assert "**Not decontaminated**" in card.text


def test_commitpack_languages_push_keeps_the_card_and_replaces_configs(local_hub, repository, tmp_path):
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    builder, dataset = built(CommitPack, repository, tmp_path)
    repo_id = local_hub.repo_id(builder.dataset_name)
    push_builder(builder, repo_id)
    only_python = dataset.filter(lambda row: row["lang"] == "Python").select([0])
    assert push_languages(only_python, repo_id) == ["python"]  # no card given: the repository's is kept
    assert len(load_dataset(repo_id, "python", split="train")) == 1
    assert sorted_rows(load_dataset(repo_id, "go", split="train")) == expected_rows(dataset, "Go")
    card = DatasetCard.load(repo_id)
    assert card.data.pretty_name == "CommitPack"
    info = {entry["config_name"]: entry for entry in card.data["dataset_info"]}
    assert info["python"]["splits"][0]["num_examples"] == 1 and info["go"]["splits"][0]["num_examples"] == 1


def expected_rows(dataset, language):
    return sorted_rows(dataset.filter(lambda row: row["lang"] == language))

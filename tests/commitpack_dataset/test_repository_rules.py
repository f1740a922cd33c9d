"""Builder behaviour around the repositories: the repository-language rule (A.2-2), the SQL's
one-license-per-commit rule, unreadable repositories, empty results, our switchable additions to
the released scripts, and the token counter of the CommitPackFT token rule."""

import json
import subprocess
import warnings

import pytest

from commitpack_dataset.builders import CommitPack, CommitPackFT
from commitpack_dataset.cli import main
from commitpack_dataset.repositories import (
    LISTED_LANGUAGES,
    UnreadableRepository,
    has_listed_language,
    is_listed_language,
)
from tests.commitpack_dataset.gitrepo import GitRepo, license_text

OLD, NEW = "x = 1\n" * 40, "x = 2\n" * 40


def prepare(builder_class, cache_dir, num_proc=None, **config):
    builder = builder_class(cache_dir=str(cache_dir), **config)
    builder.download_and_prepare(num_proc=num_proc)
    return builder, builder.as_dataset("train")


def licensed_repo(path, files=None, license_name="MIT"):
    repo = GitRepo(path)
    repo.commit("Initial import", {"LICENSE": license_text(license_name), "app.py": OLD, **(files or {})})
    return repo


# ------------------------------------------------------------------ A.2-2 repository languages
@pytest.mark.parametrize("language", LISTED_LANGUAGES + ("Perl", "Perl6"))
def test_each_listed_language_counts(language):
    assert len(LISTED_LANGUAGES) == 21  # + the "Perl%" prefix pattern = the SQL's 22 clauses
    assert is_listed_language(language)
    if not language.startswith("Perl"):
        assert not is_listed_language(language + "x") and not is_listed_language(language.lower() + "_")


def test_repository_languages_come_from_the_language_map():
    from commitpack_dataset.languages import language_extensions

    for language in LISTED_LANGUAGES:
        suffixes = language_extensions().get(language)
        if suffixes:  # MATLAB is not in the map (Matlab is)
            assert has_listed_language([f"src/file{suffixes[0]}"]), language
    assert has_listed_language(["README.md", "lib/x.pm"])  # Perl
    assert not has_listed_language(["README.md", "data.json", "notes.txt", "ci.yml", "Makefile"])
    assert not has_listed_language([])


def test_repository_without_a_listed_language_is_dropped(tmp_path):
    docs = GitRepo(tmp_path / "octo" / "docs")
    docs.commit("Initial import", {"LICENSE": license_text("MIT"), "README.md": "# a\n", "data.json": "{}\n"})
    docs.commit("Explain the installation steps", {"README.md": "# a\n\nInstall it.\n"})
    code = licensed_repo(tmp_path / "octo" / "code", {"README.md": "# b\n"})
    code.commit("Explain the installation steps", {"README.md": "# b\n\nInstall it.\n"})
    builder, dataset = prepare(CommitPack, tmp_path / "cache", config_name="markdown",
                               repositories=(str(docs.path), str(code.path)))
    assert dataset["repos"] == ["octo/code"]  # a Markdown commit of a repository that has Python
    assert builder.drop_counts["repository_language_not_listed"] == 1


# ------------------------------------------------------------------ GROUP BY ... license HAVING COUNT(*) = 1
def test_commit_held_by_repositories_with_different_licenses_is_dropped(tmp_path):
    origin = licensed_repo(tmp_path / "octo" / "origin")
    shared = origin.commit("Fix the handling of nested lists", {"app.py": NEW})
    fork_path = tmp_path / "fork" / "origin"
    subprocess.run(["git", "clone", "-q", str(origin.path), str(fork_path)], check=True)
    fork = GitRepo(fork_path)
    fork.commit("Relicense under Apache", {"LICENSE": license_text("Apache-2.0")})
    own = fork.commit("Improve the loop of the program", {"app.py": NEW + "y = 1\n"})
    same = tmp_path / "mirror" / "origin"
    subprocess.run(["git", "clone", "-q", "--bare", str(origin.path), str(same)], check=True)

    builder, dataset = prepare(CommitPack, tmp_path / "cache", config_name="python",
                               repositories=(str(origin.path), str(fork_path), str(same)))
    rows = {row["commit"]: row for row in dataset}
    assert set(rows) == {own} and rows[own]["license"] == "apache-2.0"
    assert builder.drop_counts["repository_licenses_differ"] == 1  # origin's copy; the others are duplicates
    _, dataset = prepare(CommitPack, tmp_path / "cache2", config_name="python",
                         repositories=(str(origin.path), str(same)))
    assert dataset["commit"] == [shared] and dataset["repos"] == ["octo/origin,mirror/origin"]


# ------------------------------------------------------------------ unreadable repositories, empty results
def unreadable_repositories(tmp_path):
    """location -> reason of repositories git cannot read."""
    plain = tmp_path / "plain" / "dir"
    plain.mkdir(parents=True)
    empty = GitRepo(tmp_path / "empty" / "repo")
    corrupt = licensed_repo(tmp_path / "corrupt" / "repo")
    corrupt.commit("Fix the handling of nested lists", {"app.py": NEW})
    head = corrupt.head()
    (corrupt.path / ".git" / "objects" / head[:2] / head[2:]).write_bytes(b"garbage")
    return {str(plain): "repository_unavailable", str(tmp_path / "nowhere"): "repository_unavailable",
            str(empty.path): "repository_empty", str(corrupt.path): "repository_corrupt"}


def tree_missing_repository(path):
    """A repository whose commits all exist but whose middle commit's tree is gone: git log stops there."""
    repo = licensed_repo(path)
    repo.commit("Fix the handling of nested lists", {"app.py": NEW})
    repo.commit("Improve the loop of the program", {"app.py": NEW + "y = 1\n"})
    tree = repo.git("rev-parse", "HEAD~1^{tree}")
    (repo.path / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    return repo


def test_unreadable_repository_is_an_error_naming_it(tmp_path):
    good = licensed_repo(tmp_path / "octo" / "good")
    good.commit("Fix the handling of nested lists", {"app.py": NEW})
    for location, reason in unreadable_repositories(tmp_path).items():
        builder = CommitPack(cache_dir=str(tmp_path / "cache"), config_name="python",
                             repositories=(str(good.path), location))
        with pytest.raises(UnreadableRepository, match=reason) as raised:
            builder.download_and_prepare()
        assert location in str(raised.value) and "skip_unreadable_repositories" in str(raised.value)
    with pytest.raises(UnreadableRepository, match="revision_not_found"):
        CommitPack(cache_dir=str(tmp_path / "cache"), config_name="python", repositories=(str(good.path),),
                   revisions=("v9",)).download_and_prepare()

    broken = tree_missing_repository(tmp_path / "octo" / "broken")
    for num_proc in (None, 2):  # raised in a worker: still our error, and nothing is cached
        builder = CommitPack(cache_dir=str(tmp_path / f"cache-{num_proc}"), config_name="python",
                             repositories=(str(good.path), str(broken.path)))
        with pytest.raises(UnreadableRepository, match="git_log_failed") as raised:
            builder.download_and_prepare(num_proc=num_proc)
        assert str(broken.path) in str(raised.value)
        assert not list((tmp_path / f"cache-{num_proc}").rglob("*.arrow"))


def test_unreadable_repositories_can_be_skipped_and_are_listed(tmp_path):
    good = licensed_repo(tmp_path / "octo" / "good")
    sha = good.commit("Fix the handling of nested lists", {"app.py": NEW})
    unreadable = unreadable_repositories(tmp_path)
    broken = tree_missing_repository(tmp_path / "octo" / "broken")
    unreadable[str(broken.path)] = "git_log_failed"
    with pytest.warns(UserWarning, match="skipped 4 unreadable repositories") as caught:
        builder, dataset = prepare(CommitPack, tmp_path / "cache", config_name="python",
                                   repositories=(str(good.path), *unreadable), skip_unreadable_repositories=True)
    assert any("skipped 1 unreadable repositories" in str(w.message) and str(broken.path) in str(w.message)
               for w in caught)
    assert sha in dataset["commit"]
    assert {row["location"]: row["reason"] for row in builder.skipped_repositories()} == unreadable
    counts = builder.drop_statistics()
    assert counts["repository_unavailable"] == 2 and counts["repository_empty"] == 1
    assert counts["repository_corrupt"] == 1 and counts["git_log_failed"] == 1


def test_zero_surviving_rows_is_an_empty_split_with_the_drop_table(tmp_path):
    repo = licensed_repo(tmp_path / "octo" / "repo")
    repo.commit("update", {"app.py": NEW})
    builder = CommitPackFT(cache_dir=str(tmp_path / "cache"), config_name="python", repositories=(str(repo.path),),
                           tokenizer="estimate")
    with pytest.warns(UserWarning, match=r"(?s)train split of commitpackft/python is empty.*message_blocklist\s+1"):
        builder.download_and_prepare()
    dataset = builder.as_dataset("train")
    assert len(dataset) == 0 and list(dataset.features) == list(builder.info.features)
    assert len(builder.as_dataset()["train"]) == 0
    again = CommitPackFT(cache_dir=str(tmp_path / "cache"), config_name="python", repositories=(str(repo.path),),
                         tokenizer="estimate")
    again.download_and_prepare()  # from the cache
    assert len(again.as_dataset("train")) == 0


def test_cli_names_unreadable_repositories_and_can_skip_them(tmp_path, capsys):
    good = licensed_repo(tmp_path / "octo" / "good")
    good.commit("Fix the handling of nested lists", {"app.py": NEW})
    empty = GitRepo(tmp_path / "empty" / "repo")
    out = tmp_path / "out"
    assert main(["mine", str(good.path), str(empty.path), "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"cannot read repository {empty.path} (repository_empty" in error and "--skip-unreadable" in error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["mine", str(good.path), str(empty.path), "-o", str(out), "--skip-unreadable-repositories"]) == 0
    summary = json.loads((out / "drop_counts.json").read_text())
    assert summary["kept"] == 1 and summary["drop_counts"]["repository_empty"] == 1


# ------------------------------------------------------------------ our additions, each switchable
def additions_repository(tmp_path):
    """One commit for each of our additions: a large file, a binary file, a merge (not named "merge"),
    a submodule bump and a symlink change."""
    sub = GitRepo(tmp_path / "sub")
    sub_first, sub_second = sub.commit("s1", {"x": "1"}), sub.commit("s2", {"x": "2"})
    repo = licensed_repo(tmp_path / "octo" / "extras", {"big.txt": "a\n", "raw.txt": b"\x00\x01", "lib.py": OLD})
    shas = {"large": repo.commit("Grow the big file", {"big.txt": "b\n" * 600})}
    shas["binary"] = repo.commit("Change the raw data", {"raw.txt": b"\x00\x02"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("Change the library value", {"lib.py": NEW})
    repo.git("checkout", "-q", "main")
    repo.commit("Change the application value", {"app.py": NEW})
    repo.git("merge", "-q", "--no-ff", "-m", "Bring in the library change", "side")
    shas["merge"] = repo.head()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub_first},vendor.js")
    repo.git("commit", "-q", "-m", "Add the vendored engine")
    repo.git("update-index", "--cacheinfo", f"160000,{sub_second},vendor.js")
    repo.git("commit", "-q", "-m", "Update the vendored engine")
    shas["submodule"] = repo.head()
    (repo.path / "alias.py").symlink_to("app.py")
    repo.commit("Add an alias of the application")
    (repo.path / "alias.py").unlink()
    (repo.path / "alias.py").symlink_to("lib.py")
    shas["symlink"] = repo.commit("Point the alias at the library")
    return repo, shas


ADDITIONS = {  # switch -> (value turning it off, drop reason, commit)
    "max_blob_bytes": (0, "blob_too_large", "large"),
    "skip_binary": (False, "binary", "binary"),
    "drop_merge_commits": (False, "merge_commit", "merge"),
    "skip_submodules_and_symlinks": (False, "symlink", "symlink"),
}


def test_each_addition_is_a_drop_reason_and_switchable(tmp_path):
    repo, shas = additions_repository(tmp_path)
    options = {"config_name": "all", "repositories": (str(repo.path),), "max_blob_bytes": 1000}
    builder, dataset = prepare(CommitPack, tmp_path / "on", **options)
    counts = builder.drop_statistics()
    assert {counts[reason] for _, reason, _ in ADDITIONS.values()} == {1} and counts["submodule"] == 1
    assert not {shas[name] for name in shas} & set(dataset["commit"])
    for switch, (off, reason, name) in ADDITIONS.items():
        builder, dataset = prepare(CommitPack, tmp_path / switch, **{**options, switch: off})
        rows = {row["commit"]: row for row in dataset}
        assert shas[name] in rows and builder.drop_statistics()[reason] == 0, switch
    merge = rows_of(tmp_path / "merges", options, drop_merge_commits=False)[shas["merge"]]
    assert (merge["old_contents"], merge["new_contents"]) == (OLD, NEW)  # against the first parent
    links = rows_of(tmp_path / "links", options, skip_submodules_and_symlinks=False)
    assert (links[shas["symlink"]]["old_contents"], links[shas["symlink"]]["new_contents"]) == ("app.py", "lib.py")
    assert (links[shas["submodule"]]["old_contents"], links[shas["submodule"]]["new_contents"]) == ("", "")


def test_the_blob_cap_is_one_megabyte_by_default(tmp_path):
    repo = licensed_repo(tmp_path / "octo" / "big", {"big.txt": "a\n"})
    at_cap = repo.commit("Grow the big file to the cap", {"big.txt": "b" * 1_000_000})
    repo.commit("Grow the big file past the cap", {"big.txt": "c" * 1_000_001})
    builder, dataset = prepare(CommitPack, tmp_path / "cache", config_name="text", repositories=(str(repo.path),))
    assert dataset["commit"] == [at_cap] and builder.drop_statistics()["blob_too_large"] == 1


def rows_of(cache_dir, options, **changes):
    _, dataset = prepare(CommitPack, cache_dir, **{**options, **changes})
    return {row["commit"]: row for row in dataset}


def test_each_addition_switches_off_from_the_cli(tmp_path):
    repo, _ = additions_repository(tmp_path)
    counts = {}
    for name, flags in {"on": [], "off": ["--max-blob-bytes", "0", "--keep-binary", "--keep-merge-commits",
                                          "--keep-submodules-and-symlinks"]}.items():
        assert main(["mine", str(repo.path), "-o", str(tmp_path / name), "--max-blob-bytes", "1000", *flags]) == 0
        counts[name] = json.loads((tmp_path / name / "drop_counts.json").read_text())
    reasons = ("blob_too_large", "binary", "merge_commit", "submodule", "symlink")
    assert all(counts["on"]["drop_counts"][reason] == 1 for reason in reasons)
    assert not any(reason in counts["off"]["drop_counts"] for reason in reasons)
    assert counts["off"]["kept"] == counts["on"]["kept"] + 5  # large, binary, merge, submodule, symlink


# ------------------------------------------------------------------ the token counter
def tiny_tokenizer_dir(path):
    """A real tokenizer on disk: one token per whitespace/punctuation-separated word."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, "x": 1, "=": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]").save_pretrained(str(path))
    return path


def ft_repository(path):
    """Two CommitPackFT commits: one of 363 tokens (208 estimated), one of 9 (5 estimated)."""
    repo = licensed_repo(path, {"lib.py": "y = 1\n"})
    big = repo.commit("Fix the handling of nested lists", {"app.py": "x = 2\n" * 80})
    small = repo.commit("Improve the value of the constant", {"lib.py": "y = 2\n"})
    return repo, big, small


def test_a_tokenizer_that_cannot_be_loaded_falls_back_loudly(local_hub, tmp_path):
    """``bigcode/starcoder`` (the default) is not on this Hub: estimate, with a warning, recorded."""
    repo, big, small = ft_repository(tmp_path / "octo" / "repo")
    builder = CommitPackFT(cache_dir=str(tmp_path / "cache"), config_name="python", repositories=(str(repo.path),),
                           min_tokens=150)
    with pytest.warns(UserWarning, match="tokenizer 'bigcode/starcoder' could not be loaded"):
        builder.download_and_prepare(num_proc=1)
    counter = builder.token_counter()
    assert counter["requested"] == "bigcode/starcoder" and counter["used"] == "estimate" and counter["fallback"]
    assert builder.drop_statistics()["token_length_estimated"] == 1  # the small change
    assert builder.as_dataset("train")["commit"] == [big]
    assert "byte-length estimates" in builder.info.description and "bigcode/starcoder" in builder.info.description
    assert "could not be loaded" in builder.statistics_report()
    cached = CommitPackFT(cache_dir=str(tmp_path / "cache"), config_name="python", repositories=(str(repo.path),),
                          min_tokens=150)
    assert "byte-length estimates" in cached.info.description  # stored in the dataset info


def test_a_local_tokenizer_or_a_hub_id_counts_real_tokens(local_hub, tmp_path):
    repo, big, small = ft_repository(tmp_path / "octo" / "repo")
    local = tiny_tokenizer_dir(tmp_path / "tokenizer")
    repo_id = local_hub.repo_id("tiny-tokenizer")
    local_hub.api.create_repo(repo_id)
    local_hub.api.upload_folder(repo_id=repo_id, folder_path=str(local))
    for choice in (str(local), repo_id):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # no fallback
            builder, dataset = prepare(CommitPackFT, tmp_path / choice.replace("/", "_"), config_name="python",
                                       repositories=(str(repo.path),), tokenizer=choice, min_tokens=150)
        assert builder.token_counter() == {"requested": choice, "used": choice, "fallback": ""}
        assert dataset["commit"] == [big] and builder.drop_statistics()["token_length"] == 1

"""End-to-end tests: real git repositories -> CommitPack / CommitPackFT builders -> Arrow."""

import subprocess
from collections import Counter

import pytest

from commitpack_dataset.builders import FIELDS, CommitPack, CommitPackFT, license_revision, repository_name
from commitpack_dataset.licenses import detect_repository_license, identify_license_text
from tests.commitpack_dataset.gitrepo import GitRepo, license_text


OLD_APP = "x = 1\n" * 40
NEW_APP = "x = 2\n" * 40


def build_history(repo):
    """A history with one commit of each interesting kind; returns the shas of the kept ones."""
    shas = {}
    repo.commit("Initial import", {
        "LICENSE": license_text("MIT"), "app.py": OLD_APP, "lib.py": "a = 1\n", "raw.txt": b"\x00\x01",
        "notes.txt": "caf\n", "move_me.py": "m = 1\n" * 10,
    })
    shas["good"] = repo.commit("[core] Fix the handling of nested lists", {"app.py": NEW_APP})
    repo.commit("Change two files at once", {"app.py": OLD_APP, "lib.py": "a = 2\n"})
    repo.git("mv", "move_me.py", "moved.py")
    repo.commit("Rename the module to moved")
    repo.commit("Change the binary image", {"raw.txt": b"\x00\x02"})
    repo.commit("update", {"lib.py": "a = 3\n"})
    shas["latin1"] = repo.commit("Add accented words to the file", {"notes.txt": b"caf\xe9 cr\xe8me\n"})
    repo.commit("Update lib.py", {"lib.py": "a = 4\n"})
    repo.commit("Merged by hand into lib", {"lib.py": "a = 5\n"})
    repo.git("checkout", "-q", "-b", "side")
    shas["side"] = repo.commit("Refactor the library module for reuse", {"lib.py": "a = 6\n"})
    repo.git("checkout", "-q", "main")
    shas["main"] = repo.commit("Improve the output format of the program", {"app.py": NEW_APP + "y = 1\n"})
    repo.git("merge", "-q", "--no-edit", "side")
    return shas


EXPECTED_COMMITPACK_DROPS = Counter({
    "root_commit": 1, "multiple_modified_files": 1, "no_modified_file": 1, "binary": 1,
    "message_blocklist": 1, "web_editor_default_message": 1, "message_merge_prefix": 1, "merge_commit": 1,
})


@pytest.fixture
def history(tmp_path):
    repo = GitRepo(tmp_path / "octo" / "repo")
    return repo, build_history(repo)


def prepare(builder_class, tmp_path, **config):
    builder = builder_class(cache_dir=str(tmp_path / "cache"), **config)
    builder.download_and_prepare()
    return builder, builder.as_dataset("train")


def test_commitpack_exact_records_and_drops(history, tmp_path):
    repo, shas = history
    builder, dataset = prepare(CommitPack, tmp_path, config_name="all", repositories=(str(repo.path),))
    rows = {row["commit"]: row for row in dataset}
    assert list(dataset.features) == list(FIELDS)
    assert set(rows) == {shas["good"], shas["latin1"], shas["side"], shas["main"]}
    assert rows[shas["good"]] == {
        "commit": shas["good"], "old_file": "app.py", "new_file": "app.py",
        "old_contents": OLD_APP, "new_contents": NEW_APP,
        "subject": "[core] Fix the handling of nested lists",
        "message": "[core] Fix the handling of nested lists",
        "lang": "Python", "license": "mit", "repos": "octo/repo",
    }
    latin1 = rows[shas["latin1"]]
    assert latin1["new_contents"] == "caf crme\n" and latin1["lang"] == "Text"
    assert builder.drop_counts == EXPECTED_COMMITPACK_DROPS
    assert builder.drop_statistics() == EXPECTED_COMMITPACK_DROPS
    cached = CommitPack(cache_dir=str(tmp_path / "cache"), config_name="all", repositories=(str(repo.path),))
    cached.download_and_prepare()  # reuses the cache: nothing mined, statistics read back
    assert cached.drop_counts == Counter() and cached.drop_statistics() == EXPECTED_COMMITPACK_DROPS


def test_language_config_selects_language(history, tmp_path):
    repo, shas = history
    builder, dataset = prepare(CommitPack, tmp_path, config_name="text", repositories=(str(repo.path),))
    assert dataset["commit"] == [shas["latin1"]]
    assert builder.drop_counts["language_not_selected"] == 3


def test_commitpackft_round_trip(history, tmp_path):
    repo, shas = history
    builder, dataset = prepare(CommitPackFT, tmp_path, config_name="python", repositories=(str(repo.path),),
                               tokenizer="estimate")
    rows = {row["commit"]: row for row in dataset}
    # good: subject cleaned; main: kept; side: "lib" occurs in "library" -> filename_in_subject.
    assert set(rows) == {shas["good"], shas["main"]}
    assert rows[shas["good"]]["subject"] == "Fix the handling of nested lists"
    assert rows[shas["good"]]["message"] == "[core] Fix the handling of nested lists"
    assert builder.drop_counts == Counter({
        "root_commit": 1, "multiple_modified_files": 1, "no_modified_file": 1, "merge_commit": 1,
        "message_blocklist": 1, "web_editor_default_message": 1, "message_merge_prefix": 1,
        "language_not_selected": 2,  # the two .txt commits, dropped before their blobs are read
        "filename_in_subject": 1,
    })


def test_commitpackft_token_length_estimate_is_flagged(history, tmp_path):
    repo, shas = history
    builder = CommitPackFT(cache_dir=str(tmp_path / "cache"), config_name="text", repositories=(str(repo.path),),
                           tokenizer="estimate")
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == 0
    assert builder.drop_counts["token_length_estimated"] == 1  # the tiny accented-words file
    assert builder.drop_counts["binary"] == 1


def test_fork_dedup_is_global_across_num_proc_shards(history, tmp_path):
    """A commit held by two repositories in different shards (num_proc=2) yields one row."""
    repo, shas = history
    fork = tmp_path / "fork-owner" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(fork)], check=True)
    single, dataset = prepare(CommitPack, tmp_path, config_name="all",
                              repositories=(str(repo.path), str(fork)))
    assert len(dataset) == 4
    assert set(dataset["repos"]) == {"octo/repo,fork-owner/repo"}

    sharded = CommitPack(cache_dir=str(tmp_path / "cache2"), config_name="all",
                         repositories=(str(repo.path), str(fork)))
    sharded.download_and_prepare(num_proc=2)
    rows = sharded.as_dataset("train")
    shard_files = [p for p in (tmp_path / "cache2").rglob("drop_counts/*.json") if p.name != "repositories.json"]
    assert len(shard_files) == 2  # one per worker: the repositories were mined apart
    assert sorted(rows["commit"]) == sorted(dataset["commit"]) and set(rows["repos"]) == {"octo/repo,fork-owner/repo"}
    assert sharded.drop_statistics() == single.drop_statistics()
    # git log drops happen in both repositories, the fork's candidates are duplicates of origin's
    assert sharded.drop_statistics()["duplicate_commit"] == 8  # every candidate of the fork
    assert sharded.drop_statistics()["merge_commit"] == 2 * EXPECTED_COMMITPACK_DROPS["merge_commit"]


def test_shallow_first_holder_leaves_its_boundary_commit_to_a_full_clone(history, tmp_path):
    """The boundary commit of a shallow clone has no parent there; the full repository makes its record."""
    repo, shas = history
    shallow = tmp_path / "shallow" / "repo"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo.path}", str(shallow)], check=True)
    assert sorted((shallow / ".git" / "shallow").read_text().split()) == sorted([shas["main"], shas["side"]])
    _, dataset = prepare(CommitPack, tmp_path, config_name="all", repositories=(str(shallow), str(repo.path)))
    rows = {row["commit"]: row for row in dataset}
    assert set(rows) == {shas["good"], shas["latin1"], shas["side"], shas["main"]}
    assert rows[shas["main"]]["repos"] == rows[shas["side"]]["repos"] == "octo/repo"


def test_missing_blob_in_the_first_holder_is_read_from_another(tmp_path):
    """The first repository holding a commit lacks one of its blobs: the copy is read from the fork."""
    origin = GitRepo(tmp_path / "octo" / "origin")
    origin.commit("Initial import", {"LICENSE": license_text("MIT"), "app.py": OLD_APP})
    sha = origin.commit("Fix the handling of nested lists", {"app.py": NEW_APP})
    fork = tmp_path / "fork-owner" / "origin"
    subprocess.run(["git", "clone", "-q", "--bare", "--no-local", str(origin.path), str(fork)], check=True)
    blob = origin.git("rev-parse", f"{sha}:app.py")
    (origin.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    for num_proc in (None, 2):
        builder = CommitPack(cache_dir=str(tmp_path / f"cache{num_proc}"), config_name="python",
                             repositories=(str(origin.path), str(fork)))
        builder.download_and_prepare(num_proc=num_proc)
        rows = builder.as_dataset("train").to_list()
        assert [row["commit"] for row in rows] == [sha] and rows[0]["new_contents"] == NEW_APP
        assert rows[0]["repos"] == "octo/origin,fork-owner/origin"
        assert builder.drop_statistics()["missing_blob"] == 0
        assert builder.drop_statistics()["duplicate_commit"] == 1


def test_clone_url_and_license_policies(history, tmp_path):
    repo, shas = history
    url = f"file://{repo.path}"
    builder, dataset = prepare(CommitPack, tmp_path, config_name="python", repositories=(url,),
                               clone_cache_dir=str(tmp_path / "clones"))
    assert set(dataset["commit"]) == {shas["good"], shas["side"], shas["main"]}

    gpl = GitRepo(tmp_path / "gpl" / "repo")
    gpl.commit("init", {"COPYING": license_text("GPL-3.0"), "a.py": "a = 1\n"})
    gpl.commit("Fix the value of the constant", {"a.py": "a = 2\n"})
    bare = GitRepo(tmp_path / "nolicense" / "repo")
    bare.commit("init", {"a.py": "a = 1\n"})
    bare.commit("Fix the value of the constant", {"a.py": "a = 2\n"})
    repositories = (str(gpl.path), str(bare.path), str(tmp_path / "missing"))

    builder, dataset = prepare(CommitPack, tmp_path / "keep", config_name="python", repositories=repositories,
                               license_policy="keep-unknown", skip_unreadable_repositories=True)
    assert dataset["license"] == ["unknown"]
    assert dataset["repos"] == ["nolicense/repo"]
    assert builder.drop_counts["repository_license_not_allowed"] == 1
    assert builder.drop_counts["repository_unavailable"] == 1
    assert [row["location"] for row in builder.skipped_repositories()] == [str(tmp_path / "missing")]

    # faithful (the default): only allow-listed licenses, as the released SQL's inner join
    for options in ({}, {"license_policy": "drop-unknown"}, {"faithful": False, "license_policy": "drop-unknown"}):
        builder = CommitPack(cache_dir=str(tmp_path / "drop" / str(len(options))), config_name="python",
                             repositories=repositories[:2], **options)
        with pytest.warns(UserWarning, match="repository_license_unknown"):
            builder.download_and_prepare()
        assert builder.info.splits["train"].num_examples == 0 and len(builder.as_dataset("train")) == 0
        assert builder.drop_counts == Counter({"repository_license_unknown": 1, "repository_license_not_allowed": 1})
    builder, dataset = prepare(CommitPack, tmp_path / "corrected", config_name="python",
                               repositories=repositories[:2], faithful=False)
    assert dataset["repos"] == ["nolicense/repo"]  # not faithful: keep-unknown by default


def test_license_override_and_detection(history, tmp_path):
    repo, _ = history
    assert detect_repository_license(repo.path / ".git") == "mit"
    assert identify_license_text(license_text("Apache-2.0")) == "apache-2.0"
    assert identify_license_text("all rights reserved") == "unknown"
    _, dataset = prepare(CommitPack, tmp_path, config_name="python", repositories=(str(repo.path),),
                         repository_licenses=((str(repo.path), "isc"),))
    assert set(dataset["license"]) == {"isc"}


def test_invalid_license_policy():
    with pytest.raises(ValueError):
        CommitPack(config_name="python", license_policy="maybe")


@pytest.mark.parametrize("logins, faithful, dropped", [
    (("octo",), True, 3), (("OCTO",), True, 0), (("OCTO",), False, 3), (("octo-other",), True, 0), ((), True, 0)])
def test_opt_out_logins(history, tmp_path, logins, faithful, dropped):
    repo, _ = history
    builder = CommitPack(cache_dir=str(tmp_path / "cache"), config_name="python", repositories=(str(repo.path),),
                         opt_out_logins=logins, faithful=faithful)
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == 3 - dropped
    assert builder.drop_counts["repository_owner_opted_out"] == dropped


def test_the_stack_opt_out_logins_are_on_by_default(tmp_path):
    """The 44 shipped logins (package data) drop a single-repository row of their owner, case-sensitively."""
    from commitpack_dataset.filters.commitpack import opt_out_logins

    assert len(opt_out_logins()) == 44 and "DrTimothyAldenDavis" in opt_out_logins()
    kept = {}
    for owner in ("tomas", "Tomas", "DrTimothyAldenDavis", "drtimothyaldendavis"):
        repo = GitRepo(tmp_path / owner / "tool")
        repo.commit("Initial import", {"LICENSE": license_text("MIT"), "a.py": OLD_APP})
        repo.commit("Fix the value of the constant", {"a.py": NEW_APP})
        builder, dataset = prepare(CommitPack, tmp_path / f"cache-{owner}", config_name="python",
                                   repositories=(str(repo.path),))
        kept[owner] = len(dataset)
    assert kept == {"tomas": 0, "Tomas": 1, "DrTimothyAldenDavis": 0, "drtimothyaldendavis": 1}


@pytest.mark.parametrize(
    "revisions, tip",
    [(("HEAD",), "HEAD"), (("--all",), "HEAD"), (("v1..v2",), "v2"), (("v1...main",), "main"),
     (("main", "^v1"), "main"), (("v1..",), "HEAD")],
)
def test_license_revision(revisions, tip):
    assert license_revision(revisions) == tip


@pytest.mark.parametrize(
    "location, name",
    [("https://github.com/bigcode-project/octopack.git", "bigcode-project/octopack"),
     ("git@github.com:owner/repo.git", "owner/repo"), ("/tmp/x/owner/name/", "owner/name")],
)
def test_repository_name(location, name):
    assert repository_name(location) == name


def test_repository_name_of_a_relative_path_is_that_of_the_directory(tmp_path, monkeypatch):
    (tmp_path / "owner" / "name").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "owner" / "name")
    assert repository_name(".") == repository_name("./") == "owner/name"

"""Tests for the git log + cat-file miner, on real repositories built in tmp_path."""

import subprocess

import pytest

from commitpack_dataset.mining import CommitMiner, MiningError, resolve_git_dir
from tests.commitpack_dataset.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path):
    return GitRepo(tmp_path / "repo")


def mine(repo_or_location, **options):
    miner = CommitMiner(**options)
    location = str(getattr(repo_or_location, "path", repo_or_location))
    return miner, list(miner.mine(location))


def test_single_modified_file_with_contents_and_message(repo):
    repo.commit("Initial import", {"app.py": "print(1)\n"})
    sha = repo.commit("Fix the printed value\n\nLonger body.", {"app.py": "print(2)\n"})
    miner, commits = mine(repo)
    assert [c.sha for c in commits] == [sha]
    commit = commits[0]
    assert commit.path == "app.py"
    assert commit.old_contents == "print(1)\n"
    assert commit.new_contents == "print(2)\n"
    assert commit.message == "Fix the printed value\n\nLonger body."
    assert commit.subject == "Fix the printed value"
    assert len(commit.parents) == 1
    assert miner.skipped == {"root_commit": 1}


def test_faithful_allows_extra_added_file_strict_does_not(repo):
    repo.commit("init", {"a.py": "a\n", "gone.txt": "x\n"})
    sha = repo.commit("Change a and add b", {"a.py": "a2\n", "b.py": "b\n", "gone.txt": None})
    _, faithful = mine(repo)
    assert [c.sha for c in faithful] == [sha]
    strict_miner, strict = mine(repo, strict=True)
    assert strict == []
    assert strict_miner.skipped["strict_not_single_path"] == 1


def test_multiple_modified_files_and_rename_are_skipped(repo):
    repo.commit("init", {"a.py": "a\n", "b.py": "b\n", "c.py": "c\n" * 20})
    repo.commit("two files", {"a.py": "a2\n", "b.py": "b2\n"})
    repo.git("mv", "c.py", "d.py")
    repo.commit("rename c to d")
    miner, commits = mine(repo)
    assert commits == []
    # --no-renames: the rename is a delete plus an add, so no modified entry.
    assert miner.skipped == {"root_commit": 1, "multiple_modified_files": 1, "no_modified_file": 1}


def test_binary_and_large_blobs_are_skipped(repo):
    repo.commit("init", {"img.bin": b"\x00\x01", "big.txt": "x"})
    repo.commit("binary change", {"img.bin": b"\x00\x02"})
    repo.commit("large change", {"big.txt": "y" * 5000})
    miner, commits = mine(repo, max_blob_bytes=1000)
    assert commits == []
    assert miner.skipped["binary"] == 1
    assert miner.skipped["blob_too_large"] == 1


def test_merge_commit_is_skipped_with_reason(repo):
    repo.commit("init", {"a.py": "a\n", "b.py": "b\n"})
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit("side change", {"b.py": "b2\n"})
    repo.git("checkout", "-q", "main")
    main = repo.commit("main change", {"a.py": "a2\n"})
    repo.git("merge", "-q", "--no-edit", "side")
    miner, commits = mine(repo)
    assert {c.sha for c in commits} == {side, main}
    assert miner.skipped["merge_commit"] == 1


def test_non_utf8_is_decoded_with_errors_ignored(repo):
    repo.commit("init", {"t.txt": b"caf\xe9\n"})
    repo.commit("change latin1", {"t.txt": b"caf\xe9 ok\xff\n"})
    _, commits = mine(repo)
    assert commits[0].old_contents == "caf\n"
    assert commits[0].new_contents == "caf ok\n"


def test_submodule_entry_is_skipped(repo, tmp_path):
    sub = GitRepo(tmp_path / "sub")
    first = sub.commit("s1", {"x": "1"})
    second = sub.commit("s2", {"x": "2"})
    repo.commit("init", {"a.py": "a\n"})
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{first},vendor")
    repo.git("commit", "-q", "-m", "add submodule")
    repo.git("update-index", "--cacheinfo", f"160000,{second},vendor")
    repo.git("commit", "-q", "-m", "bump submodule")
    miner, commits = mine(repo)
    assert commits == []
    assert miner.skipped["submodule"] == 1


def test_revision_range_and_date_bounds(repo):
    repo.commit("init", {"a.py": "0\n"}, date="2020-01-01T00:00:00+00:00")
    old = repo.commit("change one", {"a.py": "1\n"}, date="2020-06-01T00:00:00+00:00")
    repo.git("tag", "v1")
    new = repo.commit("change two", {"a.py": "2\n"}, date="2022-06-01T00:00:00+00:00")
    _, ranged = mine(repo, revisions=("v1..HEAD",))
    assert [c.sha for c in ranged] == [new]
    _, since = mine(repo, since="2021-01-01")
    assert [c.sha for c in since] == [new]
    _, until = mine(repo, until="2021-01-01")
    assert [c.sha for c in until] == [old]
    assert until[0].author_date.startswith("2020-06-01")


def test_shallow_clone_does_not_crash(repo, tmp_path):
    repo.commit("init", {"a.py": "0\n"})
    repo.commit("one", {"a.py": "1\n"})
    last = repo.commit("two", {"a.py": "2\n"})
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)], check=True)
    miner, commits = mine(shallow)
    assert commits == []  # the boundary commit has no parent in a shallow clone
    assert miner.skipped["root_commit"] == 1
    subprocess.run(["git", "-C", str(shallow), "fetch", "-q", "--deepen", "1"], check=True)
    _, deeper = mine(shallow)
    assert [c.sha for c in deeper] == [last]


def test_missing_blob_is_recorded(repo):
    repo.commit("init", {"a.py": "0\n"})
    repo.commit("one", {"a.py": "1\n"})
    blob = repo.git("rev-parse", "HEAD~1:a.py")
    objects = repo.path / ".git" / "objects"
    (objects / blob[:2] / blob[2:]).unlink()
    miner, commits = mine(repo)
    assert commits == []
    assert miner.skipped["missing_blob"] == 1


def test_corrupt_and_missing_repositories_are_recorded(repo, tmp_path):
    miner, commits = mine(tmp_path / "does-not-exist")
    assert commits == [] and miner.skipped == {"repository_unavailable": 1}
    empty = GitRepo(tmp_path / "empty")  # no commits: HEAD is unborn
    miner, commits = mine(empty)
    assert commits == [] and miner.skipped == {"git_log_failed": 1}
    repo.commit("init", {"a.py": "0\n"})
    head = repo.head()
    (repo.path / ".git" / "objects" / head[:2] / head[2:]).write_bytes(b"garbage")
    miner, commits = mine(repo)
    assert commits == [] and miner.skipped["git_log_failed"] == 1


def test_clone_url_into_cache(repo, tmp_path):
    repo.commit("init", {"a.py": "0\n"})
    sha = repo.commit("one", {"a.py": "1\n"})
    cache = tmp_path / "cache"
    url = f"file://{repo.path}"
    _, commits = mine(url, clone_cache_dir=str(cache))
    assert [c.sha for c in commits] == [sha]
    newer = repo.commit("two", {"a.py": "2\n"})
    _, again = mine(url, clone_cache_dir=str(cache))  # fetches into the existing mirror
    assert [c.sha for c in again] == [newer, sha]
    assert len(list(cache.iterdir())) == 1
    with pytest.raises(MiningError):
        resolve_git_dir(url)  # a URL needs a cache dir


def test_unreachable_url_is_recorded(tmp_path):
    miner, commits = mine(f"file://{tmp_path}/nope", clone_cache_dir=str(tmp_path / "cache"))
    assert commits == [] and miner.skipped == {"repository_unavailable": 1}


def test_blob_reader_survives_a_dead_cat_file(repo):
    from commitpack_dataset.blob_reader import BlobReader

    repo.commit("init", {"a.py": "hello\n"})
    blob = repo.git("rev-parse", "HEAD:a.py")
    with BlobReader(repo.path / ".git") as reader:
        assert reader.read(blob) == b"hello\n"
        for process in reader._processes.values():
            process.kill()
            process.wait()
        assert reader.read(blob) is None  # the failed request
        assert reader.size(blob) is None
        assert reader.read(blob) == b"hello\n"  # restarted
        assert reader.size(blob) == 6
        assert reader.read("0" * 40) is None and reader.size("0" * 40) is None


def test_prefilter_runs_before_blobs_are_read(repo):
    repo.commit("init", {"img.txt": b"\x00\x01", "a.py": "a\n"})
    repo.commit("binary change", {"img.txt": b"\x00\x02"})
    keep = repo.commit("python change", {"a.py": "b\n"})
    seen = []

    def only_python(commit, entry):
        seen.append(entry.path)
        return "" if entry.path.endswith(".py") else "not_python"

    miner, commits = mine(repo, prefilter=only_python)
    assert [c.sha for c in commits] == [keep]
    assert miner.skipped == {"root_commit": 1, "not_python": 1}  # never read, so not "binary"
    assert sorted(seen) == ["a.py", "img.txt"]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 64])
def test_batched_blob_requests_keep_order_and_reasons(repo, batch_size):
    """Skips inside a batch (missing, too large, binary) neither shift nor drop their neighbours."""
    repo.commit("init", {"a.py": "0\n", "big.txt": "x", "img.bin": b"\x00\x01", "gone.py": "g0\n"})
    kept = [repo.commit("a one", {"a.py": "1\n"})]
    repo.commit("large change", {"big.txt": "y" * 5000})
    kept.append(repo.commit("a two", {"a.py": "2\n"}))
    repo.commit("gone one", {"gone.py": "g1\n"})
    repo.commit("binary change", {"img.bin": b"\x00\x02"})
    kept.append(repo.commit("a three", {"a.py": "3\n"}))
    blob = repo.git("rev-parse", "HEAD~2:gone.py")
    (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    miner, commits = mine(repo, max_blob_bytes=1000, batch_size=batch_size)
    assert [c.sha for c in commits] == kept[::-1]
    assert [c.new_contents for c in commits] == ["3\n", "2\n", "1\n"]
    assert [c.old_contents for c in commits] == ["2\n", "1\n", "0\n"]
    assert miner.skipped == {"root_commit": 1, "blob_too_large": 1, "missing_blob": 1, "binary": 1}
    _, unlimited = mine(repo, max_blob_bytes=None, batch_size=batch_size)
    assert len(unlimited) == 4 and unlimited[-2].new_contents == "y" * 5000

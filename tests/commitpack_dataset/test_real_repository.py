"""Mine a real history, the project's own (a fresh clone of this repository), and check the builder
against git itself: every record's contents equal ``git cat-file`` of ``<commit>^:<path>`` and
``<commit>:<path>``, and the commits it drops are exactly those the rules name, recomputed here with
git plumbing (``rev-list --parents``, ``diff-tree``, ``cat-file``), independently of the miner."""

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from commitpack_dataset.builders import CommitPack, CommitPackFT
from commitpack_dataset.filters import commitpack_pipeline, commitpackft_pipeline
from commitpack_dataset.languages import language_of
from commitpack_dataset.mining import DEFAULT_MAX_BLOB_BYTES

PROJECT = Path(__file__).resolve().parents[2]


def git(repository, *args, binary=False):
    out = subprocess.run(["git", "-C", str(repository), *args], check=True, capture_output=True).stdout
    return out if binary else out.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def project_clone(tmp_path_factory):
    if not (PROJECT / ".git").exists():
        pytest.skip(f"{PROJECT} is not a git clone: the project's history is what this test mines")
    clone = tmp_path_factory.mktemp("real") / "octopack" / "project"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", f"file://{PROJECT}", str(clone)], check=True)
    return clone


def expected_outcome(clone, commit, parents, rules):
    """The drop reason of ``commit`` (``""``: kept) by the rules in the builder's order, from git plumbing."""
    if len(parents) > 1:
        return "merge_commit", None
    if not parents:
        return "root_commit", None
    raw = git(clone, "diff-tree", "--no-commit-id", "-r", "--raw", "--no-renames", "--no-abbrev", "-z",
              parents[0], commit).split("\0")
    entries = [(raw[i].lstrip(":").split(), raw[i + 1]) for i in range(0, len(raw) - 1, 2)]
    modified = [(meta, path) for meta, path in entries if meta[4] == "M"]
    if not modified:
        return "no_modified_file", None
    if len(modified) > 1:
        return "multiple_modified_files", None
    (old_mode, new_mode, old_blob, new_blob, _), path = modified[0]
    body = git(clone, "cat-file", "commit", commit, binary=True).split(b"\n\n", 1)[1].decode("utf-8", "ignore")
    message = body[:-1] if body.endswith("\n") else body
    record = {"commit": commit, "old_file": path, "new_file": path, "message": message,
              "subject": message.split("\n", 1)[0], "repos": "octopack/project"}
    kept, reason = rules.process(record)
    if kept is None:
        return reason, None
    if "160000" in (old_mode, new_mode):
        return "submodule", None
    if "120000" in (old_mode, new_mode):
        return "symlink", None
    sizes = [int(git(clone, "cat-file", "-s", blob)) for blob in (old_blob, new_blob)]
    if max(sizes) > DEFAULT_MAX_BLOB_BYTES:
        return "blob_too_large", None
    old, new = (git(clone, "cat-file", "blob", blob, binary=True) for blob in (old_blob, new_blob))
    if b"\0" in old + new:
        return "binary", None
    return "", dict(kept, old_contents=old.decode("utf-8", "ignore"), new_contents=new.decode("utf-8", "ignore"))


def test_the_projects_history_matches_git(project_clone, tmp_path):
    clone = project_clone
    builder = CommitPack(cache_dir=str(tmp_path / "cache"), config_name="all", repositories=(str(clone),),
                         license_policy="keep-unknown")  # whatever license the project carries by then
    builder.download_and_prepare()
    rows = {row["commit"]: row for row in builder.as_dataset("train")}

    rules = commitpack_pipeline()
    expected_drops, expected = Counter(), {}
    history = [line.split() for line in git(clone, "rev-list", "--parents", "HEAD").splitlines()]
    for commit, *parents in history:
        reason, record = expected_outcome(clone, commit, parents, rules)
        if reason:
            expected_drops[reason] += 1
        else:
            expected[commit] = record
    assert set(rows) == set(expected)
    assert builder.drop_statistics() == expected_drops
    assert len(history) == len(rows) + sum(expected_drops.values())
    assert len(rows) > 20 and expected_drops["multiple_modified_files"] > 20  # a real history, not a toy

    for commit, row in rows.items():
        path = row["new_file"]
        assert row["old_contents"] == git(clone, "cat-file", "blob", f"{commit}^:{path}", binary=True).decode(
            "utf-8", "ignore")
        assert row["new_contents"] == git(clone, "cat-file", "blob", f"{commit}:{path}", binary=True).decode(
            "utf-8", "ignore")
        assert row["lang"] == (language_of(path) or "unknown") and row["repos"] == "octopack/project"
        assert {k: row[k] for k in ("subject", "message", "old_file")} == {
            k: expected[commit][k] for k in ("subject", "message", "old_file")}

    # CommitPackFT on the same history equals the CommitPackFT rules applied to those records
    ft = CommitPackFT(cache_dir=str(tmp_path / "ft"), config_name="all", repositories=(str(clone),),
                      license_policy="keep-unknown", tokenizer="estimate")
    ft.download_and_prepare()
    pipeline = commitpackft_pipeline(tokenizer="estimate")
    filtered = {commit: kept for commit, kept in ((c, pipeline.process(dict(r))[0]) for c, r in rows.items()) if kept}
    assert {row["commit"]: row for row in ft.as_dataset("train")} == filtered
    assert ft.drop_statistics() == builder.drop_statistics() + pipeline.dropped
    print(f"\nproject history: {len(history)} commits, CommitPack {len(rows)} records, CommitPackFT {len(filtered)}; "
          f"drops {dict(expected_drops.most_common())}; CommitPackFT drops {dict(pipeline.dropped.most_common())}")

"""The datatrove scale-out pipeline on real git repositories: the builder's records and drop counts,
Parquet per language, global dedup across tasks, datatrove's per-reason stats, resume, Hub push."""

import json
import shutil
import subprocess

import pytest

from commitpack_dataset.builders import FIELDS, CommitPack, CommitPackConfig, CommitPackFT
from tests.commitpack_dataset.gitrepo import GitRepo, license_text

PY_OLD, PY_NEW = "x = 1\n" * 40, "x = 2\n" * 40
JS_OLD, JS_NEW = "let a = 1;\n" * 30, "let a = 2;\n" * 30
GO_OLD, GO_NEW = "var b = 1\n" * 30, "var b = 2\n" * 30
SH_OLD, SH_NEW = "echo one\n" * 30, "echo two\n" * 30
RS_OLD, RS_NEW = "let c = 1;\n" * 30, "let c = 2;\n" * 30


def build_repositories(root):
    """origin (MIT), its clone fork/origin with two commits of its own, tools/scripts (no license),
    gpl/tool (GPL: not allowed). Returns (locations in order, shas by name)."""
    shas = {}
    origin = GitRepo(root / "octo" / "origin")
    origin.commit("Initial import", {"LICENSE": license_text("MIT"), "app.py": PY_OLD, "web/main.js": JS_OLD,
                                     "srv/main.go": GO_OLD, "lib.py": "a = 1\n", "raw.txt": b"\x00\x01",
                                     "logo.png": b"\x89PNG\x00"})
    shas["py"] = origin.commit("Fix the handling of nested lists", {"app.py": PY_NEW})
    shas["js"] = origin.commit("Improve the rendering of the page header", {"web/main.js": JS_NEW})
    origin.commit("Change two files at once", {"app.py": PY_OLD, "lib.py": "a = 2\n"})  # multiple_modified_files
    origin.commit("update", {"lib.py": "a = 3\n"})  # message_blocklist
    origin.commit("Update lib.py", {"lib.py": "a = 4\n"})  # web_editor_default_message
    origin.commit("Change the raw data", {"raw.txt": b"\x00\x02"})  # binary
    origin.commit("Replace the logo image", {"logo.png": b"\x89PNG\x01"})  # extension_not_in_map
    (origin.path / "alias.py").symlink_to("app.py")
    origin.commit("Add an alias of the application")  # an added file: no_modified_file
    (origin.path / "alias.py").unlink()
    (origin.path / "alias.py").symlink_to("lib.py")
    origin.commit("Point the alias at the library")  # symlink, dropped when the blobs would be read
    origin.git("checkout", "-q", "-b", "side")
    shas["side"] = origin.commit("Add the missing error check to the server", {"srv/main.go": GO_NEW + "var d = 4\n"})
    origin.git("checkout", "-q", "main")
    shas["go_lower"] = origin.commit("fix the server when it starts", {"srv/main.go": GO_NEW})  # FT: not uppercase
    shas["py_hash"] = origin.commit("Fix #12 in the parser", {"app.py": PY_NEW + "y = 1\n"})  # FT: subject_has_hash
    origin.git("merge", "-q", "--no-edit", "-X", "theirs", "side")  # merge_commit

    fork_path = root / "fork" / "origin"
    subprocess.run(["git", "clone", "-q", str(origin.path), str(fork_path)], check=True)
    fork = GitRepo(fork_path)
    shas["fork_only"] = fork.commit("Refactor the loop of the program", {"app.py": PY_OLD})
    fork.commit("Merged the upstream changes by hand", {"lib.py": "a = 9\n"})  # message_merge_prefix

    tools = GitRepo(root / "tools" / "scripts")
    tools.commit("Initial import", {"bin/qqq.sh": SH_OLD, "src/zzz.rs": RS_OLD})
    shas["sh"] = tools.commit("Stop the script on the first error", {"bin/qqq.sh": SH_NEW})
    shas["rs"] = tools.commit("Speed up the parsing of the input", {"src/zzz.rs": RS_NEW})

    gpl = GitRepo(root / "gpl" / "tool")
    gpl.commit("Initial import", {"COPYING": license_text("GPL-3.0"), "a.py": PY_OLD})
    gpl.commit("Fix the value of the constant", {"a.py": PY_NEW})
    locations = tuple(str(repo.path) for repo in (origin, fork, tools, gpl))
    return locations, shas


@pytest.fixture(scope="module")
def repositories(tmp_path_factory):
    return build_repositories(tmp_path_factory.mktemp("repos"))


def builder_result(builder_class, locations, cache_dir, **config):
    """Rows by commit and drop counts of a builder over all repositories as one shard
    (``keep-unknown``: tools/scripts has no license file)."""
    builder = builder_class(cache_dir=str(cache_dir), config_name="all", repositories=locations,
                            tokenizer="estimate", license_policy="keep-unknown", **config)
    builder.download_and_prepare()
    rows = {row["commit"]: row for row in builder.as_dataset("train")}
    return rows, builder.drop_statistics()


def scale_config(locations, output_dir, ft=False, tasks=2, workers=2, **commitpack):
    from commitpack_dataset.scale import ScaleConfig

    commitpack.setdefault("license_policy", "keep-unknown")
    return ScaleConfig(CommitPackConfig(name="all", repositories=locations, tokenizer="estimate", **commitpack),
                       str(output_dir), ft=ft, tasks=tasks, workers=workers)


def config_output(config):
    from pathlib import Path

    return Path(config.output_dir)


def parquet_rows(output_dir):
    """``config -> rows`` of every Parquet file under ``output_dir/data``."""
    import pyarrow.parquet as pq

    rows = {}
    for path in sorted((output_dir / "data").rglob("*.parquet")):
        table = pq.read_table(path)
        assert table.column_names == list(FIELDS)
        rows.setdefault(path.parent.name, []).extend(table.to_pylist())
    return rows


@pytest.fixture(scope="module")
def commitpack_run(repositories, tmp_path_factory):
    from commitpack_dataset.scale import run_pipeline

    locations, _ = repositories
    output = tmp_path_factory.mktemp("scale") / "out"
    config = scale_config(locations, output)
    return config, run_pipeline(config)


def test_same_records_and_drop_counts_as_the_builder(repositories, commitpack_run, tmp_path):
    locations, shas = repositories
    config, result = commitpack_run
    expected_rows, expected_drops = builder_result(CommitPack, locations, tmp_path / "cache")
    rows = parquet_rows(config_output(config))
    got = {row["commit"]: row for config_rows in rows.values() for row in config_rows}
    assert sum(len(r) for r in rows.values()) == len(got)  # every commit once, across tasks and files
    assert got == expected_rows
    assert result.drop_counts == expected_drops
    assert result.kept == len(expected_rows) and result.complete

    # what both agree on, spelled out
    assert set(got) == {shas[name] for name in ("py", "js", "go_lower", "py_hash", "side", "fork_only", "sh", "rs")}
    assert expected_drops["duplicate_commit"] == 10  # the fork's candidates that origin already holds
    for reason in ("multiple_modified_files", "message_blocklist", "web_editor_default_message", "binary", "symlink",
                   "extension_not_in_map", "merge_commit", "message_merge_prefix", "repository_license_not_allowed"):
        assert result.drop_counts[reason] >= 1, reason


def test_one_parquet_folder_per_language_and_fork_commits_once(repositories, commitpack_run):
    locations, shas = repositories
    config, result = commitpack_run
    output = config_output(config)
    rows = parquet_rows(output)
    assert sorted(rows) == ["go", "javascript", "python", "rust", "shell"]
    assert result.rows_per_config == {name: len(config_rows) for name, config_rows in rows.items()}
    for name, config_rows in rows.items():
        assert {row["lang"].lower() for row in config_rows} == {name}
    by_commit = {row["commit"]: row for config_rows in rows.values() for row in config_rows}
    # origin (task 0) and its fork (task 1) both hold the shared commits: one row, both repositories, origin first
    assert by_commit[shas["py"]]["repos"] == "octo/origin,fork/origin"
    assert by_commit[shas["py"]]["license"] == "mit"
    assert by_commit[shas["fork_only"]]["repos"] == "fork/origin"
    assert by_commit[shas["sh"]]["repos"] == "tools/scripts" and by_commit[shas["sh"]]["license"] == "unknown"
    # the shared commits come from origin's task (0), the fork's own commit from the fork's task (1)
    assert task_commits(output, "python") == {0: {shas["py"], shas["py_hash"]}, 1: {shas["fork_only"]}}


def task_commits(output, config):
    """``task -> commits`` in the Parquet files each mining task wrote for ``config``."""
    import pyarrow.parquet as pq

    return {int(path.stem.split("_")[-1]): set(pq.read_table(path).column("commit").to_pylist())
            for path in sorted((output / "data" / config).glob("*.parquet"))}


def test_datatrove_stats_count_drops_per_step_and_reason(commitpack_run):
    config, result = commitpack_run
    merged = json.loads((config_output(config) / "logs" / "mine" / "stats.json").read_text())
    by_step = {step["name"]: step["stats"] for step in merged}
    rules = next(stats for name, stats in by_step.items() if "CommitPack rules" in name)
    assert rules["dropped_message_blocklist"] == 1 and rules["dropped_web_editor_default_message"] == 1
    assert rules["dropped_extension_not_in_map"] == 1 and rules["dropped_message_merge_prefix"] == 1
    first_copy = next(stats for name, stats in by_step.items() if "first copy" in name)
    assert first_copy["dropped_duplicate_commit"] == 10
    blobs = next(stats for name, stats in by_step.items() if "read blobs" in name)
    assert blobs["dropped_binary"] == 1 and blobs["dropped_symlink"] == 1
    index = json.loads((config_output(config) / "logs" / "index" / "stats.json").read_text())
    assert index[0]["stats"]["dropped_repository_license_not_allowed"]["total"] == 1


def test_ft_run_matches_the_ft_builder(repositories, tmp_path):
    from commitpack_dataset.scale import run_pipeline

    locations, shas = repositories
    languages = ("Python", "Go", "Shell", "Rust")
    expected_rows, expected_drops = builder_result(CommitPackFT, locations, tmp_path / "cache", languages=languages)
    result = run_pipeline(scale_config(locations, tmp_path / "out", ft=True, workers=1, languages=languages))
    rows = parquet_rows(tmp_path / "out")
    got = {row["commit"]: row for config_rows in rows.values() for row in config_rows}
    assert got == expected_rows
    assert result.drop_counts == expected_drops
    assert set(rows) == {"python", "go", "shell", "rust"}
    assert result.drop_counts["subject_not_uppercase"] == 1 and result.drop_counts["subject_has_hash"] == 1
    assert result.drop_counts["language_not_selected"] == 2  # the JavaScript commit and the binary .txt one
    assert shas["go_lower"] not in got and shas["py_hash"] not in got


def completion_times(output):
    return {path.relative_to(output): path.stat().st_mtime_ns for path in (output / "logs").rglob("stats/*.json")}


def test_rerun_skips_completed_tasks(repositories, tmp_path):
    from commitpack_dataset.scale import ScaleError, run_pipeline

    locations, _ = repositories
    output = tmp_path / "out"
    config = scale_config(locations[:3], output, workers=1)
    first = run_pipeline(config)
    before = completion_times(output)
    files = {path: path.stat().st_mtime_ns for path in (output / "data").rglob("*.parquet")}
    assert len(before) == 2 + 2 + 2  # index, shared, mine: two tasks each

    again = run_pipeline(config)  # every task completed: nothing runs, results read back from the stats
    assert completion_times(output) == before
    assert {path: path.stat().st_mtime_ns for path in files} == files
    assert again.drop_counts == first.drop_counts and again.rows_per_config == first.rows_per_config

    (output / "logs" / "mine" / "completions" / "00001").unlink()  # as if task 1 of the mining stage died
    resumed = run_pipeline(config)
    changed = {str(path) for path, mtime in completion_times(output).items() if before[path] != mtime}
    assert changed == {"logs/mine/stats/00001.json"}
    assert resumed.drop_counts == first.drop_counts and resumed.rows_per_config == first.rows_per_config

    with pytest.raises(ScaleError, match="other settings"):
        run_pipeline(scale_config(locations, output, workers=1))


def test_dedup_keeps_the_first_repository_in_list_order(repositories, tmp_path):
    """Swap origin and fork: the fork (now first) wins the shared commits; nothing else changes."""
    from commitpack_dataset.scale import run_pipeline

    locations, shas = repositories
    swapped = (locations[1], locations[0])
    result = run_pipeline(scale_config(swapped, tmp_path / "out", tasks=2, workers=1, languages=("Python",)))
    rows = {row["commit"]: row for row in parquet_rows(tmp_path / "out")["python"]}
    assert rows[shas["py"]]["repos"] == "fork/origin,octo/origin"
    assert task_commits(tmp_path / "out", "python") == {0: {shas["py"], shas["py_hash"], shas["fork_only"]}}
    assert result.drop_counts["duplicate_commit"] == 10


def test_push_parquet_folders_and_load_each_config(local_hub, commitpack_run, tmp_path):
    from datasets import get_dataset_config_names, load_dataset

    from commitpack_dataset.publish import push_parquet_languages

    config, _ = commitpack_run
    output = config_output(config)
    repo_id = local_hub.repo_id("commitpack-scale")
    pushed = push_parquet_languages(output, repo_id)
    assert pushed == ["go", "javascript", "python", "rust", "shell"]
    assert sorted(get_dataset_config_names(repo_id)) == pushed
    files = local_hub.api.list_repo_files(repo_id, repo_type="dataset")
    assert not [f for f in files if f.startswith(("logs/", "index/")) or f == "scale.json"]
    expected = parquet_rows(output)
    for name in ("python", "shell"):
        loaded = load_dataset(repo_id, name, split="train")
        assert list(loaded.features) == list(FIELDS)
        assert sorted(loaded.to_list(), key=lambda row: row["commit"]) == sorted(
            expected[name], key=lambda row: row["commit"])

    # pushing python again replaces that config's files and keeps the other configs
    only = tmp_path / "again" / "data" / "python"
    only.mkdir(parents=True)
    shutil.copy(output / "data" / "python" / "000_00001.parquet", only / "part.parquet")
    assert push_parquet_languages(tmp_path / "again", repo_id) == ["python"]
    files = local_hub.api.list_repo_files(repo_id, repo_type="dataset")
    assert [f for f in files if f.startswith("data/python/")] == ["data/python/part.parquet"]
    assert sorted(get_dataset_config_names(repo_id)) == pushed
    assert len(load_dataset(repo_id, "python", split="train")) == 1
    assert len(load_dataset(repo_id, "go", split="train")) == len(expected["go"])


def test_executor_kind_picks_datatrove_executors_chained_by_stage(repositories, tmp_path):
    from datatrove.executor import LocalPipelineExecutor, SlurmPipelineExecutor

    from commitpack_dataset.scale import ScaleError, build_executors
    from commitpack_dataset.scale.config import ScaleConfig

    locations, _ = repositories
    commitpack = CommitPackConfig(name="all", repositories=locations, tokenizer="estimate")
    local = build_executors(ScaleConfig(commitpack, str(tmp_path / "a"), tasks=3, workers=2, partitions=5))
    assert [type(e) for e in local.values()] == [LocalPipelineExecutor] * 3
    assert [(e.tasks, e.workers) for e in local.values()] == [(3, 2), (5, 2), (3, 2)]
    assert local["mine"].depends is local["shared"] and local["shared"].depends is local["index"]

    slurm = build_executors(ScaleConfig(commitpack, str(tmp_path / "b"), tasks=4, executor="slurm",
                                        executor_options={"time": "02:00:00", "partition": "cpu"}))
    assert [type(e) for e in slurm.values()] == [SlurmPipelineExecutor] * 3
    assert slurm["mine"].partition == "cpu" and slurm["mine"].depends is slurm["shared"]
    with pytest.raises(ScaleError, match="partition"):
        build_executors(ScaleConfig(commitpack, str(tmp_path / "c"), executor="slurm",
                                    executor_options={"time": "02:00:00"}))
    with pytest.raises(ScaleError, match="executor must be one of"):
        ScaleConfig(commitpack, str(tmp_path / "d"), executor="spark")


def test_global_rules_across_tasks_match_the_builder(tmp_path):
    """Across tasks as in the builder: a blob missing in the first holder is read from another holder,
    holders with different licenses drop a commit, and an unreadable repository is a named error."""
    from commitpack_dataset.repositories import UnreadableRepository
    from commitpack_dataset.scale import run_pipeline

    origin = GitRepo(tmp_path / "octo" / "origin")
    origin.commit("Initial import", {"LICENSE": license_text("MIT"), "app.py": PY_OLD, "lib.py": "a = 1\n" * 30})
    healed = origin.commit("Fix the handling of nested lists", {"app.py": PY_NEW})
    mirror = tmp_path / "mirror" / "origin"
    subprocess.run(["git", "clone", "-q", "--bare", "--no-local", str(origin.path), str(mirror)], check=True)
    blob = origin.git("rev-parse", f"{healed}:app.py")
    (origin.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    relicensed = GitRepo(tmp_path / "other" / "origin")
    relicensed.commit("Initial import", {"LICENSE": license_text("Apache-2.0"), "lib.py": "a = 1\n" * 30})
    subprocess.run(["git", "-C", str(relicensed.path), "fetch", "-q", str(mirror), "HEAD"], check=True)
    relicensed.git("reset", "-q", "--hard", "FETCH_HEAD")  # same history as origin, under another license
    relicensed.commit("Relicense under Apache", {"LICENSE": license_text("Apache-2.0")})
    own = relicensed.commit("Improve the loop of the library", {"lib.py": "a = 2\n" * 30})

    locations = (str(origin.path), str(mirror), str(relicensed.path))
    expected_rows, expected_drops = builder_result(CommitPack, locations, tmp_path / "cache")
    result = run_pipeline(scale_config(locations, tmp_path / "out", tasks=3, workers=1))
    got = {row["commit"]: row for rows in parquet_rows(tmp_path / "out").values() for row in rows}
    assert got == expected_rows and result.drop_counts == expected_drops
    assert set(got) == {own} and expected_drops["repository_licenses_differ"] == 1
    assert expected_drops["missing_blob"] == 0

    two = (str(origin.path), str(mirror))
    expected_rows, _ = builder_result(CommitPack, two, tmp_path / "cache2")
    run_pipeline(scale_config(two, tmp_path / "out2", tasks=2, workers=1))
    got = {row["commit"]: row for rows in parquet_rows(tmp_path / "out2").values() for row in rows}
    assert got == expected_rows and got[healed]["new_contents"] == PY_NEW
    assert got[healed]["repos"] == "octo/origin,mirror/origin"

    empty = GitRepo(tmp_path / "empty" / "repo")
    with pytest.raises(UnreadableRepository, match="repository_empty"):
        run_pipeline(scale_config((str(origin.path), str(empty.path)), tmp_path / "out3", tasks=2, workers=1))

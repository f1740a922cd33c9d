"""A builder's cache is keyed by more than its config: the rows handed to its constructor and
the state of the local sources its config names (``commitpack_dataset.cache_keys``). Without
that, ``datasets`` answers a second build whose inputs changed with the first build's data."""

import json
import os

from commitpack_dataset import CommitPack, EvolInstruct, OctoCoderMix, OSSInstruct
from tests.commitpack_dataset.gitrepo import GitRepo


def sample_rows(test_data_dir):
    path = test_data_dir / "octocoder" / "oasst_code_sample.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_rows_handed_in_key_the_cache_so_other_rows_are_never_answered_by_an_old_build(tmp_path, test_data_dir):
    """``datasets`` keys a builder's cache by its config: rows handed to the constructor must key
    it too, or a second build in the same cache_dir silently returns the first build's data (the
    pipeline's mix stage hands in the run's CommitPackFT rows)."""
    from datasets import Dataset

    sample = sample_rows(test_data_dir)
    def mix(oasst_rows):
        builder = OctoCoderMix(cache_dir=str(tmp_path / "cache"), oasst_rows=oasst_rows, commit_rows=[],
                               decontaminate=False)
        builder.download_and_prepare()
        return builder._output_dir, len(builder.as_dataset("train"))

    five, three = mix(sample[:5]), mix(sample[:3])
    assert five[1] == 5 and three[1] == 3 and five[0] != three[0]
    assert mix([dict(row) for row in sample[:5]]) == five  # the same rows: the same build, reused
    as_dataset = mix(Dataset.from_list(sample[:5]))
    assert as_dataset[1] == 5 and mix(Dataset.from_list(sample[:5])) == as_dataset
    assert mix(Dataset.from_list(sample[:4]))[0] != as_dataset[0]
    seeds = [{"instruction": "Reverse a list.", "output": "xs[::-1]"}]

    def output_dirs(builder_class, **rows):
        return {builder_class(cache_dir=str(tmp_path / "teachers"), **rows)._output_dir for _ in range(2)}

    assert output_dirs(EvolInstruct, seed_rows=seeds) != output_dirs(EvolInstruct, seed_rows=seeds * 2)
    assert len(output_dirs(EvolInstruct, seed_rows=seeds)) == 1
    documents = [{"content": "def f():\n    return 1\n"}]
    assert output_dirs(OSSInstruct, seed_documents=documents) != output_dirs(OSSInstruct, seed_documents=[])


def test_new_commits_and_rewritten_seed_files_make_a_new_build(tmp_path):
    repo = GitRepo(tmp_path / "octo" / "repo")
    repo.commit("Initial import", {"app.py": "x = 1\n" * 40})
    first = repo.commit("Fix the handling of nested lists", {"app.py": "x = 2\n" * 40})

    def mined():
        builder = CommitPack(cache_dir=str(tmp_path / "cache"), config_name="all", repositories=(str(repo.path),),
                             license_policy="keep-unknown")
        builder.download_and_prepare()
        return builder, builder.as_dataset("train")["commit"]

    builder, commits = mined()
    assert commits == [first]
    again, commits = mined()  # nothing changed: the same build, nothing mined again
    assert commits == [first] and again._output_dir == builder._output_dir and not again.drop_counts
    second = repo.commit("Improve the output of the program", {"app.py": "x = 3\n" * 40})
    newer, commits = mined()
    assert sorted(commits) == sorted([first, second]) and newer._output_dir != builder._output_dir
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("Refactor the program for reuse", {"app.py": "x = 4\n" * 40})  # another ref moved
    assert mined()[0]._output_dir != newer._output_dir

    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"instruction": "Reverse a list.", "output": "xs[::-1]"}) + "\n")

    def evol_dir():
        return EvolInstruct(cache_dir=str(tmp_path / "evol"), seed_dataset=str(seeds))._output_dir

    before = evol_dir()
    assert evol_dir() == before
    seeds.write_text(json.dumps({"instruction": "Sort a list.", "output": "sorted(xs)"}) + "\n")
    os.utime(seeds, ns=(os.stat(seeds).st_atime_ns, os.stat(seeds).st_mtime_ns + 1_000_000))
    assert evol_dir() != before
    # a work tree read as seed files counts by its files: an uncommitted edit is a new build
    (repo.path / "app.py").write_text("x = 5\n" * 40)
    os.utime(repo.path / "app.py", ns=(0, os.stat(repo.path / "app.py").st_mtime_ns + 1_000_000))

    def oss_dir(**sources):
        return OSSInstruct(cache_dir=str(tmp_path / "oss"), **sources)._output_dir

    files_before = oss_dir(seed_files=(str(repo.path),))
    repository_before = oss_dir(seed_repositories=(str(repo.path),))
    (repo.path / "app.py").write_text("x = 6\n" * 40)
    os.utime(repo.path / "app.py", ns=(0, os.stat(repo.path / "app.py").st_mtime_ns + 1_000_000))
    assert oss_dir(seed_files=(str(repo.path),)) != files_before
    assert oss_dir(seed_repositories=(str(repo.path),)) == repository_before  # it reads commits
    hub_id = EvolInstruct(cache_dir=str(tmp_path / "evol"), seed_dataset="sahil2801/CodeAlpaca-20k")
    assert "-src" not in hub_id._output_dir  # a Hub id counts by its name, as datasets does

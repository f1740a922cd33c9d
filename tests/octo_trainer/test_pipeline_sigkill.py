"""``octopack run`` killed with SIGKILL in the middle of a teacher stage resumes: the stages that
finished are reused, not redone, and no answered teacher request is sent again (a scripted
OpenAI-compatible server counts every request); the API key reaches no file of the run."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import yaml

from tests.commitpack_dataset.gitrepo import GitRepo, build_two_language_history
from tests.octo_trainer.test_pipeline_run import OCTOPACK, pipeline_env, run_octopack, states
from tests.support.processes import sigkill_when

KEY_ENV, KEY = "OCTOPACK_TEST_TEACHER_KEY", "sk-test-4c1d9e0b7a-never-written"
EVOLVE_MARKER = "#Given Test#"  # in every Code Evol-Instruct evolution prompt
SEEDS = 6


def teacher(request) -> str:
    """Well-formed answers, distinct per prompt: an OSS-Instruct problem and solution, an evolved
    instruction, or the answer to one."""
    tag = hashlib.sha256(request.key.encode()).hexdigest()[:10]
    if "[Problem Description]" in request.key:
        return (f"[Problem Description]\nWrite a function `count_{tag}` that counts the even numbers in a list."
                f"\n\n[Solution]\n```python\ndef count_{tag}(values):\n    return sum(v % 2 == 0 for v in values)\n```\n")
    if EVOLVE_MARKER in request.key:
        return (f"Write a Python function that returns the {tag} most frequent words of a text, ignoring case "
                "and punctuation, in descending order of frequency and breaking ties alphabetically.")
    return f"```python\ndef top_words_{tag}(text, n):\n    return sorted(set(text.lower().split()))[:n]\n```\n"


def test_a_killed_run_resumes_without_redoing_stages_or_resending_requests(tmp_path, scripted_openai,
                                                                           test_data_dir):
    server = scripted_openai(teacher, latency=0.4)
    repo = GitRepo(tmp_path / "acme" / "tool")
    build_two_language_history(repo)
    run_dir = tmp_path / "run"
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({
        "run_dir": str(run_dir), "data": {"local_dir": str(test_data_dir)},
        "mine": {"own_history": False, "repositories": [str(repo.path)]},
        "teacher": {"model": "scripted-teacher", "base_url": server.base_url, "api_key_env": KEY_ENV,
                    "concurrency": 1},
        "oss_instruct": {"max_new_data": 2, "max_new_tokens": 200},
        "evol_instruct": {"max_seeds": SEEDS, "max_new_tokens": 200},
    }))
    env = {**pipeline_env(), KEY_ENV: KEY}
    log = tmp_path / "killed.log"
    with open(log, "w") as handle:
        process = subprocess.Popen([str(OCTOPACK), "run", str(config), "--until", "evol_instruct", "--no-progress"],
                                   stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    # midway through Evol-Instruct's round
    sigkill_when(process, lambda: sum(EVOLVE_MARKER in key for key in server.keys()) >= 3, 900, log.read_text)
    killed_at = server.keys()  # every request received before the kill, in arrival order
    finished = {name for name in ("mine", "filter", "oss_instruct", "evol_instruct")
                if any((run_dir / "stages" / name).glob("*/complete.json"))}
    assert finished == {"mine", "filter", "oss_instruct"}, log.read_text()[-4000:]
    markers = {name: next((run_dir / "stages" / name).glob("*/complete.json")).stat().st_mtime_ns
               for name in finished}

    run_octopack(config, "--until", "evol_instruct", log=tmp_path / "resumed.log")
    resumed = states(run_dir)
    assert {name: resumed[name]["status"] for name in resumed} == {
        "mine": "reused", "filter": "reused", "oss_instruct": "reused", "evol_instruct": "done"}
    assert markers == {name: next((run_dir / "stages" / name).glob("*/complete.json")).stat().st_mtime_ns
                       for name in finished}  # not rewritten
    counts = server.counts()
    repeated = {key for key, count in counts.items() if count > 1}
    # only the request in flight when the process died (concurrency 1: the last one received) is sent again
    assert repeated <= {killed_at[-1]} and all(count <= 2 for count in counts.values()), counts.values()
    evolve_keys = [key for key in counts if EVOLVE_MARKER in key]
    assert len(evolve_keys) == SEEDS and len(set(killed_at)) < len(counts)  # the re-run finished the round
    evol = resumed["evol_instruct"]["summary"]
    assert evol["rows_per_round"] == {"0": SEEDS, "1": SEEDS}, evol
    oss = resumed["oss_instruct"]["summary"]  # the repository's one Python file seeds one problem
    assert oss["rows"] == 1 and oss["drop_counts"] == {}, oss
    for path in run_dir.rglob("*"):  # the key reached no file the run wrote (caches included)
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in (tmp_path / "resumed.log").read_text() + log.read_text()
    rows = [json.loads(line) for line in
            next((run_dir / "stages" / "evol_instruct").glob("*/data/code/data.jsonl")).read_text().splitlines()]
    assert len(rows) == 2 * SEEDS and {r["round"] for r in rows} == {0, 1}

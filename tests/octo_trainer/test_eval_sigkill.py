"""``octopack-eval`` killed with SIGKILL in the middle of generating: the re-run sends only the
requests that were not answered, and ends with the results of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from octo_trainer.evaluation import EvalArguments, run_evaluation
from tests.conftest import REPO_ROOT
from tests.octo_trainer.eval_answers import ReferenceModel
from tests.support.processes import sigkill_when

TOTAL = 2 * 6  # two tasks x six problems, one request each


def _options(server, test_data_dir, out) -> dict:
    return dict(model_name_or_path="scripted-model", base_url=server.base_url,
                prompt_format="octocoder", tasks=["synthesize", "fixtests"], languages=["python"],
                problems=[0, 1, 2, 3, 4, 5], n_samples=2, k=[1], concurrency=1,
                data_dir=str(test_data_dir / "humanevalpack"), output_dir=str(out),
                progress=False, execution_timeout=60.0)


def _argv(options: dict) -> list[str]:
    argv = [sys.executable, "-m", "octo_trainer.evaluation.cli"]
    for key, value in options.items():
        argv.append(f"--{key}")
        argv += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return argv


def _lines(path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        row.pop("cached", None)  # how an answer arrived, not what it is
        row.pop("duration", None)  # how long a program ran
    return rows


def test_a_killed_run_resumes_without_paying_twice(scripted_openai, test_data_dir, tmp_path):
    server = scripted_openai(ReferenceModel(test_data_dir), latency=0.4)
    killed = tmp_path / "killed"
    env = {**os.environ, "HF_ALLOW_CODE_EVAL": "1"}
    process = subprocess.Popen(_argv(_options(server, test_data_dir, killed)), cwd=REPO_ROOT,
                               env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    sigkill_when(process, lambda: server.count() >= 5, 240, lambda: process.stderr.read().decode())
    assert process.returncode == -signal.SIGKILL
    sent_before = server.keys()
    assert 5 <= len(sent_before) < TOTAL
    assert not (killed / "results.json").exists()

    server.reset()
    resumed = run_evaluation(EvalArguments(**_options(server, test_data_dir, killed)))
    sent_again = server.keys()
    assert len(sent_again) == len(set(sent_again))  # nothing twice
    assert set(sent_before) | set(sent_again) == set(server.keys()) | set(sent_before)
    # only the unanswered requests: at most the one in flight when the process died is repeated
    assert TOTAL - len(sent_before) <= len(sent_again) <= TOTAL - len(sent_before) + 1
    assert len(set(sent_before) | set(sent_again)) == TOTAL

    server.reset()
    whole = tmp_path / "whole"
    uninterrupted = run_evaluation(EvalArguments(**_options(server, test_data_dir, whole)))
    assert server.count() == TOTAL
    assert resumed["results"] == uninterrupted["results"]
    for name in ("generations.jsonl", "scores.jsonl", "descriptions.jsonl"):
        if (whole / name).exists():
            assert _lines(killed / name) == _lines(whole / name), name
    assert [e["metrics"]["pass@1"] for e in resumed["results"]] == [1.0, 1.0]

"""A generation run killed with SIGKILL midway: the re-run sends only the requests whose answers
were not stored (the scripted server counts them), and ends with exactly the results of an
uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from commitpack_dataset.generation import GenerationClient, GenerationRequest, OpenAIBackend, ResponseCache
from tests.support.scripted_openai import Reply

REPO = Path(__file__).resolve().parents[2]
COUNT = 60
CONCURRENCY = 4
DRIVER = "from tests.commitpack_dataset.test_generation_sigkill import main; main()"


def the_requests() -> list[GenerationRequest]:
    return [GenerationRequest(model="teacher", messages=[{"role": "user", "content": f"task {i}"}],
                              seed=976 + i, max_tokens=64) for i in range(COUNT)]


def teacher(request):
    index = int(request.key.split()[1])
    if index % 10 == 7:
        return Reply.truncated(f"partial answer {index}")  # stored too: it is an answer
    return f"problem {index}\nsolution {index * index}"


def run(base_url: str, cache: Path) -> list[dict]:
    backend = OpenAIBackend(base_url, api_key="test-key", timeout=30)
    with GenerationClient(backend, cache=cache, concurrency=CONCURRENCY, progress=False) as client:
        return [result.to_json() for result in client.generate(the_requests())]


def main() -> None:
    """The subprocess: ``DRIVER base_url cache out``; writes the results only at the end."""
    base_url, cache, out = sys.argv[1:4]
    results = run(base_url, Path(cache))
    Path(out).write_text(json.dumps(results))


def _start(base_url: str, cache: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", DRIVER, base_url, str(cache), str(out)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_sigkill_midway_then_rerun_sends_only_the_unfinished_requests(scripted_openai, tmp_path):
    server = scripted_openai(teacher, latency=0.1)
    key_of = {r.fingerprint(): r.messages[-1]["content"] for r in the_requests()}
    cache, out = tmp_path / "responses.sqlite", tmp_path / "results.json"

    killed = _start(server.base_url, cache, out)
    deadline = time.monotonic() + 120
    while server.count() < 20 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert killed.poll() is None, killed.stdout.read().decode()
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    killed.stdout.close()
    assert killed.returncode == -signal.SIGKILL and not out.exists()

    with ResponseCache(cache) as stored_cache:
        stored = {key_of[fingerprint] for fingerprint in stored_cache.fingerprints()}
    sent_before = server.counts()
    assert 15 <= len(stored) < COUNT
    assert stored <= set(sent_before) and max(sent_before.values()) == 1
    lost_in_flight = set(sent_before) - stored
    assert len(lost_in_flight) <= CONCURRENCY

    server.reset()
    rerun = _start(server.base_url, cache, out)
    output, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, output.decode()
    sent_again = server.counts()
    assert set(sent_again) == set(key_of.values()) - stored  # only the unfinished ones ...
    assert set(sent_again.values()) == {1}  # ... each once
    resumed = json.loads(out.read_text())

    server.reset()
    uninterrupted = run(server.base_url, tmp_path / "fresh.sqlite")
    assert server.count() == COUNT
    assert resumed == uninterrupted
    assert [r["choices"][0]["finish_reason"] for r in resumed].count("length") == COUNT // 10

"""The local OpenAI-compatible endpoint: `transformers serve` on the tiny model, `openai` client.

The first group talks to the session ``openai_server``; its answers are checked against the same
model run locally (greedy decoding, so they must agree token for token). The second group checks
the process plumbing of ``tests/support/openai_server.py`` with a small fake server, which is
cheap enough to start and stop per test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import textwrap
import urllib.request
from pathlib import Path

import openai
import pytest

from tests.support.openai_server import (
    ServerStartError,
    free_port,
    group_members,
    start_server_process,
    stop_process_group,
)

MESSAGES = [
    {"role": "system", "content": "You are a helpful coding assistant."},
    {"role": "user", "content": "Write a Python function that adds two numbers."},
]
PROMPT = "def add(a, b):\n"
MAX_TOKENS = 8


@pytest.fixture(scope="module")
def local_model(tiny_model_dir: Path):
    """The served model and tokenizer, loaded in-process for reference answers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(
        tiny_model_dir
    )


def _greedy(local_model, input_ids: list[int], max_new_tokens: int) -> str:
    import torch

    model, tokenizer = local_model
    with torch.no_grad():
        output = model.generate(
            torch.tensor([input_ids]), max_new_tokens=max_new_tokens, do_sample=False
        )
    return tokenizer.decode(output[0, len(input_ids) :], skip_special_tokens=True)


def test_chat_completion(openai_server, local_model):
    _, tokenizer = local_model
    response = openai_server.client().chat.completions.create(
        model=openai_server.model, messages=MESSAGES, max_tokens=MAX_TOKENS
    )

    prompt_ids = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True)["input_ids"]
    [choice] = response.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == _greedy(local_model, prompt_ids, MAX_TOKENS)
    assert choice.finish_reason == "length"
    assert response.usage.prompt_tokens == len(prompt_ids)
    assert response.usage.completion_tokens == MAX_TOKENS
    assert response.usage.total_tokens == len(prompt_ids) + MAX_TOKENS


def test_chat_completion_streaming(openai_server):
    client = openai_server.client()
    reference = client.chat.completions.create(
        model=openai_server.model, messages=MESSAGES, max_tokens=MAX_TOKENS
    )
    chunks = list(
        client.chat.completions.create(
            model=openai_server.model, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True
        )
    )

    assert len(chunks) > 2, "expected a role chunk, content chunks and a final chunk"
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == reference.choices[0].message.content
    finish_reasons = [chunk.choices[0].finish_reason for chunk in chunks]
    assert finish_reasons[-1] == "length" and not any(finish_reasons[:-1])
    assert chunks[-1].usage.completion_tokens == MAX_TOKENS
    assert chunks[-1].usage.prompt_tokens == reference.usage.prompt_tokens


def test_chat_completion_stop_sequence(openai_server):
    response = openai_server.client().chat.completions.create(
        model=openai_server.model, messages=MESSAGES, max_tokens=MAX_TOKENS
    )
    full = response.choices[0].message.content
    assert len(full) > 1
    stopped = openai_server.client().chat.completions.create(
        model=openai_server.model, messages=MESSAGES, max_tokens=MAX_TOKENS, stop=[full[0]]
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.usage.completion_tokens < MAX_TOKENS


def test_legacy_completion(openai_server, local_model):
    _, tokenizer = local_model
    response = openai_server.client().completions.create(
        model=openai_server.model, prompt=PROMPT, max_tokens=MAX_TOKENS
    )

    prompt_ids = tokenizer(PROMPT)["input_ids"]
    [choice] = response.choices
    assert choice.text == _greedy(local_model, prompt_ids, MAX_TOKENS)
    assert choice.finish_reason == "length"
    assert response.usage.prompt_tokens == len(prompt_ids)
    assert response.usage.completion_tokens == MAX_TOKENS


def test_legacy_completion_streaming(openai_server):
    client = openai_server.client()
    reference = client.completions.create(
        model=openai_server.model, prompt=PROMPT, max_tokens=MAX_TOKENS
    )
    chunks = list(
        client.completions.create(
            model=openai_server.model, prompt=PROMPT, max_tokens=MAX_TOKENS, stream=True
        )
    )
    assert "".join(chunk.choices[0].text for chunk in chunks) == reference.choices[0].text
    assert chunks[-1].choices[0].finish_reason == "length"
    assert chunks[-1].usage.total_tokens == reference.usage.total_tokens


def test_other_model_names_are_rejected(openai_server):
    with pytest.raises(openai.BadRequestError):
        openai_server.client().chat.completions.create(
            model="someone/else", messages=MESSAGES, max_tokens=2
        )


def test_health_and_model_list(openai_server):
    with urllib.request.urlopen(f"{openai_server.root_url}/health", timeout=10) as response:
        assert response.status == 200
    # Local path models are never listed, but the route must work (it 500s without a hub cache).
    assert openai_server.client().models.list().data == []
    assert openai_server.process.poll() is None


# --- process plumbing, with a fake server ----------------------------------------------------

FAKE_SERVER = textwrap.dedent(
    """
    import http.server, subprocess, sys

    # A child that would outlive a server killed with a plain process.kill().
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

    print("fake server up", flush=True)
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
    """
)


def _start_fake(tmp_path: Path, script: str, *, timeout: float = 60.0):
    path = tmp_path / "server.py"
    path.write_text(script)
    port = free_port()
    return start_server_process(
        [sys.executable, str(path), str(port)],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=tmp_path / "server.log",
        timeout=timeout,
    )


def test_stop_kills_the_whole_process_group(tmp_path):
    process = _start_fake(tmp_path, FAKE_SERVER)
    group = process.pid
    try:
        assert len(group_members(group)) == 2  # the server and its child

        stop_process_group(process)

        assert process.returncode is not None
        assert group_members(group) == []
    finally:  # never leave the fake's sleeper behind, even when the assertions fail
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


def test_start_failure_reports_the_log(tmp_path):
    script = "import sys\nprint('model failed to load: boom', flush=True)\nsys.exit(3)\n"
    with pytest.raises(ServerStartError, match="exited with code 3") as error:
        _start_fake(tmp_path, script)
    assert "model failed to load: boom" in str(error.value)


def test_start_timeout_kills_the_server(tmp_path):
    script = "import time\nprint('still loading', flush=True)\ntime.sleep(600)\n"
    path = tmp_path / "server.py"
    path.write_text(script)
    with pytest.raises(ServerStartError, match="did not answer") as error:
        start_server_process(
            [sys.executable, str(path)],
            health_url=f"http://127.0.0.1:{free_port()}/health",
            log_path=tmp_path / "server.log",
            timeout=3,
        )
    assert "still loading" in str(error.value)
    assert _pids_running(str(path)) == [], "the unhealthy server must be killed"


def _pids_running(needle: str) -> list[int]:
    """Live processes whose command line mentions ``needle``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if needle in cmdline and state != "Z":
                pids.append(int(entry.name))
    return pids

"""The API key reaches the server's Authorization header and nothing else: not the cache, the
records, the logs (DEBUG included, the openai and httpx loggers too), the progress bar, error
messages, exceptions, tracebacks or reprs -- even when the server echoes it back."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback

import pytest

from commitpack_dataset.generation import (
    GenerationClient,
    GenerationRequest,
    OpenAIBackend,
    PermanentError,
    TransientError,
)
from tests.support.scripted_openai import Reply

KEY = "sk-test-0123456789-TOPSECRET-abcdef"


def echoing_script(request):
    """Answers that quote the key back, as some servers do in their errors."""
    auth = request.headers.get("authorization", "")
    if request.key == "refused":
        return Reply.error(401, f"Incorrect API key provided: {auth}")
    if request.key == "busy":
        return [Reply(status=503, message=f"overloaded for {auth}"), "fine"][min(request.attempt, 2) - 1]
    if request.key == "weird":
        return Reply(body=f'{{"oops": "{auth}"'.encode())
    return "answer"


def test_the_key_never_leaves_the_authorization_header(scripted_openai, tmp_path, monkeypatch,
                                                       capfd):
    monkeypatch.setenv("TEACHER_KEY", KEY)
    server = scripted_openai(echoing_script)
    log_file = tmp_path / "run.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        backend = OpenAIBackend(server.base_url, api_key_env="TEACHER_KEY", timeout=5)
        requests = [GenerationRequest(model="m", prompt=p, seed=i)
                    for i, p in enumerate(["ok", "refused", "busy", "weird", "ok2"])]
        with GenerationClient(backend, cache=tmp_path / "cache" / "responses.sqlite",
                              backoff=0.01, max_retries=1, progress=True,
                              prices=(1.0, 2.0)) as client:
            results = client.generate(requests)
            texts = [repr(backend), repr(client), json.dumps(client.stats.to_json()),
                     repr(backend.describe())]
        with open(tmp_path / "records.jsonl", "w") as out:
            for result in results:
                out.write(json.dumps(result.to_json()) + "\n")
        texts += [repr(r) for r in results]

        # exceptions raised by the backend itself, with their tracebacks
        for prompt, kind in (("refused", PermanentError), ("weird", TransientError)):
            with pytest.raises(kind) as raised:
                asyncio.run(backend.agenerate(GenerationRequest(model="m", prompt=prompt)))
            texts += [str(raised.value), repr(raised.value),
                      "".join(traceback.format_exception(raised.value))]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    ok, refused, busy, weird, ok2 = results
    assert ok.texts == ok2.texts == ["answer"] and busy.texts == ["fine"]
    assert refused.error == "HTTP 401: Incorrect API key provided: Bearer ***"
    assert weird.error.startswith("gave up after 2 attempts: malformed JSON")
    assert "***" in weird.error
    # the key did go where it belongs
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.requests)

    captured = capfd.readouterr()
    texts += [captured.out, captured.err]
    assert "generate: 100%" in captured.err  # the progress bar was drawn
    logged = log_file.read_text()
    assert "HTTP Request: POST" in logged and "retry 1/1" in logged  # the logs were written
    for text in texts:
        assert KEY not in text
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {p.name for p in written} >= {"responses.sqlite", "records.jsonl", "run.log"}
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path

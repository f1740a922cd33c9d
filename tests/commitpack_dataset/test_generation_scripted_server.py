"""The scripted OpenAI-compatible server other tests build on (``tests/support/scripted_openai.py``),
through the official ``openai`` client: what it answers and what it counts."""

from __future__ import annotations

import json
import urllib.request

import openai
import pytest

from tests.support.scripted_openai import Reply, ScriptedOpenAIServer


def _client(server):
    return openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=10)


def test_stop_strings_max_tokens_and_choices_as_a_real_endpoint(scripted_openai):
    server = scripted_openai({"q": "def f():\n    return 1\nclass X: pass"})
    client = _client(server)
    stopped = client.completions.create(model="m", prompt="q", stop=["\nclass", "\ndef"])
    assert stopped.choices[0].text == "def f():\n    return 1"
    assert stopped.choices[0].finish_reason == "stop"
    cut = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}],
                                         max_tokens=2, n=3)
    assert [c.message.content for c in cut.choices] == ["def f():"] * 3
    assert {c.finish_reason for c in cut.choices} == {"length"}
    assert (cut.usage.prompt_tokens, cut.usage.completion_tokens) == (1, 6)
    assert cut.system_fingerprint == "fp_scripted" and cut.model == "m"


def test_answers_in_sequence_errors_and_what_is_counted(scripted_openai):
    server = scripted_openai({"a": [Reply.rate_limited(retry_after=2), "done"]})
    client = _client(server)
    with pytest.raises(openai.RateLimitError) as raised:
        client.completions.create(model="m", prompt="a")
    assert raised.value.response.headers["retry-after"] == "2"
    assert client.completions.create(model="m", prompt="a").choices[0].text == "done"
    assert client.completions.create(model="m", prompt="a").choices[0].text == "done"  # repeats
    with pytest.raises(openai.NotFoundError, match="no scripted answer for 'b'"):
        client.completions.create(model="m", prompt="b")
    with pytest.raises(openai.BadRequestError, match="streaming is not scripted"):
        client.completions.create(model="m", prompt="a", stream=True)
    assert server.counts() == {"a": 4, "b": 1} and server.keys()[:2] == ["a", "a"]
    assert [r.attempt for r in server.requests if r.key == "a"] == [1, 2, 3, 4]
    server.reset()
    assert server.count() == 0
    with pytest.raises(openai.RateLimitError):  # attempts restart after reset: 429 again
        client.completions.create(model="m", prompt="a")
    assert server.requests[0].attempt == 1


def test_models_health_and_the_context_manager():
    with ScriptedOpenAIServer(models=["teacher"]) as server:
        with urllib.request.urlopen(f"{server.root_url}/health", timeout=5) as response:
            assert response.status == 200
        assert [m.id for m in _client(server).models.list()] == ["teacher"]
        assert _client(server).completions.create(model="m", prompt="x").choices[0].text == "echo: x"
        body = json.loads(json.dumps(server.requests[0].body))
        assert body["prompt"] == "x" and server.requests[0].mode == "completion"

"""The generation client against a real OpenAI-compatible server: ``transformers serve`` on the
tiny model (the shared session fixture), chat and completion mode, with its own usage and
finish_reason; answers equal the openai client's own calls (greedy decoding)."""

from __future__ import annotations

from commitpack_dataset.generation import GenerationClient, GenerationRequest, OpenAIBackend

MESSAGES = [{"role": "user", "content": "Write a Python function that adds two numbers."}]
PROMPT = "def add(a, b):\n"


def test_chat_and_completion_through_transformers_serve(openai_server, tmp_path):
    model = openai_server.model
    requests = [GenerationRequest(model=model, messages=MESSAGES, max_tokens=8),
                GenerationRequest(model=model, prompt=PROMPT, max_tokens=6),
                GenerationRequest(model="not-the-served-model", prompt=PROMPT, max_tokens=6)]
    backend = OpenAIBackend(openai_server.base_url, api_key_env="NO_SUCH_KEY_VARIABLE", timeout=120)
    with GenerationClient(backend, cache=tmp_path / "cache.sqlite", concurrency=2,
                          progress=False) as client:
        chat, completion, unknown = client.generate(requests)
        again = client.generate(requests[:2])

    direct = openai_server.client()
    chat_reference = direct.chat.completions.create(model=model, messages=MESSAGES, max_tokens=8)
    completion_reference = direct.completions.create(model=model, prompt=PROMPT, max_tokens=6)

    assert chat.texts == [chat_reference.choices[0].message.content]
    assert completion.texts == [completion_reference.choices[0].text]
    for result, reference, budget in ((chat, chat_reference, 8), (completion, completion_reference, 6)):
        assert result.error is None and result.choices[0].finish_reason == reference.choices[0].finish_reason
        assert result.usage.prompt_tokens == reference.usage.prompt_tokens > 0
        assert result.usage.completion_tokens == reference.usage.completion_tokens <= budget
        assert result.model == reference.model
        assert result.system_fingerprint == reference.system_fingerprint
    # the tiny model rambles: the budget runs out, which is not a success
    assert chat.choices[0].finish_reason == "length" and not chat.ok
    # a model the server does not serve is refused for good (400), not retried
    assert unknown.error.startswith("HTTP 400") and unknown.attempts == 1
    assert [r.cached for r in again] == [True, True] and again[0].texts == chat.texts
    assert client.stats.sent == 3 and client.stats.cached == 2

"""The generation client against the scripted OpenAI-compatible server on 127.0.0.1: exact
results in chat and completion mode, retries (429 with Retry-After / retry-after-ms, 500, slow,
malformed, dropped), truncation, permanent errors, the concurrency bound, accounting, the cache,
and the sync / async / streaming ways in."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

from commitpack_dataset.generation import (
    Backoff,
    GenerationClient,
    GenerationRequest,
    OpenAIBackend,
    ResponseCache,
)
from tests.support.scripted_openai import Reply

FAST = Backoff(initial=0.01, multiplier=2.0, maximum=1.0, jitter=0.0)


def completion(prompt: str, **fields) -> GenerationRequest:
    return GenerationRequest(model="scripted-model", prompt=prompt, **fields)


def chat(content: str, **fields) -> GenerationRequest:
    return GenerationRequest(model="scripted-model", messages=[
        {"role": "system", "content": "You write code."}, {"role": "user", "content": content}],
        **fields)


@pytest.fixture
def make_client(tmp_path):
    clients = []

    def make(server, *, cache="cache.sqlite", timeout=10.0, **options):
        options.setdefault("backoff", FAST)
        options.setdefault("progress", False)
        backend = OpenAIBackend(server.base_url, api_key="test-key", timeout=timeout)
        client = GenerationClient(backend, cache=tmp_path / cache if cache else None, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_chat_and_completion_results_are_exactly_the_servers_answers(scripted_openai, make_client):
    server = scripted_openai({"add two numbers": "def add(a, b):\n    return a + b\n",
                              "def f():": Reply(text=["  return 1", "  return 2"])})
    requests = [chat("add two numbers", temperature=0.2, top_p=0.95, max_tokens=50, seed=977,
                     stop=["\nclass"], extra={"repetition_penalty": 1.1}),
                completion("def f():", n=2, max_tokens=7)]
    results = make_client(server).generate(requests)

    answer, sampled = results
    assert answer.texts == ["def add(a, b):\n    return a + b\n"]
    assert answer.ok and not answer.cached and answer.error is None and answer.attempts == 1
    assert [c.finish_reason for c in answer.choices] == ["stop"]
    assert answer.system_fingerprint == "fp_scripted" and answer.model == "scripted-model"
    # usage as the server counted it: words of every message, and of the answer
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (6, 7)
    assert answer.fingerprint == requests[0].fingerprint()
    assert sampled.texts == ["  return 1", "  return 2"]  # n=2 choices
    assert sampled.usage.completion_tokens == 4

    chat_body, completion_body = (r.body for r in sorted(server.requests, key=lambda r: r.mode))
    assert chat_body["messages"] == [dict(m) for m in requests[0].messages]
    assert {k: chat_body[k] for k in ("model", "n", "temperature", "top_p", "max_tokens", "stop",
                                      "seed", "repetition_penalty")} == {
        "model": "scripted-model", "n": 1, "temperature": 0.2, "top_p": 0.95, "max_tokens": 50,
        "stop": ["\nclass"], "seed": 977, "repetition_penalty": 1.1}
    assert completion_body["prompt"] == "def f():" and completion_body["n"] == 2
    assert "seed" not in completion_body and "stop" not in completion_body
    assert server.requests[0].headers["authorization"] == "Bearer test-key"


def test_truncated_answers_are_not_ok_but_are_cached(scripted_openai, make_client):
    server = scripted_openai({"long": "one two three four five six", "cut": Reply.truncated("x")})
    client = make_client(server)
    requests = [completion("long", max_tokens=3), completion("cut")]
    by_limit, by_script = client.generate(requests)
    assert by_limit.texts == ["one two three"] and by_limit.choices[0].finish_reason == "length"
    assert by_script.choices[0].finish_reason == "length"
    assert not by_limit.ok and not by_script.ok and by_limit.error is None
    assert client.stats.truncated == 2 and client.stats.ok == 0
    again = client.generate(requests)
    assert [r.cached for r in again] == [True, True] and server.count() == 2
    assert [r.texts for r in again] == [by_limit.texts, by_script.texts]


@pytest.mark.parametrize("failure", [
    Reply.rate_limited(), Reply.server_error(500), Reply.server_error(503), Reply.malformed(),
    Reply.dropped(), Reply(text="slow", latency=1.5), Reply(body=b'{"error": {"message": "busy"}}'),
    Reply(body=b'{"choices": []}')], ids=[
    "429", "500", "503", "malformed-json", "dropped-connection", "timeout", "error-object",
    "no-choices"])
def test_transient_failures_are_retried(scripted_openai, make_client, failure):
    server = scripted_openai({"q": [failure, failure, "answer"]})
    client = make_client(server, timeout=0.5, max_retries=2)
    [result] = client.generate([completion("q")])
    assert result.ok and result.texts == ["answer"] and result.attempts == 3
    assert server.count("q") == 3 and client.stats.retries == 2 and client.stats.attempts == 3


def test_retries_stop_after_max_retries_and_the_failure_is_reported(scripted_openai, make_client):
    server = scripted_openai({"q": [Reply.server_error()] * 3 + ["late"], "fine": "ok"})
    client = make_client(server, max_retries=2)
    failed, fine = client.generate([completion("q"), completion("fine")])
    assert failed.error.startswith("gave up after 3 attempts: HTTP 500")
    assert not failed.ok and failed.choices == () and failed.attempts == 3
    assert fine.ok and server.count("q") == 3
    assert client.stats.failed == 1 and client.stats.ok == 1
    # a failure is not cached: the re-run retries it (and now gets the answer)
    retried, _ = client.generate([completion("q"), completion("fine")])
    assert retried.texts == ["late"] and server.count("q") == 4 and server.count("fine") == 1


def test_an_unreachable_endpoint_fails_fast_and_reports_every_request(tmp_path):
    from tests.support.openai_server import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    backend = OpenAIBackend(url, api_key="k", timeout=5)
    with GenerationClient(backend, cache=None, concurrency=2, max_retries=5, backoff=FAST,
                          max_consecutive_failures=6, progress=False) as client:
        results = client.generate([completion(f"p{i}") for i in range(30)])
    assert all(r.error is not None and not r.choices for r in results)
    assert client.stats.attempts <= 6 + 2 and client.stats.failed == 30
    not_sent = [r for r in results if r.error.startswith("not sent: 6 attempts in a row failed")]
    assert len(not_sent) >= 27
    assert f"cannot reach {url}: ConnectError" in not_sent[0].error


def test_permanent_errors_are_not_retried_and_not_cached(scripted_openai, make_client):
    server = scripted_openai({"bad": Reply.error(400, "max_tokens is too large")})
    client = make_client(server)
    [result] = client.generate([completion("bad")])
    assert result.error == "HTTP 400: max_tokens is too large" and result.attempts == 1
    assert server.count("bad") == 1
    client.generate([completion("bad")])
    assert server.count("bad") == 2  # sent again: a refusal is not an answer


@pytest.mark.parametrize("reply", [Reply.rate_limited(retry_after=0.4),
                                   Reply.rate_limited(retry_after_ms=400)],
                         ids=["retry-after", "retry-after-ms"])
def test_retry_after_is_honoured_and_holds_every_request(scripted_openai, make_client, reply):
    server = scripted_openai({"limited": [reply, "A"], "other": "B"})
    client = make_client(server, concurrency=1)  # backoff alone would wait 0.01 s
    results = client.generate([completion("limited"), completion("other")])
    assert [r.texts for r in results] == [["A"], ["B"]]
    arrivals = {(r.key, r.attempt): r.received_at for r in server.requests}
    assert sorted(arrivals) == [("limited", 1), ("limited", 2), ("other", 1)]
    first = arrivals["limited", 1]
    assert arrivals["limited", 2] - first >= 0.4
    assert arrivals["other", 1] - first >= 0.4  # the server said it is full


def test_concurrency_is_bounded_and_reached(scripted_openai, make_client):
    server = scripted_openai(latency=0.1)
    client = make_client(server, concurrency=4)
    results = client.generate([completion(f"p{i}") for i in range(16)])
    assert [r.texts for r in results] == [[f"echo: p{i}"] for i in range(16)]
    assert server.max_in_flight == 4


def test_duplicates_in_a_batch_are_sent_once(scripted_openai, make_client):
    server = scripted_openai()
    client = make_client(server)
    results = client.generate([completion("same"), completion("other"), completion("same")])
    assert server.counts() == {"same": 1, "other": 1}
    assert results[0].texts == results[2].texts == ["echo: same"]
    assert [r.cached for r in results] == [False, False, True]
    assert client.stats.requests == 3 and client.stats.sent == 2


def test_a_rerun_is_answered_from_the_cache_without_a_request(scripted_openai, make_client, tmp_path):
    server = scripted_openai(latency=0.01)
    requests = [completion(f"p{i}", seed=i) for i in range(6)]
    first = make_client(server).generate(requests)
    assert server.count() == 6
    again = make_client(server).generate(requests)  # a new client on the same cache file
    assert server.count() == 6
    assert all(r.cached for r in again)
    assert [r.to_json() for r in again] == [r.to_json() for r in first]
    # metadata is not part of the fingerprint; any answer-deciding field is
    make_client(server).generate([requests[0].replace(metadata={"row": 1}),
                                  requests[0].replace(seed=99)])
    assert server.count() == 7
    with ResponseCache(tmp_path / "cache.sqlite") as cache:
        assert len(cache) == 7
        assert cache.request(requests[1].fingerprint()) == requests[1].fingerprinted()


def test_tokens_and_cost_are_accounted_for_the_answers_paid_for(scripted_openai, make_client):
    server = scripted_openai({"a": Reply(text="x", prompt_tokens=1000, completion_tokens=500),
                              "b": Reply(text="y", prompt_tokens=3000, completion_tokens=250),
                              "c": Reply.error(400, "no")})
    client = make_client(server, prices={"prompt": 2.0, "completion": 6.0})
    client.generate([completion("a"), completion("b"), completion("c")])
    stats = client.stats
    assert (stats.prompt_tokens, stats.completion_tokens) == (4000, 750)
    assert stats.cost == pytest.approx((4000 * 2.0 + 750 * 6.0) / 1e6)
    client.generate([completion("a"), completion("b")])  # cached: costs nothing again
    assert stats.prompt_tokens == 4000 and stats.cost == pytest.approx(0.0125)
    assert stats.requests == 5 and stats.cached == 2 and stats.failed == 1
    last = client.last_stats  # the latest run alone
    assert (last.requests, last.cached, last.sent, last.cost, last.failed) == (2, 2, 0, 0.0, 0)
    assert stats.errors == {"HTTP 400: no": 1}
    assert make_client(server, cache=None).stats.cost is None  # no prices, no cost


def test_stream_yields_results_as_they_finish(scripted_openai, make_client):
    server = scripted_openai({"slow": Reply(text="S", latency=0.5)}, default=lambda r: r.key.upper(),
                             latency=0.01)
    client = make_client(server, concurrency=4)
    requests = [completion("slow")] + [completion(f"q{i}") for i in range(5)]
    seen = list(client.stream(requests))
    assert sorted(index for index, _ in seen) == list(range(6))
    assert seen[-1][0] == 0 and seen[-1][1].texts == ["S"]  # the slow one came last
    assert all(result.texts == [f"Q{index - 1}"] for index, result in seen[:-1])


def test_leaving_a_stream_early_stops_sending_and_keeps_what_was_answered(scripted_openai,
                                                                          make_client, tmp_path):
    server = scripted_openai(latency=0.05)
    client = make_client(server, concurrency=2)
    requests = [completion(f"p{i}") for i in range(40)]
    for count, _ in enumerate(client.stream(requests), start=1):
        if count == 3:
            break
    sent = server.count()
    time.sleep(0.3)
    assert server.count() == sent < 10  # nothing more was sent after the loop was left
    with ResponseCache(tmp_path / "cache.sqlite") as cache:
        assert len(cache) >= 3


def test_generate_works_inside_a_running_event_loop_and_agenerate_is_awaitable(scripted_openai,
                                                                               make_client):
    server = scripted_openai()
    client = make_client(server, cache=None)

    async def notebook_cell():
        inside = client.generate([completion("a")])  # blocks this loop, runs in a helper thread
        awaited = await client.agenerate([completion("b")])
        streamed = [pair async for pair in client.astream([completion("c")])]
        return inside, awaited, streamed

    inside, awaited, streamed = asyncio.run(notebook_cell())
    assert inside[0].texts == ["echo: a"] and awaited[0].texts == ["echo: b"]
    assert streamed[0][0] == 0 and streamed[0][1].texts == ["echo: c"]
    assert client.generate([completion("d")])[0].texts == ["echo: d"]  # a fresh loop again


class RecordingBatchBackend:
    """A local-model stand-in: answers a batch in one call, from a worker thread."""

    batched = True

    def __init__(self, fail_first: Exception | None = None):
        self.calls: list[list[str]] = []
        self.threads: set[str] = set()
        self.fail_first = fail_first

    def describe(self):
        return {"backend": "recording"}

    def generate_batch(self, requests):
        from commitpack_dataset.generation import Choice, GenerationResult

        self.calls.append([r.prompt for r in requests])
        self.threads.add(threading.current_thread().name)
        if self.fail_first is not None:
            error, self.fail_first = self.fail_first, None
            raise error
        return [GenerationResult(fingerprint=r.fingerprint(),
                                 choices=(Choice(r.prompt[::-1], "stop"),)) for r in requests]


def test_batched_backends_get_uncached_chunks_in_a_worker_thread(tmp_path):
    backend = RecordingBatchBackend()
    requests = [completion(f"p{i}") for i in range(10)]
    with GenerationClient(backend, cache=tmp_path / "c.sqlite", chunk_size=4, progress=False) as client:
        client.generate(requests[:3])
        results = client.generate(requests)
        assert [r.texts for r in results] == [[f"p{i}"[::-1]] for i in range(10)]
        assert [r.cached for r in results] == [True] * 3 + [False] * 7
        assert backend.calls == [["p0", "p1", "p2"], ["p3", "p4", "p5", "p6"], ["p7", "p8", "p9"]]
        assert threading.current_thread().name not in backend.threads
        client.generate(requests)
        assert len(backend.calls) == 3  # everything cached


def test_batched_backend_failures(tmp_path):
    from commitpack_dataset.generation import PermanentError, TransientError

    flaky = RecordingBatchBackend(fail_first=TransientError("device busy"))
    with GenerationClient(flaky, cache=None, backoff=FAST, progress=False) as client:
        results = client.generate([completion("a"), completion("b")])
    assert [r.texts for r in results] == [["a"], ["b"]] and len(flaky.calls) == 2
    assert results[0].attempts == 2

    for error, message in [(PermanentError("prompt too long"), "prompt too long"),
                           (RuntimeError("CUDA out of memory"), "RuntimeError: CUDA out of memory")]:
        broken = RecordingBatchBackend(fail_first=error)
        with GenerationClient(broken, cache=None, chunk_size=1, progress=False) as client:
            first, second = client.generate([completion("a"), completion("b")])
        assert first.error == message and second.texts == ["b"]  # the next chunk still ran


def test_progress_bar_shows_requests_in_flight_retries_failures_tokens_and_cost(
        scripted_openai, make_client, capsys):
    server = scripted_openai({"a": [Reply.server_error(), "x y"], "b": Reply.error(404, "gone")})
    client = make_client(server, progress=True, prices=(1.0, 1.0), desc="teacher")
    client.generate([completion("a"), completion("b")])
    err = capsys.readouterr().err
    final = err.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("teacher: 100%") and "2/2" in final
    for part in ("in_flight=0", "retried=1", "failed=1", "tokens=3", "cost=$3e-06"):
        assert part in final, final


def test_bad_arguments_are_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(TypeError, match="batched"):
        GenerationClient(object(), cache=None)
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        GenerationClient(RecordingBatchBackend(), cache=None, concurrency=0)
    with pytest.raises(ValueError, match="unknown price keys"):
        GenerationClient(RecordingBatchBackend(), cache=None, prices={"in": 1})
    with pytest.raises(ValueError, match="no API key for https://api.openai.com/v1: set MY_KEY"):
        OpenAIBackend(api_key_env="MY_KEY")
    monkeypatch.setitem(sys.modules, "openai", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'octopack\[teacher\]'"):
        OpenAIBackend("http://127.0.0.1:1/v1")
    (tmp_path / "junk.sqlite").write_text("not a database" * 100)
    with pytest.raises(ValueError, match="cannot open the response cache"):
        ResponseCache(tmp_path / "junk.sqlite")

"""Backoff delays and the rate limiters, with small numbers (the 5 % figure over a longer window
is the benchmark's job: ``benchmarks/generation_benchmark.py``)."""

from __future__ import annotations

import asyncio
import time

import pytest

from commitpack_dataset.generation import (
    Backoff,
    GenerationClient,
    GenerationRequest,
    OpenAIBackend,
    RateLimiter,
    estimate_tokens,
)
from commitpack_dataset.generation.openai_backend import retry_after
from tests.support.scripted_openai import Reply


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter_on_top():
    backoff = Backoff(initial=30.0, multiplier=2.0, maximum=200.0, jitter=1.0)  # Magicoder's
    assert [backoff.delay(k, rng=lambda: 0.0) for k in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]
    assert backoff.delay(2, rng=lambda: 0.5) == 90.0  # 60 * (1 + 1.0 * 0.5)
    assert backoff.delay(3, retry_after=2.0, rng=lambda: 0.0) == 2.0  # the server's word wins
    assert backoff.delay(1, retry_after=3600.0, rng=lambda: 0.0) == 200.0  # up to the cap
    assert Backoff.coerce(0.5) == Backoff(initial=0.5) and Backoff.coerce(None) == Backoff()
    with pytest.raises(ValueError, match="multiplier >= 1"):
        Backoff(multiplier=0.5)


def test_retry_after_headers_are_read_in_seconds_milliseconds_or_as_a_date():
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "250", "Retry-After": "3"}) == 0.25
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < retry_after({"Retry-After": future}) <= 30
    assert retry_after({"Retry-After": "soon"}) is None and retry_after({}) is None


def test_rate_limiter_spaces_acquisitions_and_allows_a_burst():
    async def times(limiter, count, amount=1.0):
        stamps = []
        for _ in range(count):
            await limiter.acquire(amount)
            stamps.append(time.monotonic())
        return stamps

    paced = asyncio.run(times(RateLimiter(50, period=1.0), 11))  # 20 ms apart
    assert paced[-1] - paced[0] >= 10 / 50 - 1e-3
    bursty = asyncio.run(times(RateLimiter(50, period=1.0, burst=5), 5))
    assert bursty[-1] - bursty[0] < 0.015  # five back to back
    heavy = asyncio.run(times(RateLimiter(1000, period=1.0), 3, amount=100))  # 0.1 s each
    assert heavy[-1] - heavy[0] >= 0.2 - 1e-3
    with pytest.raises(ValueError, match="limit > 0"):
        RateLimiter(0)


def test_refunded_units_are_spent_again_at_once():
    async def run():
        limiter = RateLimiter(100, period=1.0)  # 10 ms per unit
        await limiter.acquire(50)  # reserves 0.5 s
        limiter.refund(49)  # used only 1
        started = time.monotonic()
        await limiter.acquire(1)
        return time.monotonic() - started

    assert asyncio.run(run()) < 0.05


def test_token_estimate_counts_the_prompt_and_the_answers_budget():
    chat = GenerationRequest(model="m", messages=[{"role": "user", "content": "x" * 40}], n=2,
                             max_tokens=100)
    assert estimate_tokens(chat) == 10 + 200
    assert estimate_tokens(GenerationRequest(model="m", prompt="abcde", max_tokens=1)) == 2 + 1


def _arrivals(server):
    return sorted(r.received_at for r in server.requests)


# The server runs in this process, so its arrival times and time.monotonic() share a clock. A
# request can arrive late (a busy machine) but never before its slot: the i-th arrival is at
# least i slots after the run started -- a bound that holds however loaded the machine is.

def test_rpm_limit_paces_requests_at_the_server(scripted_openai):
    server = scripted_openai()
    backend = OpenAIBackend(server.base_url, api_key="k")
    client = GenerationClient(backend, cache=None, rpm=600, concurrency=8, progress=False)
    client.generate([GenerationRequest(model="m", prompt="warm-up")])  # lazy imports, first call
    time.sleep(0.15)  # the limiter is idle again
    server.reset()
    started = time.monotonic()
    client.generate([GenerationRequest(model="m", prompt=f"p{i}") for i in range(11)])
    arrivals = _arrivals(server)
    assert len(arrivals) == 11
    # one every 0.1 s despite 8 workers
    assert all(arrival - started >= i * 0.1 - 1e-3 for i, arrival in enumerate(arrivals))


def test_tpm_limit_paces_by_tokens_and_refunds_what_answers_did_not_use(scripted_openai):
    # every answer uses exactly the reserved 100 tokens (prompt "abcd" = 1, max_tokens 99)
    server = scripted_openai(default=Reply(text="x", prompt_tokens=1, completion_tokens=99),
                             script={})
    backend = OpenAIBackend(server.base_url, api_key="k")
    client = GenerationClient(backend, cache=None, tpm=60_000, concurrency=4, progress=False)
    client.generate([GenerationRequest(model="m", prompt="warm-up", max_tokens=1)])
    time.sleep(1.0)  # the bucket refills
    server.reset()
    started = time.monotonic()
    client.generate([GenerationRequest(model="m", prompt="abcd", max_tokens=99, seed=i)
                     for i in range(15)])
    arrivals = _arrivals(server)
    # 1,000 tokens per second and a one-second burst: 11 at once, then one every 0.1 s
    assert all(arrivals[i] - started >= (i - 10) * 0.1 - 1e-3 for i in range(11, 15))
    assert arrivals[10] - started < 0.9  # the burst: paced from the start it would be >= 1.0 s

    # answers use 3 of the 1,000 tokens reserved each: refunds keep the run fast
    cheap = scripted_openai()
    client = GenerationClient(OpenAIBackend(cheap.base_url, api_key="k"), cache=None, tpm=60_000,
                              concurrency=1, progress=False)
    started = time.monotonic()
    client.generate([GenerationRequest(model="m", prompt="abcd", max_tokens=999, seed=i)
                     for i in range(10)])
    assert cheap.count() == 10
    assert time.monotonic() - started < 4.0  # without refunds: >= 8 s (one per second)

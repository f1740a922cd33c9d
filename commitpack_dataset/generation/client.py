"""The generation client: many requests to one backend, each answer paid for once.

``GenerationClient(backend, cache=...)`` takes :class:`GenerationRequest` s and gives back one
:class:`GenerationResult` per request:

1. answers already in the response cache come back at once (``cached=True``), and a request
   repeated within a batch is sent once;
2. for an endpoint (``backend.batched = False``) at most ``concurrency`` requests are in flight
   (asyncio workers: no thread per request). :class:`TransientError` s are retried up to
   ``max_retries`` times after :class:`Backoff` delays, a server's ``Retry-After`` honoured (and
   every worker holds off until then, since the server said it is full); after
   ``max_consecutive_failures`` in a row (an endpoint down, a wrong URL) the rest is not sent but
   reported failed, so a dead endpoint costs seconds, not hours. Optional ``rpm`` / ``tpm``
   limits pace the requests (:class:`RateLimiter`);
3. for a local backend (``batched = True``) uncached requests go to ``generate_batch`` in
   chunks of ``chunk_size``, in a worker thread;
4. each answer is stored in the cache the moment it arrives, before anyone sees it, so a killed
   run loses only what was in flight; failures come back with ``error`` set and are never
   raised out of a batch.

Sync and async, in order or as they finish::

    results = client.generate(requests)                # a list in request order
    for index, result in client.stream(requests): ...  # (index, result) as each finishes
    results = await client.agenerate(requests)         # inside async code
    async for index, result in client.astream(requests): ...

``generate``/``stream`` work from scripts and also from inside a running event loop (a notebook):
there they run the loop in a helper thread and block; async code should ``await`` instead.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from commitpack_dataset.generation.accounting import GenerationProgress, GenerationStats, Prices
from commitpack_dataset.generation.cache import ResponseCache, default_cache_path, is_cacheable
from commitpack_dataset.generation.limits import Backoff, RateLimiter, estimate_tokens
from commitpack_dataset.generation.requests import (
    Backend,
    GenerationRequest,
    GenerationResult,
    PermanentError,
    TransientError,
)
from commitpack_dataset.generation.sync import Crashed, run_sync, stream_sync

logger = logging.getLogger("commitpack_dataset.generation")

#: ``cache=DEFAULT_CACHE``: ``octopack_common.cache_dir()/generation/responses.sqlite``.
DEFAULT_CACHE = "default"
DEFAULT_CHUNK_SIZE = 64


class GenerationClient:
    """Send requests to ``backend`` (see the module docstring).

    ``cache``: a path, a :class:`ResponseCache`, :data:`DEFAULT_CACHE`, or ``None`` (no cache:
    every request is sent). ``concurrency``: requests in flight at once. ``max_retries``: retries
    of a transient failure after the first attempt. ``backoff``: a :class:`Backoff` or the first
    delay in seconds. ``rpm`` / ``tpm``: requests / tokens per minute (``None``: unlimited).
    ``prices``: USD per 1M tokens, ``Prices(prompt, completion)``, ``{"prompt": .., "completion":
    ..}`` or a pair. ``progress``: show a tqdm bar. ``chunk_size``: requests per
    ``generate_batch`` call of a batched backend (default: the backend's ``chunk_size`` attribute,
    else 64). ``max_consecutive_failures``: after that many transient failures in a row with no
    answer in between (an endpoint that is down or a wrong URL), nothing more is sent and the
    requests left come back with an error (``None``: retry each request to its end)."""

    def __init__(self, backend: Backend, *, cache: ResponseCache | str | os.PathLike[str] | None = DEFAULT_CACHE,
                 concurrency: int = 8, max_retries: int = 5, backoff: Backoff | float | None = None,
                 rpm: float | None = None, tpm: float | None = None,
                 prices: Prices | Mapping[str, float] | Sequence[float] | None = None,
                 progress: bool = True, chunk_size: int | None = None, desc: str = "generate",
                 max_consecutive_failures: int | None = 50):
        if not isinstance(getattr(backend, "batched", None), bool):
            raise TypeError(f"{type(backend).__name__} is not a generation Backend: it needs a "
                            "boolean 'batched' attribute (see commitpack_dataset.generation.Backend)")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.backend = backend
        self._owns_cache = not isinstance(cache, ResponseCache)
        if cache is None or isinstance(cache, ResponseCache):
            self.cache = cache
        else:
            self.cache = ResponseCache(default_cache_path() if cache == DEFAULT_CACHE else cache)
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.max_consecutive_failures = max_consecutive_failures
        self.backoff = Backoff.coerce(backoff)
        self.rpm, self.tpm = rpm, tpm
        self._rpm = RateLimiter(rpm, 60.0) if rpm else None
        self._tpm = RateLimiter(tpm, 60.0, burst=tpm / 60.0) if tpm else None
        self.prices = Prices.coerce(prices)
        self.progress = progress
        self.chunk_size = chunk_size or getattr(backend, "chunk_size", None) or DEFAULT_CHUNK_SIZE
        self.desc = desc
        self.stats = GenerationStats(cost=0.0 if self.prices is not None else None)
        self.last_stats = GenerationStats()  # the latest run's share of ``stats``
        self._description = dict(backend.describe())
        self._redact = getattr(backend, "redact", None) or (lambda text: text)

    def __repr__(self) -> str:
        return (f"GenerationClient({self.backend!r}, cache={self.cache!r}, "
                f"concurrency={self.concurrency})")

    def close(self) -> None:
        """Close the cache if this client opened it."""
        if self.cache is not None and self._owns_cache:
            self.cache.close()

    def __enter__(self) -> "GenerationClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the four ways in ------------------------------------------------------------------------
    def generate(self, requests: Iterable[GenerationRequest]) -> list[GenerationResult]:
        """One result per request, in request order."""
        return run_sync(self.agenerate(list(requests)))

    async def agenerate(self, requests: Iterable[GenerationRequest]) -> list[GenerationResult]:
        requests = list(requests)
        results: list[GenerationResult | None] = [None] * len(requests)
        async for index, result in self.astream(requests):
            results[index] = result
        return results  # type: ignore[return-value]

    def stream(self, requests: Iterable[GenerationRequest]) -> Iterator[tuple[int, GenerationResult]]:
        """``(index, result)`` pairs as requests finish (cached ones first). Leaving the loop
        early cancels what is in flight; everything answered so far is in the cache."""
        return stream_sync(self.astream(list(requests)))

    async def astream(self, requests: Iterable[GenerationRequest]
                      ) -> AsyncIterator[tuple[int, GenerationResult]]:
        requests = list(requests)
        for request in requests:
            if not isinstance(request, GenerationRequest):
                raise TypeError(f"expected GenerationRequest, got {type(request).__name__}")
        fingerprints = [request.fingerprint() for request in requests]
        positions: dict[str, list[int]] = collections.defaultdict(list)
        for index, fingerprint in enumerate(fingerprints):
            positions[fingerprint].append(index)
        found = self.cache.get_many(positions) if self.cache is not None else {}
        todo = [(fingerprint, requests[indices[0]]) for fingerprint, indices in positions.items()
                if fingerprint not in found]
        progress = GenerationProgress(len(requests), self.stats, enabled=self.progress,
                                      desc=self.desc)
        started, before = time.monotonic(), self.stats.copy()
        try:
            for fingerprint, result in found.items():
                for index in positions[fingerprint]:
                    self.stats.record(result, self.prices)
                    yield index, result
                progress.done(len(positions[fingerprint]))
            if todo:
                run = self._run_batched if self.backend.batched else self._run_endpoint
                async for fingerprint, result in run(todo, progress):
                    first, *duplicates = positions[fingerprint]
                    self.stats.record(result, self.prices)
                    yield first, result
                    copy = dataclasses.replace(result, cached=True)
                    for index in duplicates:
                        self.stats.record(copy, self.prices)
                        yield index, copy
                    progress.done(len(positions[fingerprint]))
        finally:
            progress.close()
            aclose = getattr(self.backend, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        self.last_stats = run = self.stats.minus(before)
        logger.info("generation: %d requests in %.1f s (%d cached, %d sent, %d retries, "
                    "%d failed, %d truncated, %d tokens%s)", run.requests,
                    time.monotonic() - started, run.cached, run.sent, run.retries, run.failed,
                    run.truncated, run.total_tokens,
                    f", ${run.cost:.4f}" if run.cost is not None else "")

    # -- storing ---------------------------------------------------------------------------------
    def _finish(self, request: GenerationRequest, result: GenerationResult) -> GenerationResult:
        if result.fingerprint != request.fingerprint():
            result = dataclasses.replace(result, fingerprint=request.fingerprint())
        if self.cache is not None and is_cacheable(result):
            self.cache.put(request, result, self._description)
        return result

    def _failure(self, request: GenerationRequest, error: str, attempts: int) -> GenerationResult:
        return GenerationResult(fingerprint=request.fingerprint(), error=self._redact(error),
                                attempts=attempts)

    # -- endpoints: asyncio workers under the concurrency bound ----------------------------------
    async def _run_endpoint(self, todo: list[tuple[str, GenerationRequest]],
                            progress: GenerationProgress
                            ) -> AsyncIterator[tuple[str, GenerationResult]]:
        jobs: asyncio.Queue = asyncio.Queue()
        for fingerprint, request in todo:
            jobs.put_nowait((fingerprint, request, 1))
        finished: asyncio.Queue = asyncio.Queue()
        outstanding = len(todo)
        resume_at = 0.0  # a server's Retry-After holds every worker off until then
        failing = 0  # transient failures in a row, across requests (any answer resets it)
        tripped: str | None = None  # why the rest of the run is not sent
        loop = asyncio.get_running_loop()
        waiting: dict[str, tuple[asyncio.TimerHandle, tuple]] = {}  # retries sleeping off a delay

        def release(fingerprint: str) -> None:
            _timer, job = waiting.pop(fingerprint)
            jobs.put_nowait(job)

        def report(fingerprint: str, result: GenerationResult) -> None:
            nonlocal outstanding
            outstanding -= 1
            finished.put_nowait((fingerprint, result))
            if outstanding == 0:  # every job is done: the workers may stop
                for _ in range(self.concurrency):
                    jobs.put_nowait(None)

        async def attempt(request: GenerationRequest, number: int):
            if self._rpm is not None:
                await self._rpm.acquire(1)
            reserved = estimate_tokens(request) if self._tpm is not None else 0
            if self._tpm is not None:
                await self._tpm.acquire(reserved)
            self.stats.attempts += 1
            progress.started()
            result = None
            try:
                result = await self.backend.agenerate(request)
            finally:
                progress.stopped()
                if self._tpm is not None:  # give back what the answer did not use
                    used = result.usage.total_tokens if result is not None else 0
                    if result is None or used:
                        self._tpm.refund(reserved - used)
            return dataclasses.replace(result, attempts=number)

        async def worker() -> None:
            try:
                await work()
            except Exception as error:  # a bug here, not a failed request: stop the run
                finished.put_nowait(Crashed(error))
                raise

        async def work() -> None:
            nonlocal outstanding, resume_at, failing, tripped
            while True:
                job = await jobs.get()
                if job is None:
                    return
                fingerprint, request, number = job
                wait = resume_at - time.monotonic()
                if wait > 0 and tripped is None:
                    await asyncio.sleep(wait)
                if tripped is not None:
                    report(fingerprint, self._failure(request, f"not sent: {tripped}", number - 1))
                    continue
                if number == 1:
                    self.stats.sent += 1
                try:
                    result = self._finish(request, await attempt(request, number))
                    failing = 0
                except TransientError as error:
                    failing += 1
                    limit = self.max_consecutive_failures
                    if limit is not None and failing >= limit and tripped is None:
                        tripped = self._redact(f"{failing} attempts in a row failed, the last "
                                               f"with: {error}")
                        logger.error("generation stops sending: %s", tripped)
                        for timer, pending in list(waiting.values()):  # fail them now
                            timer.cancel()
                            jobs.put_nowait(pending)
                        waiting.clear()
                    if number <= self.max_retries and tripped is None:
                        delay = self.backoff.delay(number, error.retry_after)
                        if error.retry_after is not None:
                            resume_at = max(resume_at, time.monotonic() + delay)
                        self.stats.retries += 1
                        logger.info("retry %d/%d of %s in %.2f s: %s", number, self.max_retries,
                                    fingerprint[:12], delay, self._redact(str(error)))
                        waiting[fingerprint] = (loop.call_later(delay, release, fingerprint),
                                                (fingerprint, request, number + 1))
                        progress.done(0)
                        continue
                    result = self._failure(request, f"gave up after {number} attempts: {error}",
                                           number)
                except PermanentError as error:
                    failing = 0  # the backend answered
                    result = self._failure(request, str(error), number)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # a bug in a backend must not lose the batch
                    logger.exception("backend %s failed on %s", type(self.backend).__name__,
                                     fingerprint[:12])
                    result = self._failure(request, f"{type(error).__name__}: {error}", number)
                if result.error is not None:
                    logger.warning("request %s failed: %s", fingerprint[:12], result.error)
                report(fingerprint, result)

        workers = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, len(todo)))]
        try:
            for _ in range(len(todo)):
                item = await finished.get()
                if isinstance(item, Crashed):
                    raise item.error
                yield item
        finally:
            for timer, _job in waiting.values():
                timer.cancel()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    # -- local backends: chunks to generate_batch in a worker thread -----------------------------
    async def _run_batched(self, todo: list[tuple[str, GenerationRequest]],
                           progress: GenerationProgress
                           ) -> AsyncIterator[tuple[str, GenerationResult]]:
        for start in range(0, len(todo), self.chunk_size):
            chunk = todo[start : start + self.chunk_size]
            requests = [request for _, request in chunk]
            self.stats.sent += len(chunk)
            results = await self._batch_with_retries(requests, progress)
            for (fingerprint, request), result in zip(chunk, results):
                yield fingerprint, self._finish(request, result)

    async def _batch_with_retries(self, requests: list[GenerationRequest],
                                  progress: GenerationProgress) -> list[GenerationResult]:
        for number in range(1, self.max_retries + 2):
            self.stats.attempts += 1
            for _ in requests:
                progress.started()
            try:
                results = await asyncio.to_thread(self.backend.generate_batch, requests)
                results = list(results)
                name = f"{type(self.backend).__name__}.generate_batch"
                if len(results) != len(requests):
                    raise PermanentError(f"{name} returned {len(results)} results for "
                                         f"{len(requests)} requests")
                if any(r.fingerprint and r.fingerprint != q.fingerprint()
                       for r, q in zip(results, requests)):
                    raise PermanentError(f"{name} returned results out of request order")
                return [dataclasses.replace(r, attempts=r.attempts or number) for r in results]
            except TransientError as error:
                if number > self.max_retries:
                    return [self._failure(r, f"gave up after {number} attempts: {error}", number)
                            for r in requests]
                self.stats.retries += 1
                delay = self.backoff.delay(number, error.retry_after)
                logger.info("retrying a batch of %d in %.2f s: %s", len(requests), delay,
                            self._redact(str(error)))
                await asyncio.sleep(delay)
            except PermanentError as error:
                return [self._failure(r, str(error), number) for r in requests]
            except Exception as error:  # a bug in a backend must not lose the batch
                logger.exception("backend %s failed on a batch of %d",
                                 type(self.backend).__name__, len(requests))
                return [self._failure(r, f"{type(error).__name__}: {error}", number)
                        for r in requests]
            finally:
                for _ in requests:
                    progress.stopped()
        raise AssertionError("unreachable")

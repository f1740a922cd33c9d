"""How long to wait: exponential backoff with jitter between retries, and rate limits.

:class:`Backoff` gives the delay before the k-th retry: ``initial * multiplier**(k-1)``, capped
at ``maximum``, times ``1 + jitter * U[0, 1)`` so that many requests failing together do not come
back together. A server's ``Retry-After`` wins over the formula (it knows when it will have room),
up to ``maximum``.
Magicoder's teacher used ``Backoff(initial=30, multiplier=2, jitter=1)`` with 5 retries
(reference D.2); the default here suits a local endpoint and a hosted one alike.

:class:`RateLimiter` is a GCRA ("virtual scheduling") token bucket: each acquisition of
``amount`` units moves a theoretical arrival time forward by ``amount / rate`` and waits until
the caller is due. Because the schedule advances from the *scheduled* time rather than the time
a sleeping task actually woke up, scheduler lateness does not accumulate, so a limit of R
requests per minute holds R to well within a percent over any long window (``burst`` allows
that many units back to back after an idle spell). Waiters are served first come, first served.
Token-per-minute limits reserve an estimate before a request (prompt characters / 4 + n *
max_tokens: what providers count against a limit) and :meth:`RateLimiter.refund` the unused part
when the usage comes back.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from commitpack_dataset.generation.requests import GenerationRequest

#: Characters per token when estimating a prompt's tokens before it is sent (English and code).
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Backoff:
    """Delays between retries: ``initial * multiplier**(retry-1)`` capped at ``maximum``, times
    ``1 + jitter * U[0, 1)``; a server's ``Retry-After`` is honoured instead, up to ``maximum``
    (plus the same relative jitter)."""

    initial: float = 1.0
    multiplier: float = 2.0
    maximum: float = 60.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0 or self.multiplier < 1 or self.jitter < 0:
            raise ValueError(f"invalid {self}: initial, maximum and jitter must be >= 0 and "
                             "multiplier >= 1")

    def delay(self, retry: int, retry_after: float | None = None,
              rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        if retry_after is not None and retry_after >= 0:
            base = min(retry_after, self.maximum)
        else:
            base = min(self.maximum, self.initial * self.multiplier ** max(0, retry - 1))
        return base * (1.0 + self.jitter * rng())

    @classmethod
    def coerce(cls, value: "Backoff | float | int | None") -> "Backoff":
        """A :class:`Backoff` from a number (the initial delay), ``None`` (defaults) or itself."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        return cls(initial=float(value))


class RateLimiter:
    """At most ``limit`` units per ``period`` seconds, ``burst`` of them back to back.

    ``await acquire(amount)`` returns when the caller may spend ``amount`` units; ``refund``
    gives back units reserved but not used. Use it from one event loop (or one thread)."""

    def __init__(self, limit: float, period: float = 60.0, burst: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        if not limit > 0 or not period > 0:
            raise ValueError(f"a rate limit needs limit > 0 and period > 0, got {limit} per "
                             f"{period} s")
        self.limit, self.period = float(limit), float(period)
        self.rate = self.limit / self.period  # units per second
        self.tolerance = max(0.0, burst - 1.0) / self.rate  # seconds a caller may come early
        self._clock = clock
        self._due = -math.inf  # theoretical arrival time of the next unit

    def __repr__(self) -> str:
        return f"RateLimiter({self.limit:g} per {self.period:g} s)"

    async def acquire(self, amount: float = 1.0) -> float:
        """Wait until ``amount`` units may be spent; return the seconds waited."""
        # The slot is booked before sleeping (no await in between), so callers are served in
        # arrival order and several can sleep towards their own slots at once.
        now = self._clock()
        start = max(now, self._due - self.tolerance)
        self._due = max(self._due, start) + amount / self.rate
        waited = start - now
        if waited > 0:
            await asyncio.sleep(waited)
        return max(0.0, waited)

    def refund(self, amount: float) -> None:
        """Give back ``amount`` units acquired but not used (e.g. tokens reserved for
        ``max_tokens`` that the answer did not use)."""
        if amount > 0:
            self._due = max(self._clock() - self.tolerance, self._due - amount / self.rate)


def estimate_tokens(request: GenerationRequest) -> int:
    """Tokens a request may count against a tokens-per-minute limit before it is answered:
    its prompt (characters / 4) plus ``n * max_tokens``."""
    if request.messages is not None:
        chars = sum(len(str(m.get("content", ""))) for m in request.messages)
    else:
        chars = len(request.prompt or "")
    return math.ceil(chars / CHARS_PER_TOKEN) + request.n * request.max_tokens

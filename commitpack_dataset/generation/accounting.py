"""What a generation run did and cost, and the progress bar that shows it as it goes.

:class:`GenerationStats` counts requests (cached, sent, ok, truncated, failed), HTTP attempts and
retries, and the tokens of the answers this run paid for (cached answers cost nothing again);
with :class:`Prices` (USD per million tokens) it also gives the cost. :class:`GenerationProgress`
is a tqdm bar over the requests with the same figures as its postfix -- numbers only, nothing a
secret could hide in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm.auto import tqdm

from commitpack_dataset.generation.requests import GenerationResult, Usage


@dataclass(frozen=True)
class Prices:
    """USD per million tokens: ``prompt`` (input) and ``completion`` (output)."""

    prompt: float
    completion: float

    def __post_init__(self) -> None:
        if self.prompt < 0 or self.completion < 0:
            raise ValueError(f"prices must be >= 0, got {self}")

    def cost(self, usage: Usage) -> float:
        return (usage.prompt_tokens * self.prompt + usage.completion_tokens * self.completion) / 1e6

    @classmethod
    def coerce(cls, value: "Prices | Mapping[str, float] | Sequence[float] | None") -> "Prices | None":
        """From ``Prices``, ``{"prompt": p, "completion": c}`` (or ``input``/``output``), or
        ``(p, c)``; ``None`` stays ``None`` (no cost accounting)."""
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"prompt", "completion", "input", "output"}
            if unknown:
                raise ValueError(f"unknown price keys {sorted(unknown)}: use prompt and completion "
                                 "(USD per 1M tokens)")
            return cls(float(value.get("prompt", value.get("input", 0.0))),
                       float(value.get("completion", value.get("output", 0.0))))
        prompt, completion = value
        return cls(float(prompt), float(completion))


@dataclass
class GenerationStats:
    """Counts over one client's runs (``GenerationClient.stats``)."""

    requests: int = 0  # results handed back (duplicates in a batch included)
    cached: int = 0  # of which answered from the cache
    sent: int = 0  # distinct requests sent to the backend (each once, however many retries)
    attempts: int = 0  # calls to the backend, retries included
    retries: int = 0
    ok: int = 0
    truncated: int = 0  # answered, some choice not finished with "stop"
    failed: int = 0  # an error after retries (permanent, or retries exhausted)
    prompt_tokens: int = 0  # of the answers this run paid for
    completion_tokens: int = 0
    cost: float | None = None  # USD, when prices were given
    errors: dict[str, int] = field(default_factory=dict)  # failure message -> requests

    def record(self, result: GenerationResult, prices: Prices | None) -> None:
        """Count one result handed back (a duplicate in a batch comes back ``cached``)."""
        self.requests += 1
        if result.cached:
            self.cached += 1
        if result.error is not None:
            self.failed += 1
            key = result.error[:200]
            self.errors[key] = self.errors.get(key, 0) + 1
        elif result.ok:
            self.ok += 1
        else:
            self.truncated += 1
        if not result.cached:
            self.prompt_tokens += result.usage.prompt_tokens
            self.completion_tokens += result.usage.completion_tokens
            if prices is not None:
                self.cost = (self.cost or 0.0) + prices.cost(result.usage)
        elif prices is not None and self.cost is None:
            self.cost = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def copy(self) -> "GenerationStats":
        return dataclasses.replace(self, errors=dict(self.errors))

    def minus(self, before: "GenerationStats") -> "GenerationStats":
        """What happened since ``before`` (a :meth:`copy` taken earlier)."""
        counts = {f.name: getattr(self, f.name) - getattr(before, f.name)
                  for f in dataclasses.fields(self) if f.name not in ("cost", "errors")}
        cost = None if self.cost is None else self.cost - (before.cost or 0.0)
        errors = {k: v - before.errors.get(k, 0) for k, v in self.errors.items()
                  if v != before.errors.get(k, 0)}
        return GenerationStats(**counts, cost=cost, errors=errors)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _short(number: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if number >= size:
            return f"{number / size:.1f}{unit}"
    return str(int(number))


def _dollars(amount: float) -> str:
    return f"${amount:.4f}" if amount == 0 or amount >= 1e-4 else f"${amount:.2g}"


class GenerationProgress:
    """A tqdm bar over ``total`` requests: done (the bar), in flight, retried, failed, tokens
    and cost (postfix)."""

    def __init__(self, total: int, stats: GenerationStats, *, enabled: bool = True,
                 desc: str = "generate"):
        self.stats = stats
        self.in_flight = 0
        self._before = stats.copy()
        self.bar = tqdm(total=total, desc=desc, unit="req", disable=not enabled, dynamic_ncols=True,
                        smoothing=0.1)

    def started(self) -> None:
        self.in_flight += 1
        self._postfix()

    def stopped(self) -> None:
        self.in_flight -= 1
        self._postfix()

    def done(self, count: int = 1) -> None:
        self.bar.update(count)
        self._postfix()

    def _postfix(self) -> None:
        run = self.stats.minus(self._before)
        postfix = {"in_flight": self.in_flight, "retried": run.retries, "failed": run.failed,
                   "tokens": _short(run.total_tokens)}
        if run.cost is not None:
            postfix["cost"] = _dollars(run.cost)
        self.bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        self._postfix()
        self.bar.close()

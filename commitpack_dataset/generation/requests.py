"""What a generation request and its result are, and how a request is fingerprinted.

A :class:`GenerationRequest` is everything that decides a model's answer: the model, either chat
``messages`` or a completion ``prompt``, and the sampling parameters (``n`` samples, temperature,
top_p, max_tokens, stop strings, seed). Its :meth:`~GenerationRequest.fingerprint` is the SHA-256
of a canonical JSON of exactly those fields, so the same request always has the same key in the
response cache, and anything that could change the answer changes the key. Transport settings
(endpoint URL, API key, timeouts, concurrency) are not part of a request and never part of a
fingerprint: pointing a build at a mirror of the same model reuses its cache, and a key can never
leak through a cache key.

A :class:`GenerationResult` holds the ``n`` choices (text and ``finish_reason`` each), the
``system_fingerprint`` the server reported, token usage, and, when the request failed for good,
the error. ``ok`` means every choice finished with ``stop`` (a ``length`` finish is a truncated
answer and not a success).

Backends (OpenAI-compatible endpoints, local ``transformers``, vLLM) implement :class:`Backend`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

#: Bumped when the fingerprinted form of a request changes (old cache entries then stop matching).
FINGERPRINT_VERSION = 1

Mode = Literal["chat", "completion"]


@dataclass(frozen=True)
class GenerationRequest:
    """One call to a model. Exactly one of ``messages`` (chat mode) or ``prompt`` (completion
    mode) is set. ``extra`` holds further sampling parameters a backend understands (e.g.
    ``{"repetition_penalty": 1.1}``); they are fingerprinted too. ``metadata`` is carried along
    for the caller (task_id, row index, ...) and is *not* fingerprinted."""

    model: str
    messages: tuple[Mapping[str, str], ...] | None = None
    prompt: str | None = None
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("a GenerationRequest needs exactly one of messages= (chat) or "
                             "prompt= (completion)")
        if self.messages is not None:
            object.__setattr__(self, "messages", tuple(dict(m) for m in self.messages))
        object.__setattr__(self, "stop", tuple(self.stop))
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")

    @property
    def mode(self) -> Mode:
        return "chat" if self.messages is not None else "completion"

    def fingerprinted(self) -> dict[str, Any]:
        """The fields that decide the answer, as plain JSON-able data."""
        return {
            "version": FINGERPRINT_VERSION,
            "model": self.model,
            "mode": self.mode,
            "messages": [dict(m) for m in self.messages] if self.messages is not None else None,
            "prompt": self.prompt,
            "n": self.n,
            "temperature": float(self.temperature),
            "top_p": float(self.top_p),
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "seed": self.seed,
            "extra": dict(self.extra),
        }

    def fingerprint(self) -> str:
        canonical = json.dumps(self.fingerprinted(), sort_keys=True, ensure_ascii=False,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def replace(self, **changes: Any) -> "GenerationRequest":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Choice:
    text: str
    finish_reason: str | None  # "stop", "length", ... as the server said


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class GenerationResult:
    """The answer to one :class:`GenerationRequest` (or why there is none).

    ``error`` is set when the request failed for good (after retries): a failed request is
    reported, never raised from a batch, so finished work around it is kept. ``cached`` tells
    whether the result came from the response cache (no request was sent for it)."""

    fingerprint: str
    choices: tuple[Choice, ...] = ()
    system_fingerprint: str | None = None
    usage: Usage = Usage()
    model: str | None = None  # the model name the server reported
    error: str | None = None
    attempts: int = 0
    cached: bool = False

    @property
    def ok(self) -> bool:
        """Every choice came back and finished with ``stop`` (``length`` = truncated)."""
        return self.error is None and bool(self.choices) and all(
            c.finish_reason == "stop" for c in self.choices)

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.choices]

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "choices": [{"text": c.text, "finish_reason": c.finish_reason} for c in self.choices],
            "system_fingerprint": self.system_fingerprint,
            "usage": {"prompt_tokens": self.usage.prompt_tokens,
                      "completion_tokens": self.usage.completion_tokens},
            "model": self.model,
            "error": self.error,
            "attempts": self.attempts,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], cached: bool = False) -> "GenerationResult":
        usage = data.get("usage") or {}
        return cls(
            fingerprint=data["fingerprint"],
            choices=tuple(Choice(c["text"], c.get("finish_reason")) for c in data["choices"]),
            system_fingerprint=data.get("system_fingerprint"),
            usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
            model=data.get("model"),
            error=data.get("error"),
            attempts=int(data.get("attempts", 0)),
            cached=cached,
        )


class TransientError(Exception):
    """A failure worth retrying (429, 5xx, timeout, connection error, malformed body).
    ``retry_after``: seconds the server asked to wait (``Retry-After``), when it said."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """A failure retrying cannot fix (400 bad request, 401/403, unknown model, bad prompt)."""


@runtime_checkable
class Backend(Protocol):
    """A model to generate with. Two shapes, told apart by :attr:`batched`:

    * ``batched = False`` (endpoints): ``async agenerate(request) -> GenerationResult`` for one
      request; the client runs many at once under its concurrency bound, retries
      :class:`TransientError`, and records :class:`PermanentError` on the result.
    * ``batched = True`` (local ``transformers``, vLLM): ``generate_batch(requests) ->
      list[GenerationResult]`` in the same order; the client hands it chunks of uncached
      requests (its own batching, length sorting and ``n`` samples per prompt are the backend's
      business) and stores each chunk's results as they come back.

    ``describe()`` returns what a record should say about where an answer came from (backend
    kind, model, revision, ...), never secrets; the client stores it with each cached answer.

    Optional, used when present: ``chunk_size`` (batched: requests per ``generate_batch`` call,
    i.e. how often answers are stored), ``async aclose()`` (called after each run, on the run's
    event loop: release connections bound to it), ``redact(text) -> str`` (the client passes
    every error message it records or logs through it, to strip secrets the backend knows).
    """

    batched: bool

    def describe(self) -> dict[str, Any]: ...


def first_text(result: GenerationResult) -> str:
    """The first choice's text ('' when there is none): the common case of ``n = 1``."""
    return result.choices[0].text if result.choices else ""


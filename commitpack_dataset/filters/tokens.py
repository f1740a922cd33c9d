"""B.1 rule 11: token length of ``old_contents + "<|endoftext|>" + new_contents``.

The paper counts tokens with the StarCoder tokenizer (``bigcode/starcoder``, a gated repository)
and keeps 50 <= count <= 768. ``tokenizer`` chooses how tokens are counted, resolved here and
nowhere else (``resolve_token_counter``):

- a Hub id or a local directory: loaded with ``transformers.AutoTokenizer.from_pretrained``;
- ``"estimate"``: ``ceil(utf-8 bytes / 3.5)`` per content plus one token for the separator;
- an object with ``encode`` (a loaded tokenizer) or a callable returning a token count.

A name that cannot be loaded (offline, gated, missing files) falls back to the estimate, never
silently: a ``TokenizerFallbackWarning`` is issued and logged, ``TokenLength.counter_info()``
says what was asked for, what was used and why, and drops decided by an estimate carry the
reason ``token_length_estimated`` instead of ``token_length``. The builders store that information
with their drop statistics and in the dataset info.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import warnings
from typing import Any, Callable, Dict, Optional, Union

from commitpack_dataset.filters.base import Filter, Record

logger = logging.getLogger(__name__)

STARCODER_TOKENIZER = "bigcode/starcoder"
ESTIMATE = "estimate"
END_OF_TEXT = "<|endoftext|>"
DEFAULT_BYTES_PER_TOKEN = 3.5  # rough BPE rate on source code
MIN_TOKENS, MAX_TOKENS = 50, 768  # inclusive bounds

TokenCounter = Callable[[str], int]
TokenizerChoice = Union[str, os.PathLike, Any, None]


class TokenizerFallbackWarning(UserWarning):
    """The requested tokenizer could not be loaded; token lengths are byte-length estimates."""


@dataclasses.dataclass(frozen=True)
class ResolvedCounter:
    """How tokens are counted: ``counter`` is ``None`` for the byte-length estimate."""

    requested: str
    counter: Optional[TokenCounter]
    fallback: str = ""  # why a requested tokenizer was not used ("" when it was, or when "estimate" was asked)

    @property
    def estimated(self) -> bool:
        return self.counter is None

    def info(self) -> Dict[str, str]:
        """JSON-ready summary: requested, used (``estimate`` or the tokenizer) and the fallback reason."""
        return {"requested": self.requested, "used": ESTIMATE if self.estimated else self.requested,
                "fallback": self.fallback}


def describe_counter(info: Optional[Dict[str, str]]) -> str:
    """One line for logs, drop tables and dataset descriptions."""
    if not info:
        return ""
    if info.get("fallback"):
        return (f"token lengths are byte-length estimates: tokenizer {info['requested']!r} could not be loaded "
                f"({info['fallback']})")
    if info.get("used") == ESTIMATE:
        return "token lengths are byte-length estimates (tokenizer='estimate')"
    return f"token lengths counted with {info.get('used')}"


def resolve_token_counter(tokenizer: TokenizerChoice) -> ResolvedCounter:
    """The one place a tokenizer choice becomes a counter (see the module docstring); a
    ``ResolvedCounter`` (resolved once, e.g. in a builder's main process) is returned as it is."""
    if isinstance(tokenizer, ResolvedCounter):
        return tokenizer
    if tokenizer is None or tokenizer == "" or tokenizer == ESTIMATE:
        return ResolvedCounter(ESTIMATE, None)
    if isinstance(tokenizer, (str, os.PathLike)):
        name = str(tokenizer)
        try:
            from transformers import AutoTokenizer

            loaded = AutoTokenizer.from_pretrained(name)
        except Exception as error:  # offline, gated, missing files: estimate, loudly
            reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
            message = (f"tokenizer {name!r} could not be loaded ({reason}); the CommitPackFT token-length rule "
                       f"uses a byte-length estimate instead. Pass tokenizer=<local tokenizer directory or Hub id> "
                       f"(CLI: --tokenizer), or tokenizer='estimate' to choose the estimate explicitly.")
            logger.warning(message)
            warnings.warn(message, TokenizerFallbackWarning, stacklevel=3)
            return ResolvedCounter(name, None, fallback=reason)
        return ResolvedCounter(name, lambda text: len(loaded.encode(text)))
    if hasattr(tokenizer, "encode"):
        return ResolvedCounter(type(tokenizer).__name__, lambda text: len(tokenizer.encode(text)))
    if callable(tokenizer):
        return ResolvedCounter(getattr(tokenizer, "__name__", type(tokenizer).__name__), tokenizer)
    raise TypeError(f"unsupported tokenizer: {tokenizer!r} (a Hub id, a local directory, 'estimate', "
                    "an object with encode(), or a callable returning a token count)")


class TokenLength(Filter):
    """Keep if ``min_tokens <= tokens(old + <|endoftext|> + new) <= max_tokens`` (B.1-11).

    The tokenizer is resolved on first use (so a pipeline built in one process loads it in the
    process that runs it)."""

    reason = "token_length"
    estimated_reason = "token_length_estimated"

    def __init__(
        self,
        tokenizer: TokenizerChoice = STARCODER_TOKENIZER,
        min_tokens: int = MIN_TOKENS,
        max_tokens: int = MAX_TOKENS,
        bytes_per_token: float = DEFAULT_BYTES_PER_TOKEN,
    ):
        self.tokenizer = tokenizer
        self.min_tokens = min_tokens
        self.max_tokens = max_tokens
        self.bytes_per_token = bytes_per_token
        self._resolved: Optional[ResolvedCounter] = tokenizer if isinstance(tokenizer, ResolvedCounter) else None

    @property
    def resolved(self) -> ResolvedCounter:
        if self._resolved is None:
            self._resolved = resolve_token_counter(self.tokenizer)
        return self._resolved

    @property
    def estimated(self) -> bool:
        """True when counts are byte-length estimates rather than real tokenizer counts."""
        return self.resolved.estimated

    def counter_info(self) -> Dict[str, str]:
        """What was asked for, what counts the tokens, and why (see ``ResolvedCounter.info``)."""
        return self.resolved.info()

    def used_counter_info(self) -> Optional[Dict[str, str]]:
        """``counter_info()`` if the rule has counted anything yet, else ``None`` (nothing is loaded)."""
        return None if self._resolved is None else self._resolved.info()

    def estimate(self, text: str) -> int:
        """Byte-length estimate of the token count of ``text``."""
        return math.ceil(len(text.encode("utf-8")) / self.bytes_per_token)

    def count(self, record: Record) -> int:
        """Token count (or estimate) of the old and new contents joined by ``<|endoftext|>``."""
        old, new = str(record["old_contents"]), str(record["new_contents"])
        counter = self.resolved.counter
        if counter is None:
            return self.estimate(old) + 1 + self.estimate(new)
        return counter(old + END_OF_TEXT + new)

    def __call__(self, record: Record):
        if self.min_tokens <= self.count(record) <= self.max_tokens:
            return True, ""
        return False, self.estimated_reason if self.estimated else self.reason

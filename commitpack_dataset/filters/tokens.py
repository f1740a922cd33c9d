"""B.1 rule 11: token length of ``old_contents + "<|endoftext|>" + new_contents``.

The paper counts tokens with the StarCoder tokenizer (``bigcode/starcoder``) and keeps
50 <= count <= 768. The tokenizer is loaded with ``transformers.AutoTokenizer`` from a Hub name or
a local path. When it cannot be loaded (offline, no local copy) the rule falls back to an
*estimate*: ``ceil(utf-8 bytes / bytes_per_token)`` per content plus one token for the separator.
Drops decided by the estimate carry the reason ``token_length_estimated`` instead of
``token_length`` so they can be told apart in the statistics.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any, Callable, Optional, Union

from commitpack_dataset.filters.base import Filter, Record

logger = logging.getLogger(__name__)

STARCODER_TOKENIZER = "bigcode/starcoder"
END_OF_TEXT = "<|endoftext|>"
DEFAULT_BYTES_PER_TOKEN = 3.5  # rough BPE rate on source code

TokenCounter = Callable[[str], int]


def load_token_counter(tokenizer: Union[str, Any, None]) -> Optional[TokenCounter]:
    """A function text -> token count, or ``None`` when the tokenizer is unavailable.

    ``tokenizer`` is a Hub name / local path, an object with ``encode``, or a callable returning
    a token count.
    """
    if tokenizer is None:
        return None
    if isinstance(tokenizer, (str, os.PathLike)):
        return _load_pretrained_counter(str(tokenizer))
    if hasattr(tokenizer, "encode"):
        return lambda text: len(tokenizer.encode(text))
    if callable(tokenizer):
        return tokenizer
    raise TypeError(f"unsupported tokenizer: {tokenizer!r}")


def _load_pretrained_counter(name_or_path: str) -> Optional[TokenCounter]:
    try:
        from transformers import AutoTokenizer

        loaded = AutoTokenizer.from_pretrained(name_or_path)
    except Exception as error:  # offline, missing files, gated repo: fall back to the estimate
        logger.warning("tokenizer %s unavailable (%s); using a byte-length estimate", name_or_path, error)
        return None
    return lambda text: len(loaded.encode(text))


class TokenLength(Filter):
    """Keep if ``min_tokens <= tokens(old + <|endoftext|> + new) <= max_tokens`` (B.1-11)."""

    reason = "token_length"

    def __init__(
        self,
        tokenizer: Union[str, Any, None] = STARCODER_TOKENIZER,
        min_tokens: int = 50,
        max_tokens: int = 768,
        bytes_per_token: float = DEFAULT_BYTES_PER_TOKEN,
    ):
        self.tokenizer = tokenizer
        self.min_tokens = min_tokens
        self.max_tokens = max_tokens
        self.bytes_per_token = bytes_per_token
        self._counter: Optional[TokenCounter] = None
        self._loaded = False

    @property
    def estimated(self) -> bool:
        """True when counts are byte-length estimates rather than real tokenizer counts."""
        self._ensure_loaded()
        return self._counter is None

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._counter = load_token_counter(self.tokenizer)
            self._loaded = True

    def estimate(self, text: str) -> int:
        """Byte-length estimate of the token count of ``text``."""
        return math.ceil(len(text.encode("utf-8")) / self.bytes_per_token)

    def count(self, record: Record) -> int:
        """Token count (or estimate) of the old and new contents joined by ``<|endoftext|>``."""
        self._ensure_loaded()
        old, new = str(record["old_contents"]), str(record["new_contents"])
        if self._counter is None:
            return self.estimate(old) + 1 + self.estimate(new)
        return self._counter(old + END_OF_TEXT + new)

    def __call__(self, record: Record):
        if self.min_tokens <= self.count(record) <= self.max_tokens:
            return True, ""
        return False, "token_length_estimated" if self.estimated else self.reason

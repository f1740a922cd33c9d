"""What the teacher-driven builders (``OSSInstruct``, ``EvolInstruct``) share.

* :class:`TeacherConfig`: the teacher's connection and rate settings as builder config fields --
  ``base_url`` (OpenAI-compatible; default ``$OPENAI_BASE_URL``), ``api_key_env`` (the *name* of the
  variable holding the key: a key is never a config value), ``concurrency``, ``max_retries``,
  ``backoff``, ``rpm``, ``tpm``, ``request_timeout``, ``prices`` (USD per 1M prompt / completion
  tokens), ``response_cache`` (default: inside the builder's ``cache_dir``). Each builder's config
  adds its own ``model`` and decoding defaults.
* :func:`teacher_client`: the one :class:`~commitpack_dataset.generation.GenerationClient` made from
  those fields (an ``OpenAIBackend`` unless a backend is handed in).
* :class:`TeacherBuilder`: the response cache's path and the files a build writes beside its
  prepared data about the teacher's answers (``generation_stats.json``, ``rejected.jsonl``), and
  reading the rejected rows back.

What differs stays with each builder: the seeds, the prompts, one request per seed or rounds of
evolution, the elimination rules and their drop statistics.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional, Tuple

import datasets

from commitpack_dataset.prepared import PreparedFiles

REJECTED_FILE = "rejected.jsonl"
GENERATION_STATS_FILE = "generation_stats.json"


@dataclasses.dataclass
class TeacherConfig(datasets.BuilderConfig):
    """The teacher's connection and rate settings (see the module docstring)."""

    base_url: Optional[str] = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    max_retries: int = 5
    backoff: float = 1.0
    rpm: Optional[float] = None
    tpm: Optional[float] = None
    request_timeout: float = 300.0
    prices: Optional[Tuple[float, float]] = None
    response_cache: Optional[str] = None

    def validate(self) -> None:
        """Normalise the teacher fields (kwargs overrides skip ``__post_init__``)."""
        if self.prices is not None:
            self.prices = tuple(self.prices)


def teacher_client(config: TeacherConfig, *, backend: Any = None, cache_path: Optional[str] = None,
                   progress: bool = True, desc: str = ""):
    """The generation client of a teacher config: ``backend`` or an ``OpenAIBackend`` from
    ``base_url`` / ``api_key_env``, with the config's concurrency, retries, rate limits and prices."""
    from commitpack_dataset.generation import GenerationClient, OpenAIBackend

    backend = backend or OpenAIBackend(config.base_url, api_key_env=config.api_key_env,
                                       timeout=config.request_timeout)
    return GenerationClient(backend, cache=cache_path, concurrency=config.concurrency,
                            max_retries=config.max_retries, backoff=config.backoff, rpm=config.rpm,
                            tpm=config.tpm, prices=config.prices, progress=progress, desc=desc)


class TeacherBuilder(PreparedFiles):
    """A mixin for builders whose rows a teacher writes; ``RESPONSE_CACHE`` is the cache's path
    relative to the builder's ``cache_dir``."""

    RESPONSE_CACHE: str = ""

    def response_cache_path(self) -> str:
        """Where the teacher's answers are cached (a killed build re-run sends only the rest)."""
        return self.config.response_cache or os.path.join(self._cache_dir_root, self.RESPONSE_CACHE)

    def save_generation(self, stats: dict, rejected: list) -> None:
        """``generation_stats.json`` and ``rejected.jsonl`` beside the prepared data, atomically."""
        from octopack_common import atomic_open, write_json_atomic

        write_json_atomic(os.path.join(self._output_dir, GENERATION_STATS_FILE), stats)
        with atomic_open(os.path.join(self._output_dir, REJECTED_FILE)) as handle:
            for row in rejected:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def rejected(self) -> list:
        """The rejected rows (with their texts and reason) of the prepared data."""
        return self.prepared_jsonl(REJECTED_FILE)

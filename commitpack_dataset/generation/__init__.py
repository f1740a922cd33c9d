"""The one generation client of octopack: teachers (OSS-Instruct, Evol-Instruct) and the
HumanEvalPack runner send every model call through it.

* ``requests`` -- a request, its fingerprint and its result, and the ``Backend`` protocol;
* ``client`` -- :class:`GenerationClient`: bounded concurrency, retries with backoff, rate
  limits, the on-disk response cache (``cache``), token and cost accounting (``accounting``);
* backends -- :class:`OpenAIBackend` (any OpenAI-compatible endpoint, ``openai_backend``), the
  local ``transformers`` and vLLM backends (``transformers_backend``, ``vllm_backend``).

Quickstart::

    from commitpack_dataset.generation import GenerationClient, GenerationRequest, OpenAIBackend

    backend = OpenAIBackend("http://127.0.0.1:8000/v1")  # key: $OPENAI_API_KEY or api_key=
    requests = [GenerationRequest(model="m", messages=[{"role": "user", "content": q}], seed=i)
                for i, q in enumerate(questions)]
    with GenerationClient(backend, cache="build/responses.sqlite", concurrency=16) as client:
        results = client.generate(requests)  # re-running sends only what is not cached
"""

from commitpack_dataset.generation.accounting import GenerationStats, Prices
from commitpack_dataset.generation.cache import ResponseCache, default_cache_path
from commitpack_dataset.generation.client import DEFAULT_CACHE, GenerationClient
from commitpack_dataset.generation.limits import Backoff, RateLimiter, estimate_tokens
from commitpack_dataset.generation.openai_backend import OpenAIBackend
from commitpack_dataset.generation.requests import (
    Backend,
    Choice,
    GenerationRequest,
    GenerationResult,
    PermanentError,
    TransientError,
    Usage,
    first_text,
)

__all__ = ["Backend", "Backoff", "Choice", "DEFAULT_CACHE", "GenerationClient", "GenerationRequest",
           "GenerationResult", "GenerationStats", "OpenAIBackend", "PermanentError", "Prices",
           "RateLimiter", "ResponseCache", "TransientError", "Usage", "default_cache_path",
           "estimate_tokens", "first_text"]

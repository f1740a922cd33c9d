"""The one generation client of octopack: teachers (OSS-Instruct, Evol-Instruct) and the
HumanEvalPack runner send every model call through it.

``requests`` defines a request, its fingerprint and its result, and the ``Backend`` protocol;
the client (bounded concurrency, retries, rate limits, the on-disk response cache, accounting)
and the backends (OpenAI-compatible endpoints, local ``transformers``, vLLM) build on it.
"""

from commitpack_dataset.generation.requests import (
    Backend,
    Choice,
    GenerationRequest,
    GenerationResult,
    PermanentError,
    TransientError,
    Usage,
)

__all__ = ["Backend", "Choice", "GenerationRequest", "GenerationResult", "PermanentError",
           "TransientError", "Usage"]

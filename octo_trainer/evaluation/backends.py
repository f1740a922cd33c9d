"""The model an evaluation talks to, behind the generation client's one :class:`Backend`
interface: a local ``transformers`` model, any OpenAI-compatible endpoint, or vLLM in-process.

:func:`open_model` returns a :class:`ModelHandle`: the backend, the tokenizer when one is known
(it counts prompt tokens for ``max_length`` and renders the ``chat`` format), the EOS texts the
harness adds as stop words, the model name requests carry, and the revision records carry. For
a local checkpoint the revision is a content digest of the directory, so a retrained model at
the same path never reuses old answers from a shared cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commitpack_dataset.generation.transformers_backend import (
    eos_texts,
    load_tokenizer,
    local_revision,
)

from .config import TINY_MODEL, EvalArguments
from .stopping import stop_check


@dataclass
class ModelHandle:
    backend: Any
    tokenizer: Any | None
    request_model: str  #: ``GenerationRequest.model``: the name and revision of the weights
    revision: str | None
    eos: list[str] = field(default_factory=list)
    local: bool = False  #: stop rules run while generating (transformers backend)
    encoder_decoder: bool = False

    def count_tokens(self, text: str) -> int | None:
        if self.tokenizer is None:
            return None
        bos = getattr(self.tokenizer, "bos_token", None)
        special = not (bos and text.startswith(bos))
        return len(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def describe(self) -> dict:
        return dict(self.backend.describe())


def resolve_model_path(name: str | None) -> str:
    if not name:
        raise ValueError("say which model to evaluate: --model_name_or_path (a checkpoint "
                         f"directory, a Hub id, the model an endpoint serves, or {TINY_MODEL})")
    if name == TINY_MODEL:
        from octo_trainer.tiny import build_tiny_model

        return str(build_tiny_model())
    return name


def open_model(args: EvalArguments) -> ModelHandle:
    """The backend ``args`` ask for (see the module docstring)."""
    path = resolve_model_path(args.model_name_or_path)
    if args.backend == "transformers":
        from commitpack_dataset.generation.transformers_backend import TransformersBackend

        backend = TransformersBackend(
            path, args.tokenizer, revision=args.revision, adapter=args.adapter,
            load_in_4bit=args.load_in_4bit, dtype=args.dtype, device=args.device,
            batch_size=args.batch_size, trust_remote_code=args.trust_remote_code,
            stop_check=stop_check)
        return ModelHandle(backend, backend.tokenizer, f"{path}@{backend.revision}",
                           backend.revision, eos_texts(backend.model, backend.tokenizer),
                           local=True, encoder_decoder=backend.encoder_decoder)
    if args.backend == "vllm":
        from commitpack_dataset.generation.vllm_backend import VLLMBackend

        backend = VLLMBackend(path, tokenizer=args.tokenizer, revision=args.revision,
                              adapter=args.adapter, trust_remote_code=args.trust_remote_code)
        tokenizer = backend.llm.get_tokenizer()
        revision = args.revision or (local_revision(path) if Path(path).is_dir() else None)
        return ModelHandle(backend, tokenizer, f"{path}@{revision}", revision,
                           [tokenizer.eos_token] if tokenizer.eos_token else [])
    if args.backend == "openai":
        from commitpack_dataset.generation.openai_backend import OpenAIBackend

        if not args.base_url and not os.environ.get("OPENAI_BASE_URL"):
            raise ValueError("the openai backend needs the endpoint: --base_url "
                             "http://host:port/v1 (or OPENAI_BASE_URL)")
        backend = OpenAIBackend(args.base_url, api_key_env=args.api_key_env,
                                timeout=args.request_timeout)
        tokenizer = _endpoint_tokenizer(args, path)
        revision = args.revision or (local_revision(path) if Path(path).is_dir() else None)
        eos = [tokenizer.eos_token] if tokenizer is not None and tokenizer.eos_token else []
        return ModelHandle(backend, tokenizer, path, revision, eos)
    raise ValueError(f"unknown backend {args.backend!r}: use transformers, openai or vllm")


def _endpoint_tokenizer(args: EvalArguments, path: str):
    """The tokenizer named by --tokenizer (an error if it cannot load), else the served model's
    own when it is a local directory, else none."""
    if args.tokenizer:
        return load_tokenizer(args.tokenizer, trust_remote_code=args.trust_remote_code)
    if Path(path).is_dir():
        try:
            return load_tokenizer(path, trust_remote_code=args.trust_remote_code)
        except FileNotFoundError:
            return None
    return None

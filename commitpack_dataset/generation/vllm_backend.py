"""vLLM in-process as a batched generation :class:`Backend` (GPU machines with vLLM installed).

``VLLMBackend("path/or/hub-id")`` loads ``vllm.LLM`` once and answers a chunk of requests with
one ``LLM.generate`` call: vLLM schedules the whole chunk itself (continuous batching, the
``n`` samples of a prompt share its prefix), honours temperature, top_p, ``max_tokens``, stop
strings and per-request seeds, and cuts the text before a stop string as an OpenAI server does.
A LoRA adapter directory is served through vLLM's ``LoRARequest``.

vLLM has no hook for a custom stopping predicate, so the HumanEvalPack end-of-function rule is
applied afterwards by post-processing only (the answers are the same; generation just runs to
the stop strings, EOS or ``max_tokens``). vLLM is not a dependency of octopack: importing this
module is fine without it, constructing a backend raises :class:`ImportError` with the fix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from commitpack_dataset.generation.requests import (
    Choice,
    GenerationRequest,
    GenerationResult,
    PermanentError,
    Usage,
)

VLLM_MISSING = ("vLLM is not installed, so the 'vllm' backend cannot run: install it on a GPU "
                "machine (pip install vllm), or serve the model with `vllm serve <model>` and use "
                "the endpoint backend (--backend openai --base-url http://host:8000/v1), or use "
                "--backend transformers")
SUPPORTED_EXTRAS = ("top_k", "repetition_penalty", "min_new_tokens")


def import_vllm():
    """The ``vllm`` module, or an ImportError that says what to do instead."""
    try:
        import vllm
    except ImportError:
        raise ImportError(VLLM_MISSING) from None
    return vllm


class VLLMBackend:
    """See the module docstring. ``engine_options`` go to ``vllm.LLM`` (``tensor_parallel_size``,
    ``gpu_memory_utilization``, ``max_model_len``, ``dtype``, ...)."""

    batched = True

    def __init__(self, model: str, *, tokenizer: str | None = None, revision: str | None = None,
                 adapter: str | None = None, chunk_size: int = 256,
                 trust_remote_code: bool = False, **engine_options: Any):
        self._vllm = import_vllm()
        self.name, self.revision, self.adapter, self.chunk_size = model, revision, adapter, chunk_size
        options = dict(engine_options)
        if adapter is not None:
            options.setdefault("enable_lora", True)
        self.llm = self._vllm.LLM(model=model, tokenizer=tokenizer, revision=revision,
                                  trust_remote_code=trust_remote_code, **options)
        self._lora = None
        if adapter is not None:
            from vllm.lora.request import LoRARequest

            self._lora = LoRARequest(Path(adapter).name, 1, os.fspath(adapter))

    def __repr__(self) -> str:
        return f"VLLMBackend({self.name!r})"

    def describe(self) -> dict[str, Any]:
        return {"backend": "vllm", "model": self.name, "revision": self.revision,
                "adapter": self.adapter, "vllm": getattr(self._vllm, "__version__", None)}

    def count_tokens(self, text: str) -> int:
        return len(self.llm.get_tokenizer()(text)["input_ids"])

    def sampling_params(self, request: GenerationRequest):
        unknown = set(request.extra) - set(SUPPORTED_EXTRAS)
        if unknown:
            raise PermanentError(f"unknown extra parameter(s) {', '.join(sorted(unknown))} for "
                                 f"the vllm backend: use {', '.join(SUPPORTED_EXTRAS)}")
        extra = dict(request.extra)
        if "min_new_tokens" in extra:
            extra["min_tokens"] = extra.pop("min_new_tokens")
        return self._vllm.SamplingParams(
            n=request.n, temperature=request.temperature, top_p=request.top_p,
            max_tokens=request.max_tokens, stop=list(request.stop), seed=request.seed, **extra)

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        prompts, params = [], []
        for request in requests:
            if request.mode == "chat":
                tokenizer = self.llm.get_tokenizer()
                prompts.append(tokenizer.apply_chat_template(
                    [dict(m) for m in request.messages], tokenize=False,
                    add_generation_prompt=True))
            else:
                prompts.append(request.prompt)
            params.append(self.sampling_params(request))
        outputs = self.llm.generate(prompts, params, lora_request=self._lora, use_tqdm=False)
        results = []
        for request, output in zip(requests, outputs):
            choices = tuple(Choice(c.text, c.finish_reason) for c in output.outputs)
            used = sum(len(c.token_ids) for c in output.outputs)
            results.append(GenerationResult(
                fingerprint=request.fingerprint(), choices=choices,
                usage=Usage(len(output.prompt_token_ids or ()), used), model=self.name))
        return results

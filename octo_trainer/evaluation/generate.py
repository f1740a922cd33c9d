"""Generation: prompt items -> :class:`GenerationRequest` s -> the one generation client -> one
record per candidate.

Every request carries the run's sampling parameters and seed, the item's stop words (at most
``max_stop_sequences`` of them when an endpoint limits them: the rest are applied afterwards
anyway) and ``max_tokens`` = ``max_length`` minus the prompt's tokens (or ``max_new_tokens``).
Its metadata names the task, language and problem, and, for local backends, the stopping rule
(:mod:`.stopping`). Requests go to the client longest prompt first, in one call per stage; the
client answers finished requests from its response cache, so a killed run's re-run sends only
what was not answered yet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from commitpack_dataset.generation import GenerationRequest, GenerationResult

import octopack_common

from .backends import ModelHandle
from .config import EvalArguments
from .prompts import PromptItem

logger = logging.getLogger("octo_trainer.evaluation")
#: Generated tokens when no tokenizer can count the prompt against ``max_length``.
DEFAULT_NEW_TOKENS = 1024


def max_new_tokens(item: PromptItem, handle: ModelHandle, args: EvalArguments) -> int:
    counted = handle.count_tokens(item.prompt)
    if counted is None:
        return args.max_new_tokens or min(DEFAULT_NEW_TOKENS, args.max_length)
    budget = args.max_length - counted
    if budget < 1:
        logger.warning("%s %s: the prompt has %d tokens, max_length is %d: 1 token generated",
                       item.task, item.task_id, counted, args.max_length)
    budget = max(1, budget)
    return min(budget, args.max_new_tokens) if args.max_new_tokens else budget


def build_request(item: PromptItem, handle: ModelHandle, args: EvalArguments) -> GenerationRequest:
    extra = {}
    if args.top_k:
        extra["top_k"] = args.top_k
    if handle.encoder_decoder and item.encoder_prompt is not None:
        extra["encoder_prompt"] = item.encoder_prompt
    stop = item.stop
    if args.max_stop_sequences is not None and not handle.local:
        stop = stop[: args.max_stop_sequences]
    metadata = {"task": item.task, "language": item.language, "task_id": item.task_id,
                "row": item.row, "description_id": item.description_id}
    if handle.local:
        metadata["stop_rule"] = item.stop_rule
    return GenerationRequest(
        model=handle.request_model, prompt=item.prompt, n=item.n,
        temperature=args.temperature, top_p=args.top_p,
        max_tokens=max_new_tokens(item, handle, args), stop=tuple(stop), seed=args.seed,
        extra=extra, metadata=metadata)


def generate(client, items: Sequence[PromptItem], handle: ModelHandle, args: EvalArguments
             ) -> tuple[list[GenerationRequest], list[GenerationResult]]:
    """(requests, results) aligned with ``items``."""
    requests = [build_request(item, handle, args) for item in items]
    order = sorted(range(len(requests)), key=lambda i: -len(requests[i].prompt))
    answered = client.generate([requests[i] for i in order]) if order else []
    results: list[GenerationResult | None] = [None] * len(requests)
    for index, result in zip(order, answered):
        results[index] = result
    return requests, results  # type: ignore[return-value]


def candidate_texts(item: PromptItem, result: GenerationResult) -> list[str | None]:
    """The item's ``n`` completions; ``None`` for each when the request failed."""
    if result.error is not None or len(result.choices) != item.n:
        return [None] * item.n
    return [choice.text for choice in result.choices]


def records(items: Sequence[PromptItem], requests: Sequence[GenerationRequest],
            results: Sequence[GenerationResult], handle: ModelHandle, args: EvalArguments
            ) -> list[dict]:
    """One generation record per candidate (see the run directory layout in :mod:`.runner`)."""
    backend = handle.describe()
    rows = []
    for item, request, result in zip(items, requests, results):
        texts = candidate_texts(item, result)
        for completion_id, text in enumerate(texts):
            choice = result.choices[completion_id] if text is not None else None
            rows.append({
                "task": item.task, "language": item.language, "task_id": item.task_id,
                "description_id": item.description_id, "completion_id": completion_id,
                "prompt_fingerprint": request.fingerprint(), "backend": backend.get("backend"),
                "model": args.label, "model_name_or_path": args.model_name_or_path,
                "model_revision": handle.revision, "prompt_format": args.prompt_format,
                "sampling": {"n": request.n, "temperature": request.temperature,
                             "top_p": request.top_p, "top_k": args.top_k,
                             "max_tokens": request.max_tokens, "seed": request.seed,
                             "stop": list(request.stop)},
                "completion": text, "finish_reason": choice.finish_reason if choice else None,
                "error": result.error, "cached": result.cached,
                "system_fingerprint": result.system_fingerprint})
    return rows


def write_jsonl(path: Path, rows: Sequence[dict]) -> None:
    import json

    with octopack_common.atomic_open(path, "w") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    import json

    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]

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
from dataclasses import dataclass
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


def build_requests(item: PromptItem, handle: ModelHandle, args: EvalArguments
                   ) -> list[GenerationRequest]:
    """The item's requests: one with all its ``n`` samples, or, with ``samples_per_request``
    (endpoints that ignore ``n``), several with consecutive seeds (different requests, so the
    client does not take them for one)."""
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
    base = GenerationRequest(
        model=handle.request_model, prompt=item.prompt, n=item.n,
        temperature=args.temperature, top_p=args.top_p,
        max_tokens=max_new_tokens(item, handle, args), stop=tuple(stop), seed=args.seed,
        extra=extra, metadata=metadata)
    size = args.samples_per_request
    if not size or size >= item.n:
        return [base]
    requests = []
    for start in range(0, item.n, size):
        seed = None if args.seed is None else args.seed + start
        requests.append(base.replace(n=min(size, item.n - start), seed=seed))
    return requests


@dataclass
class Answer:
    """One item's requests and their results, in sample order."""

    item: PromptItem
    requests: list[GenerationRequest]
    results: list[GenerationResult]

    def texts(self) -> list[str | None]:
        """The item's ``n`` completions; ``None`` for the samples of a failed request."""
        texts: list[str | None] = []
        for request, result in zip(self.requests, self.results):
            if result.error is not None or len(result.choices) != request.n:
                texts += [None] * request.n
            else:
                texts += [choice.text for choice in result.choices]
        return texts


def generate(client, items: Sequence[PromptItem], handle: ModelHandle, args: EvalArguments
             ) -> list[Answer]:
    """One :class:`Answer` per item; the requests go to the client longest prompt first."""
    answers = [Answer(item, build_requests(item, handle, args), []) for item in items]
    flat = [(a, request) for a in answers for request in a.requests]
    order = sorted(range(len(flat)), key=lambda i: -len(flat[i][1].prompt))
    answered = client.generate([flat[i][1] for i in order]) if order else []
    results: list[GenerationResult | None] = [None] * len(flat)
    for index, result in zip(order, answered):
        results[index] = result
    for (answer, _), result in zip(flat, results):
        answer.results.append(result)
    return answers


def records(answers: Sequence[Answer], handle: ModelHandle, args: EvalArguments) -> list[dict]:
    """One generation record per candidate (see the run directory layout in :mod:`.runner`)."""
    backend = handle.describe()
    rows = []
    for answer in answers:
        item, completion_id = answer.item, 0
        for request, result in zip(answer.requests, answer.results):
            ok = result.error is None and len(result.choices) == request.n
            for j in range(request.n):
                choice = result.choices[j] if ok else None
                rows.append({
                    "task": item.task, "language": item.language, "task_id": item.task_id,
                    "description_id": item.description_id, "completion_id": completion_id,
                    "prompt_fingerprint": request.fingerprint(),
                    "backend": backend.get("backend"), "model": args.label,
                    "model_name_or_path": args.model_name_or_path,
                    "model_revision": handle.revision, "prompt_format": args.prompt_format,
                    "sampling": {"n": request.n, "temperature": request.temperature,
                                 "top_p": request.top_p, "top_k": args.top_k,
                                 "max_tokens": request.max_tokens, "seed": request.seed,
                                 "stop": list(request.stop)},
                    "completion": choice.text if choice else None,
                    "finish_reason": choice.finish_reason if choice else None,
                    "error": result.error if not ok else None, "cached": result.cached,
                    "system_fingerprint": result.system_fingerprint})
                if not ok and rows[-1]["error"] is None:
                    rows[-1]["error"] = f"{len(result.choices)} choices for n={request.n}"
                completion_id += 1
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

"""Per-sequence sampling and stopping for :class:`~.transformers_backend.TransformersBackend`.

* :class:`RowSampler` (a ``LogitsProcessor``) samples each row of a batch from its own random
  stream. ``transformers`` samples a whole batch from one generator, so an answer would depend on
  which other prompts shared its batch; here row ``r`` draws its ``t``-th token by inverting the
  CDF of its distribution (temperature, top_k and top_p with the ``transformers`` warpers'
  rules) at the ``t``-th uniform of a stream seeded for that row. It returns ``-inf``
  everywhere except the drawn token, so ``generate``'s own multinomial step keeps that token.
* :class:`StopWatcher` (a ``StoppingCriteria``) stops rows one by one: when a stop string shows
  up in the row's text, when the row's own predicate says the text is finished, or when the row
  reached its own ``max_tokens``. The text is detokenized incrementally (a window of a few tokens
  per step, all rows in one ``batch_decode``), so checking costs no ``O(length)`` decode per step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from transformers import LogitsProcessor, StoppingCriteria
from transformers.generation.logits_process import TopKLogitsWarper

#: Prompt tokens kept in front of a row's generated tokens, so the first generated token
#: detokenizes in context (a SentencePiece model's leading space, a split UTF-8 character).
CONTEXT_TOKENS = 4


class RowSampler(LogitsProcessor):
    """Sample row ``r`` at step ``t`` from ``uniforms[r, t]`` (see the module docstring).

    ``seeds[r] = None`` draws that row's seed from torch's global generator."""

    def __init__(self, seeds: Sequence[int | None], max_new_tokens: int, prompt_width: int,
                 temperature: float, top_p: float = 1.0, top_k: int | None = None):
        self.width = prompt_width
        self.uniforms = torch.empty(len(seeds), max_new_tokens, dtype=torch.float64)
        for row, seed in enumerate(seeds):
            if seed is None:
                seed = int(torch.randint(0, 2**62, (1,)).item())
            generator = torch.Generator().manual_seed(seed)
            self.uniforms[row] = torch.rand(max_new_tokens, generator=generator,
                                            dtype=torch.float64)
        self.temperature, self.top_p = temperature, top_p
        self.top_k = TopKLogitsWarper(top_k=int(top_k)) if top_k else None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = input_ids.shape[1] - self.width
        if self.temperature != 1.0:
            scores = scores / self.temperature
        if self.top_k is not None:
            scores = self.top_k(input_ids, scores)
        # one descending sort serves top_p and the draw: keep the most likely tokens while the
        # probability before them is below top_p (TopPLogitsWarper's rule, at least one token)
        ranked, order = torch.sort(scores, dim=-1, descending=True)
        probs = torch.softmax(ranked.double(), dim=-1)
        cdf = probs.cumsum(dim=-1)
        kept = ((cdf - probs) < self.top_p).sum(dim=-1, keepdim=True).clamp_(min=1)
        total = cdf.gather(1, kept - 1)
        # 1 - u lies in (0, 1]: the first rank whose CDF reaches it has a non-zero probability
        target = (1.0 - self.uniforms[: scores.shape[0], step]).unsqueeze(-1) * total
        rank = torch.minimum(torch.searchsorted(cdf, target), kept - 1)
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(1, order.gather(1, rank), 0.0)


class StopWatcher(StoppingCriteria):
    """Stop each row on its own (see the module docstring). ``contexts[r]`` are the row's prompt
    ids (the last :data:`CONTEXT_TOKENS` seed its detokenizer), ``limits[r]`` its max new tokens.
    :meth:`stopped_at` tells, after generation, how many tokens a row had when it stopped and why
    (``"stop"`` or ``"length"``), or ``None`` if this watcher did not stop it."""

    def __init__(self, tokenizer, stops: Sequence[Sequence[str]],
                 checks: Sequence[Callable[[str], bool] | None], contexts: Sequence[Sequence[int]],
                 prompt_width: int, limits: Sequence[int]):
        self.tokenizer = tokenizer
        self.stops = [tuple(s for s in row if s) for row in stops]
        self.longest = [max((len(s) for s in row), default=0) for row in self.stops]
        self.checks = list(checks)
        self.width = prompt_width
        self.limits = list(limits)
        rows = len(self.stops)
        self.tokens = [list(context[-CONTEXT_TOKENS:]) for context in contexts]
        self.prefix = [0] * rows  # detokenizer offsets into self.tokens
        self.read = [len(t) for t in self.tokens]
        self.texts = [""] * rows
        self.checked = [0] * rows  # text length before the latest step
        self.watched = [bool(self.stops[r] or self.checks[r]) for r in range(rows)]
        self._stopped: list[tuple[int, str] | None] = [None] * rows

    def stopped_at(self, row: int) -> tuple[int, str] | None:
        return self._stopped[row]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor,
                 **kwargs) -> torch.BoolTensor:
        generated = input_ids.shape[1] - self.width
        last = input_ids[:, -1].tolist()
        active = [r for r in range(len(last)) if self._stopped[r] is None]
        watched = []
        for row in active:
            self.tokens[row].append(last[row])
            if generated >= self.limits[row]:
                self._stopped[row] = (generated, "length")
            elif self.watched[row]:
                watched.append(row)
        if watched:
            self._detokenize(watched)
            for row in watched:
                if self._finished(row):
                    self._stopped[row] = (generated, "stop")
        return torch.tensor([s is not None for s in self._stopped], dtype=torch.bool,
                            device=input_ids.device)

    def _detokenize(self, rows: list[int]) -> None:
        windows = []
        for row in rows:
            tokens = self.tokens[row]
            windows.append(tokens[self.prefix[row] : self.read[row]])
            windows.append(tokens[self.prefix[row] :])
        decoded = self.tokenizer.batch_decode(windows, skip_special_tokens=False,
                                              clean_up_tokenization_spaces=False)
        for i, row in enumerate(rows):
            self.checked[row] = len(self.texts[row])
            before, after = decoded[2 * i], decoded[2 * i + 1]
            if len(after) > len(before) and not after.endswith("\ufffd"):
                self.texts[row] += after[len(before):]
                self.prefix[row], self.read[row] = self.read[row], len(self.tokens[row])

    def _finished(self, row: int) -> bool:
        text = self.texts[row]
        if self.stops[row]:
            # only a stop string completed by the latest step can be new
            tail = text[max(0, self.checked[row] - self.longest[row] + 1):]
            if any(stop in tail for stop in self.stops[row]):
                return True
        check = self.checks[row]
        return bool(check is not None and check(text))

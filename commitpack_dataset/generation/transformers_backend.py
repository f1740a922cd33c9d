"""A local ``transformers`` model as a batched generation :class:`Backend`.

``TransformersBackend("path/or/hub-id")`` loads a causal LM (or a seq2seq model, or a PEFT
adapter directory on top of its base model; ``load_in_4bit=True`` quantizes with bitsandbytes,
which also works on CPU) and answers :class:`GenerationRequest` s in batches:

* requests are cut into *units* -- one prompt and up to ``batch_size`` of its ``n`` samples --
  sorted by prompt length (longest first), and units with the same sample count are packed into
  one ``generate`` call of at most ``batch_size`` sequences; the samples of one prompt come from
  ``num_return_sequences`` (the prompt is tokenized once, never repeated ``n`` times). Greedy
  requests (``temperature == 0``) are generated once and the answer repeated ``n`` times;
* sampling uses the request's temperature, top_p (and ``extra["top_k"]``), but draws each
  sequence's tokens from its own random stream, seeded from the request's fingerprint (which
  includes ``seed``) and the sample's index: an answer does not depend on which other requests
  shared its batch, so a resumed run regenerates exactly what an uninterrupted one would have
  (``seed=None``: the streams are seeded from torch's global generator instead);
* a sequence stops at the model's EOS tokens, at the first of the request's ``stop`` strings (the
  text is cut before it, as an OpenAI server does: ``finish_reason="stop"``), after ``max_tokens``
  new tokens (``"length"``), or when ``stop_check(request)`` -- a backend option, see below --
  returns a predicate that says the text so far is finished. Stop strings and predicates are
  checked while generating, on an incrementally detokenized text, per sequence;
* the text of a choice is ``decode(prompt + generated)[len(decode(prompt)):]`` with special tokens
  kept, so a SentencePiece model's leading space survives and a special end-of-turn token that
  is a stop string is cut rather than silently dropped.

``stop_check`` is how a caller adds a stopping rule that stop strings cannot express -- the
HumanEvalPack runner passes the harness's end-of-function check per language (it reads the
request's ``metadata``). Teachers (OSS-Instruct) need plain stop strings only.

``extra`` keys understood: ``top_k``, ``repetition_penalty``, ``no_repeat_ngram_size``,
``min_new_tokens`` (passed to ``generate``) and ``encoder_prompt`` (seq2seq models: the encoder's
input, the prompt then prefills the decoder, as the harness does for InstructCodeT5+). Chat
requests are rendered with the tokenizer's chat template.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commitpack_dataset.generation.requests import (
    Choice,
    GenerationRequest,
    GenerationResult,
    PermanentError,
    Usage,
)

GENERATE_EXTRAS = ("top_k", "repetition_penalty", "no_repeat_ngram_size", "min_new_tokens")
KNOWN_EXTRAS = (*GENERATE_EXTRAS, "encoder_prompt")
StopCheck = Callable[[GenerationRequest], "Callable[[str], bool] | None"]


def local_revision(path: str | os.PathLike[str]) -> str:
    """A short content digest of a local model directory: its config and tokenizer files whole,
    weight files by size and their first and last MiB (cheap even for a 30 GB checkpoint). A
    retrained checkpoint at the same path gets a new revision."""
    digest = hashlib.sha256()
    for file in sorted(Path(path).rglob("*")):
        if not file.is_file():
            continue
        digest.update(str(file.relative_to(path)).encode())
        size = file.stat().st_size
        digest.update(str(size).encode())
        with file.open("rb") as handle:
            if size <= 4 << 20:
                digest.update(handle.read())
            else:
                digest.update(handle.read(1 << 20))
                handle.seek(size - (1 << 20))
                digest.update(handle.read())
    return "local-" + digest.hexdigest()[:16]


def _import_transformers():
    import torch
    import transformers

    return torch, transformers


@dataclass
class _Unit:
    """One prompt's share of a generate call: ``count`` samples starting at ``offset``."""

    index: int  # request index in the batch handed to generate_batch
    request: GenerationRequest
    ids: list[int]
    offset: int
    count: int
    greedy: bool
    check: Callable[[str], bool] | None = None
    texts: list[str] = field(default_factory=list)
    finish: list[str] = field(default_factory=list)
    tokens: int = 0


class TransformersBackend:
    """See the module docstring. ``model``: a path, a Hub id or an already loaded model (then
    ``tokenizer`` is required). ``adapter``: a PEFT adapter directory applied on top (merged
    into the weights unless the model is quantized). ``batch_size``: sequences per ``generate``
    call. ``chunk_size``: requests the client hands over at once (each chunk is stored before
    the next starts)."""

    batched = True

    def __init__(self, model: Any, tokenizer: Any = None, *, revision: str | None = None,
                 adapter: str | None = None, load_in_4bit: bool = False, dtype: str = "auto",
                 device: str | None = None, batch_size: int = 8, chunk_size: int = 16,
                 trust_remote_code: bool = False, stop_check: StopCheck | None = None,
                 model_name: str | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size, self.chunk_size, self.stop_check = batch_size, chunk_size, stop_check
        self.load_in_4bit, self.adapter = load_in_4bit, adapter
        if isinstance(model, (str, os.PathLike)):
            self.model, self.tokenizer, self.revision, self.name, self.adapter = load_model(
                str(model), tokenizer, revision=revision, adapter=adapter,
                load_in_4bit=load_in_4bit, dtype=dtype, device=device,
                trust_remote_code=trust_remote_code)
        else:
            if tokenizer is None:
                raise ValueError("pass the tokenizer with an already loaded model")
            self.model, self.tokenizer, self.revision = model, tokenizer, revision
            self.name = getattr(model, "name_or_path", None) or type(model).__name__
        self.name = model_name or self.name
        prepare_tokenizer(self.tokenizer, self.model)
        self.encoder_decoder = bool(getattr(self.model.config, "is_encoder_decoder", False))
        self.eos_ids = eos_token_ids(self.model, self.tokenizer)

    def __repr__(self) -> str:
        return f"TransformersBackend({self.name!r}, batch_size={self.batch_size})"

    def describe(self) -> dict[str, Any]:
        return {"backend": "transformers", "model": self.name, "revision": self.revision,
                "adapter": self.adapter, "load_in_4bit": self.load_in_4bit,
                "dtype": str(getattr(self.model, "dtype", "")).replace("torch.", "")}

    def count_tokens(self, text: str) -> int:
        return len(self._encode(text))

    # -- generation --------------------------------------------------------------------------
    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        units = self._units(requests)
        groups: dict[tuple[int, bool], list[_Unit]] = {}
        for unit in sorted(units, key=lambda u: -len(u.ids)):
            groups.setdefault((unit.count, unit.greedy), []).append(unit)
        for (count, _), members in groups.items():
            per_call = 1 if self.encoder_decoder else max(1, self.batch_size // count)
            for start in range(0, len(members), per_call):
                self._generate(members[start : start + per_call])
        return [self._result(request, [u for u in units if u.index == i])
                for i, request in enumerate(requests)]

    def _units(self, requests: Sequence[GenerationRequest]) -> list[_Unit]:
        units = []
        for index, request in enumerate(requests):
            unknown = set(request.extra) - set(KNOWN_EXTRAS)
            if unknown:
                raise PermanentError(f"unknown extra parameter(s) {', '.join(sorted(unknown))} for "
                                     f"the transformers backend: use {', '.join(KNOWN_EXTRAS)}")
            ids = self._encode(self._prompt_text(request))
            check = self.stop_check(request) if self.stop_check else None
            greedy = request.temperature <= 0
            step = 1 if greedy else min(request.n, self.batch_size)
            for offset in range(0, 1 if greedy else request.n, step):
                count = min(step, request.n - offset)
                units.append(_Unit(index, request, ids, offset, count, greedy, check))
        return units

    def _prompt_text(self, request: GenerationRequest) -> str:
        if request.mode == "completion":
            return request.prompt
        if not getattr(self.tokenizer, "chat_template", None):
            raise PermanentError(f"chat request for {self.name!r}, whose tokenizer has no chat "
                                 "template: send a completion prompt instead")
        return self.tokenizer.apply_chat_template([dict(m) for m in request.messages],
                                                  tokenize=False, add_generation_prompt=True)

    def _encode(self, text: str) -> list[int]:
        bos = getattr(self.tokenizer, "bos_token", None)
        # a prompt rendered from a chat template already starts with the BOS text
        special = not (bos and text.startswith(bos))
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def _generate(self, units: list[_Unit]) -> None:
        torch, _ = _import_transformers()
        from commitpack_dataset.generation.transformers_decoding import RowSampler, StopWatcher

        first = units[0]
        request, count = first.request, first.count
        inputs, prompt_width = self._inputs(units)
        max_new = max(u.request.max_tokens for u in units)
        kwargs: dict[str, Any] = {key: request.extra[key] for key in GENERATE_EXTRAS
                                  if key in request.extra and key != "top_k"}
        processors = []
        if not first.greedy:
            seeds = [row_seed(u.request, u.offset + j) for u in units for j in range(u.count)]
            processors.append(RowSampler(seeds, max_new, prompt_width, request.temperature,
                                         request.top_p, request.extra.get("top_k")))
            kwargs.update(do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                          num_return_sequences=count)
        else:
            kwargs.update(do_sample=False)
        rows = [u for u in units for _ in range(count)]
        context = [[] if self.encoder_decoder else u.ids for u in rows]
        watcher = StopWatcher(self.tokenizer, [u.request.stop for u in rows],
                              [u.check for u in rows], context, prompt_width,
                              [u.request.max_tokens for u in rows])
        with torch.no_grad():
            output = self.model.generate(
                **inputs, max_new_tokens=max_new, logits_processor=processors,
                stopping_criteria=[watcher], pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.eos_ids, **kwargs)
        generated = output[:, prompt_width:].tolist()
        for row, (unit, tokens) in enumerate(zip(rows, generated)):
            text, reason, used = self._finish_row(unit, tokens, watcher.stopped_at(row))
            unit.texts.append(text)
            unit.finish.append(reason)
            unit.tokens += used

    def _inputs(self, units: list[_Unit]) -> tuple[dict[str, Any], int]:
        torch, _ = _import_transformers()
        if self.encoder_decoder:
            unit = units[0]
            encoder_text = unit.request.extra.get("encoder_prompt")
            if encoder_text is None:
                return {"input_ids": torch.tensor([unit.ids])}, 1
            start = self.model.generation_config.decoder_start_token_id
            if start is None:
                start = self.model.config.decoder_start_token_id
            decoder = [start, *self.tokenizer(unit.request.prompt,
                                              add_special_tokens=False)["input_ids"]]
            return {"input_ids": torch.tensor([self._encode(encoder_text)]),
                    "decoder_input_ids": torch.tensor([decoder])}, len(decoder)
        width = max(len(u.ids) for u in units)
        pad = self.tokenizer.pad_token_id
        ids = [[pad] * (width - len(u.ids)) + u.ids for u in units]
        mask = [[0] * (width - len(u.ids)) + [1] * len(u.ids) for u in units]
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}, width

    def _finish_row(self, unit: _Unit, tokens: list[int], stopped: tuple[int, str] | None
                    ) -> tuple[str, str, int]:
        """(text, finish_reason, tokens used) of one generated row; ``stopped`` is what the
        stop watcher saw: (tokens generated, reason) or None."""
        limit = unit.request.max_tokens
        tokens = tokens[: min(limit, len(tokens) if stopped is None else stopped[0])]
        eos = next((i for i, t in enumerate(tokens) if t in self.eos_ids), None)
        if eos is not None:
            tokens = tokens[:eos]
        text = self._decode_after(unit.ids, tokens)
        cut = [text.find(s) for s in unit.request.stop if s and s in text]
        if cut:
            return text[: min(cut)], "stop", len(tokens)
        if eos is not None:
            return text, "stop", len(tokens) + 1
        if stopped is not None:
            return text, stopped[1], len(tokens)
        return text, ("length" if len(tokens) >= limit else "stop"), len(tokens)

    def _decode_after(self, prompt: list[int], tokens: list[int]) -> str:
        decode = self.tokenizer.decode
        if self.encoder_decoder:
            return decode(tokens, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        head = decode(prompt, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        full = decode(prompt + tokens, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if full.startswith(head):
            return full[len(head):]
        return decode(tokens, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def _result(self, request: GenerationRequest, units: list[_Unit]) -> GenerationResult:
        texts = [t for u in units for t in u.texts]
        reasons = [r for u in units for r in u.finish]
        if units and units[0].greedy:
            texts, reasons = texts * request.n, reasons * request.n
        return GenerationResult(
            fingerprint=request.fingerprint(),
            choices=tuple(Choice(t, r) for t, r in zip(texts, reasons)),
            usage=Usage(len(units[0].ids) if units else 0, sum(u.tokens for u in units)),
            model=self.name)


def row_seed(request: GenerationRequest, sample: int) -> int | None:
    """The seed of one sample's random stream (``None``: draw one from torch's generator)."""
    if request.seed is None:
        return None
    key = f"{request.fingerprint()}\0{sample}".encode()
    return int(hashlib.sha256(key).hexdigest()[:15], 16)


def eos_token_ids(model, tokenizer) -> list[int]:
    """The ids that end a sequence: the generation config's (Llama 3 has several) and the
    tokenizer's EOS."""
    ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = [] if ids is None else ([ids] if isinstance(ids, int) else list(ids))
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def eos_texts(model, tokenizer) -> list[str]:
    """The text of every EOS token (what a stop string list should contain to match them)."""
    texts = []
    for token_id in eos_token_ids(model, tokenizer):
        text = tokenizer.convert_ids_to_tokens(token_id)
        if text and text not in texts:
            texts.append(text)
    return texts


def prepare_tokenizer(tokenizer, model) -> None:
    """Left padding for decoder-only batches; EOS as the pad token when there is none."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(model.config, "is_encoder_decoder", False):
        tokenizer.padding_side = "left"


def _adapter_base(path: Path) -> str | None:
    config = path / "adapter_config.json"
    if config.is_file() and not (path / "config.json").is_file():
        return json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    return None


def load_tokenizer(*candidates: str | None, trust_remote_code: bool = False, revision=None):
    """The first of ``candidates`` that holds a tokenizer; a clear error when none does."""
    from transformers import AutoTokenizer

    tried = []
    for candidate in candidates:
        if not candidate:
            continue
        if Path(candidate).is_dir() and not any(
                (Path(candidate) / name).is_file() for name in
                ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")):
            tried.append(candidate)
            continue
        try:
            return AutoTokenizer.from_pretrained(candidate, trust_remote_code=trust_remote_code,
                                                 revision=revision)
        except (OSError, ValueError) as error:
            tried.append(f"{candidate} ({type(error).__name__})")
    raise FileNotFoundError(
        f"no tokenizer found in {', '.join(tried) or 'the model'}: save the tokenizer with the "
        "checkpoint (tokenizer.save_pretrained(dir)) or pass tokenizer= (--tokenizer) with the "
        "base model's tokenizer")


def load_model(path: str, tokenizer: Any = None, *, revision: str | None = None,
               adapter: str | None = None, load_in_4bit: bool = False, dtype: str = "auto",
               device: str | None = None, trust_remote_code: bool = False):
    """(model, tokenizer, revision, name, adapter) for a path or Hub id, a PEFT adapter directory
    (``path`` itself, or ``adapter`` on top of ``path``), optionally 4-bit quantized."""
    _, transformers = _import_transformers()
    base = path
    if adapter is None and Path(path).is_dir() and _adapter_base(Path(path)):
        adapter, base = path, _adapter_base(Path(path))
    options: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
    if dtype != "auto" or not load_in_4bit:
        options["dtype"] = dtype
    if load_in_4bit:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ImportError("load_in_4bit needs bitsandbytes: pip install 'octopack[qlora]'") from None
        options["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True)
    if isinstance(tokenizer, (str, os.PathLike)) or tokenizer is None:
        tokenizer = load_tokenizer(str(tokenizer) if tokenizer else None, adapter, base,
                                   trust_remote_code=trust_remote_code, revision=revision)
    config = transformers.AutoConfig.from_pretrained(base, revision=revision,
                                                     trust_remote_code=trust_remote_code)
    auto = (transformers.AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False)
            else transformers.AutoModelForCausalLM)
    model = auto.from_pretrained(base, **options)
    if adapter is not None:
        try:
            from peft import PeftModel
        except ImportError:
            raise ImportError("loading a LoRA adapter needs peft: pip install peft") from None
        model = PeftModel.from_pretrained(model, adapter)
        if not load_in_4bit:
            model = model.merge_and_unload()
    if device and not load_in_4bit:
        model = model.to(device)
    model.eval()
    if Path(base).is_dir():
        found = local_revision(base)
        if adapter is not None:
            found += "+" + local_revision(adapter)[len("local-"):]
    else:
        found = getattr(model.config, "_commit_hash", None) or revision
    return model, tokenizer, found, path, adapter

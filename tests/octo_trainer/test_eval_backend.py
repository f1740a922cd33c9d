"""The local generation backends: TransformersBackend on the tiny model (batching, samples via
num_return_sequences, seeded per-sequence sampling, stop strings, stop predicates, special
tokens, LoRA adapters, 4-bit, seq2seq) and the vLLM backend's message when vLLM is missing."""

from __future__ import annotations

import pytest
import torch

from commitpack_dataset.generation import GenerationRequest
from commitpack_dataset.generation.transformers_backend import TransformersBackend


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    torch.set_num_threads(1)
    return TransformersBackend(str(tiny_model_dir), batch_size=8)


def _request(prompt="def fib(n):", **fields) -> GenerationRequest:
    options = dict(model="tiny", prompt=prompt, n=3, temperature=0.8, top_p=0.95, max_tokens=12,
                   seed=0)
    options.update(fields)
    return GenerationRequest(**options)


class _Spy:
    """Records every model.generate call: (batch rows, num_return_sequences, input widths)."""

    def __init__(self, model):
        self.calls, self._generate = [], model.generate

    def __call__(self, **kwargs):
        self.calls.append((kwargs["input_ids"].shape[0], kwargs.get("num_return_sequences", 1),
                           int(kwargs["attention_mask"].sum(dim=1).max())))
        return self._generate(**kwargs)


def test_samples_come_from_num_return_sequences_in_length_sorted_batches(backend, monkeypatch):
    spy = _Spy(backend.model)
    monkeypatch.setattr(backend.model, "generate", spy)
    short, long, longer = (_request("x = 1"), _request("import os\nimport sys\ndef main():"),
                           _request("import os\nimport sys\nimport re\nclass A:\n    def f(self):"))
    results = backend.generate_batch([short, long, longer, _request("y", n=5)])
    assert [len(r.choices) for r in results] == [3, 3, 3, 5]
    # n=3: two prompts per call of 8 sequences, longest first; n=5: its own call
    widths = [width for _, _, width in spy.calls]
    assert [(rows, n) for rows, n, _ in spy.calls] == [(2, 3), (1, 3), (1, 5)]
    assert widths[0] >= widths[1]
    n_split = _Spy(backend.model)
    monkeypatch.setattr(backend.model, "generate", n_split)
    assert len(backend.generate_batch([_request(n=11)])[0].choices) == 11  # 8 + 3
    assert [(rows, n) for rows, n, _ in n_split.calls] == [(1, 8), (1, 3)]


def test_sampling_is_seeded_per_sequence_not_per_batch(backend):
    alone = backend.generate_batch([_request()])[0].texts
    with_others = backend.generate_batch([_request("class B:"), _request(), _request("z = 2")])[1]
    assert with_others.texts == alone  # the same answer whatever shares the batch
    assert len(set(alone)) > 1  # the samples differ from each other
    assert backend.generate_batch([_request(seed=1)])[0].texts != alone
    # 8 + 3 samples split over two calls: the first 3 are the 3-sample request's
    assert backend.generate_batch([_request(n=11)])[0].texts[:3] != alone  # other fingerprint


def test_greedy_generates_once_and_repeats(backend, monkeypatch):
    spy = _Spy(backend.model)
    monkeypatch.setattr(backend.model, "generate", spy)
    result = backend.generate_batch([_request(n=4, temperature=0.0)])[0]
    assert len(set(result.texts)) == 1 and len(result.texts) == 4
    assert [(rows, n) for rows, n, _ in spy.calls] == [(1, 1)]


def test_stop_strings_cut_the_text_and_stop_the_row(backend):
    free = backend.generate_batch([_request(n=1, temperature=0.0, max_tokens=30)])[0].choices[0]
    assert free.finish_reason == "length" and len(free.text) > 4
    stop = free.text[3:5]
    cut = backend.generate_batch([_request(n=1, temperature=0.0, max_tokens=30,
                                           stop=(stop,))])[0]
    assert cut.choices[0].text == free.text[: free.text.find(stop)]
    assert cut.choices[0].finish_reason == "stop"
    assert cut.usage.completion_tokens < 30


def test_a_stop_predicate_ends_a_sequence_while_generating(tiny_model_dir):
    seen = []

    def stop_check(request):
        if request.metadata.get("watch"):
            return lambda text: seen.append(text) or len(text) >= 6
        return None

    backend = TransformersBackend(str(tiny_model_dir), batch_size=4, stop_check=stop_check)
    watched, free = backend.generate_batch([
        _request(n=1, temperature=0.0, max_tokens=40, metadata={"watch": True}),
        _request(n=1, temperature=0.0, max_tokens=40)])
    assert watched.choices[0].finish_reason == "stop" and len(watched.texts[0]) >= 6
    assert watched.usage.completion_tokens < free.usage.completion_tokens == 40
    assert free.texts[0].startswith(watched.texts[0])
    assert seen and all(free.texts[0].startswith(text) for text in seen)  # incremental text


def test_special_tokens_stay_in_the_text_unless_they_stop_it(tiny_model_dir, monkeypatch):
    backend = TransformersBackend(str(tiny_model_dir), batch_size=4)
    special = backend.tokenizer.convert_tokens_to_ids("<|im_start|>")
    forward = backend.model.forward

    def biased(*args, **kwargs):
        output = forward(*args, **kwargs)
        if output.logits.shape[1] == 1:  # from the second generated token on
            output.logits[..., special] += 1000.0
        return output

    monkeypatch.setattr(backend.model, "forward", biased)
    kept = backend.generate_batch([_request(n=1, temperature=0.0, max_tokens=4)])[0].texts[0]
    assert "<|im_start|>" in kept  # not silently dropped by skip_special_tokens
    cut = backend.generate_batch([_request(n=1, temperature=0.0, max_tokens=4,
                                           stop=("<|im_start|>",))])[0].choices[0]
    assert cut.text == kept[: kept.index("<|im_start|>")] and cut.finish_reason == "stop"


def test_a_lora_adapter_directory_loads_on_its_base_model(tiny_model_dir, tmp_path, backend):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    adapter = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                              init_lora_weights=False))
    adapter.save_pretrained(tmp_path / "adapter")
    tuned = TransformersBackend(str(tmp_path / "adapter"), batch_size=4)
    assert "+" in tuned.revision and tuned.describe()["adapter"] == str(tmp_path / "adapter")
    ids = backend.tokenizer("def fib(n):", return_tensors="pt")["input_ids"]
    with torch.no_grad():  # merged into the weights: the logits moved
        assert not torch.allclose(tuned.model(ids).logits, backend.model(ids).logits)
    assert len(tuned.generate_batch([_request(n=2, max_tokens=4)])[0].choices) == 2


def test_4bit_loading_generates(tiny_model_dir):
    quantized = TransformersBackend(str(tiny_model_dir), load_in_4bit=True, batch_size=4)
    assert quantized.describe()["load_in_4bit"] is True
    assert len(quantized.generate_batch([_request(n=2, max_tokens=4)])[0].choices) == 2


def test_seq2seq_model_takes_the_encoder_prompt(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    config = T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=1,
                      num_heads=2, pad_token_id=pad, eos_token_id=tokenizer.eos_token_id,
                      decoder_start_token_id=pad)
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(tmp_path / "t5")
    tokenizer.save_pretrained(tmp_path / "t5")
    backend = TransformersBackend(str(tmp_path / "t5"), batch_size=4)
    assert backend.encoder_decoder
    plain, prefixed = backend.generate_batch([
        _request(n=2, max_tokens=5),
        _request(n=2, max_tokens=5, extra={"encoder_prompt": "Write fib."})])
    assert len(plain.choices) == len(prefixed.choices) == 2


def test_vllm_backend_says_what_to_do_when_vllm_is_missing():
    from commitpack_dataset.generation.vllm_backend import VLLMBackend, import_vllm

    try:  # vLLM is not installed here (GPU only): the message is what we test
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vLLM is installed: the missing-vLLM message cannot be shown")
    for attempt in (import_vllm, lambda: VLLMBackend("some/model")):
        with pytest.raises(ImportError, match="vLLM is not installed.*pip install vllm.*--backend openai"):
            attempt()


def test_the_row_sampler_draws_from_the_transformers_warpers_distribution():
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    from commitpack_dataset.generation.transformers_decoding import RowSampler

    logits = torch.tensor([[2.0, 1.5, 1.0, 0.2, -1.0, -3.0]])
    rows = 40000
    for temperature, top_p, top_k in ((0.7, 0.8, None), (1.0, 1.0, None), (0.2, 0.95, 3)):
        sampler = RowSampler(list(range(rows)), 1, 0, temperature, top_p, top_k)
        ids = torch.zeros(rows, 0, dtype=torch.long)
        drawn = sampler(ids, logits.repeat(rows, 1)).argmax(dim=-1)
        frequency = torch.bincount(drawn, minlength=6).double() / rows
        expected = TemperatureLogitsWarper(temperature)(ids[:1], logits.clone())
        if top_k:
            expected = TopKLogitsWarper(top_k)(ids[:1], expected)
        if top_p < 1.0:
            expected = TopPLogitsWarper(top_p)(ids[:1], expected)
        expected = torch.softmax(expected.double(), dim=-1)[0]
        assert torch.allclose(frequency, expected, atol=0.01), (temperature, frequency, expected)
        assert (frequency[expected == 0] == 0).all()  # never a token the warpers removed

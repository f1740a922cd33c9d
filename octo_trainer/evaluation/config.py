"""The evaluation runner's settings: one dataclass, parsed from the command line and/or a YAML
file with the same keys (``TrlParser``: ``octopack eval --config eval.yaml --n_samples 5``).

Defaults are the OctoPack paper's (temperature 0.2, top_p 0.95, 20 samples per problem, 2048
tokens of prompt + generation, the harness's seed 0); ``greedy: true`` is one sample at
temperature 0. Everything that decides an answer is recorded in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from humanevalpack_metric.languages import LANGUAGES

#: What ``tasks`` may name. ``explain`` runs both Explain stages (describe, then synthesize from
#: each description); ``explaindescribe`` alone only generates descriptions.
HUMANEVALPACK_TASKS = ("fixtests", "fixdocs", "explaindescribe", "explainsynthesize", "synthesize")
PLAIN_BENCHMARKS = ("humaneval", "mbpp")
TASK_CHOICES = ("fixtests", "fixdocs", "explain", *HUMANEVALPACK_TASKS[2:], *PLAIN_BENCHMARKS)
TABLE2_TASKS = ("fixtests", "explain", "synthesize")
BACKENDS = ("transformers", "openai", "vllm")
BENCHMARK_STYLES = ("magicoder", "wizardcoder")
#: ``model_name_or_path`` value that stands for the project's tiny model (built and cached).
TINY_MODEL = "octopack-tiny"


def _help(text: str, **extra) -> dict:
    return {"metadata": {"help": text, **extra}}


@dataclass
class EvalArguments:
    """Evaluate a model on HumanEvalPack (Fix, Explain, Synthesize x 6 languages), HumanEval and
    MBPP, from a checkpoint or an OpenAI-compatible endpoint, into a run directory."""

    # -- the model ----------------------------------------------------------------------------
    model_name_or_path: str | None = field(default=None, **_help(
        "Local checkpoint or adapter directory, Hub model id (transformers/vllm backends), or the "
        f"model name an endpoint serves (openai backend). '{TINY_MODEL}' is the project's tiny "
        "test model."))
    prompt_format: str | None = field(default=None, **_help(
        "The prompt format the model was trained with (octo_trainer.formats): octocoder, "
        "wizardcoder, magicoder, starchat, chat (the tokenizer's chat template), ... Required: a "
        "wrong format silently costs many points."))
    backend: str | None = field(default=None, **_help(
        "transformers (local), openai (any OpenAI-compatible endpoint: vLLM, TGI, transformers "
        "serve, OpenAI) or vllm (in-process). Default: openai when --base_url is given, else "
        "transformers.", choices=BACKENDS))
    base_url: str | None = field(default=None, **_help(
        "Endpoint URL for the openai backend, e.g. http://127.0.0.1:8000/v1."))
    api_key_env: str = field(default="OPENAI_API_KEY", **_help(
        "Environment variable holding the endpoint's API key (never written anywhere)."))
    tokenizer: str | None = field(default=None, **_help(
        "Tokenizer to use (default: the model's own). With an endpoint it counts prompt tokens "
        "for --max_length and renders the 'chat' format."))
    revision: str | None = field(default=None, **_help("Hub revision of the model."))
    adapter: str | None = field(default=None, **_help(
        "A PEFT (LoRA) adapter directory applied on top of the model."))
    load_in_4bit: bool = field(default=False, **_help("Load the model 4-bit (bitsandbytes NF4)."))
    dtype: str = field(default="auto", **_help("Model dtype (auto, float32, bfloat16, ...)."))
    device: str | None = field(default=None, **_help("Device for the transformers backend."))
    trust_remote_code: bool = field(default=False, **_help("Allow custom model code."))
    model_label: str | None = field(default=None, **_help(
        "The model's name in the table and results.json (default: the model's basename)."))

    # -- what to evaluate ---------------------------------------------------------------------
    tasks: list[str] = field(default_factory=lambda: list(TABLE2_TASKS), **_help(
        f"Tasks: {', '.join(TASK_CHOICES)}. Default: the paper's Table 2 (fixtests, explain, "
        "synthesize)."))
    languages: list[str] = field(default_factory=lambda: list(LANGUAGES), **_help(
        f"HumanEvalPack languages: {', '.join(LANGUAGES)} (HumanEval and MBPP are Python)."))
    benchmark_style: str = field(default="magicoder", **_help(
        "HumanEval/MBPP prompt form: magicoder (Magicoder's instruction, response prefilled with "
        "```python) or wizardcoder (WizardCoder's 'Create a Python script for this problem').",
        choices=BENCHMARK_STYLES))
    data_dir: str | None = field(default=None, **_help(
        "Local HumanEvalPack directory (one <language>.jsonl each); default: the Hub dataset."))
    humaneval_path: str | None = field(default=None, **_help(
        "Local HumanEval file (HumanEval.jsonl.gz); default: the Hub dataset."))
    mbpp_path: str | None = field(default=None, **_help(
        "Local MBPP file (mbpp.jsonl); default: the Hub dataset (the 500 test problems)."))
    limit: int | None = field(default=None, **_help(
        "Only the first N problems of each task and language (a partial run; results.json says "
        "so)."))
    problems: list[int] | None = field(default=None, **_help(
        "Only these problem indices (0-based within each language's list; for MBPP within the 500 "
        "test problems)."))

    # -- sampling -----------------------------------------------------------------------------
    n_samples: int = field(default=20, **_help("Samples per problem (pass@k needs n >= k)."))
    temperature: float = field(default=0.2, **_help("Sampling temperature."))
    top_p: float = field(default=0.95, **_help("Nucleus sampling top_p."))
    top_k: int | None = field(default=None, **_help("Top-k sampling (off by default, as the harness)."))
    max_length: int = field(default=2048, **_help(
        "Tokens of prompt + generation (the harness's max_length_generation)."))
    max_new_tokens: int | None = field(default=None, **_help(
        "Cap on generated tokens; default: max_length minus the prompt (1024 when no tokenizer "
        "is known to count the prompt)."))
    greedy: bool = field(default=False, **_help("Greedy decoding: 1 sample at temperature 0."))
    seed: int | None = field(default=0, **_help("Sampling seed (recorded; part of every request)."))
    batch_size: int = field(default=20, **_help("Sequences per generate call (local backends)."))
    samples_per_request: int | None = field(default=None, **_help(
        "Split a prompt's samples into requests of this many (1 for endpoints that ignore n, "
        "e.g. transformers serve), with consecutive seeds; default: all in one request."))
    max_stop_sequences: int | None = field(default=None, **_help(
        "Send at most this many stop strings to an endpoint (OpenAI and TGI accept 4); the "
        "others are applied by post-processing, so scores do not change."))
    concurrency: int = field(default=16, **_help("Requests in flight (endpoint backend)."))
    request_timeout: float = field(default=300.0, **_help("Seconds per endpoint request."))
    max_retries: int = field(default=5, **_help("Retries of a failed request (endpoints)."))
    retry_backoff: float = field(default=1.0, **_help(
        "Seconds before the first retry (doubling after each; a server's Retry-After wins)."))
    samples_per_description: int = field(default=1, **_help(
        "ExplainSynthesize samples per description (the paper: 1, each description its own "
        "problem)."))

    # -- scoring ------------------------------------------------------------------------------
    k: list[int] = field(default_factory=lambda: [1, 10, 100], **_help(
        "pass@k values (a k above the samples per problem is omitted)."))
    num_workers: int | None = field(default=None, **_help("Parallel sandboxes (default: cores)."))
    execution_timeout: float | None = field(default=None, **_help(
        "Seconds per program (default: the harness's per-language timeouts)."))
    sandbox: str = field(default="auto", **_help("auto, bwrap or rlimit (see the metric card)."))
    generation_only: bool = field(default=False, **_help("Generate, but execute nothing."))

    # -- output -------------------------------------------------------------------------------
    output_dir: str | None = field(default=None, **_help(
        "Run directory (default: outputs/eval/<model label>). Re-running with the same directory "
        "resumes: nothing finished is generated or executed again."))
    cache: str | None = field(default=None, **_help(
        "Response cache (SQLite) shared by runs; default: <output_dir>/responses.sqlite."))
    execution_cache: str | None = field(default=None, **_help(
        "Execution result cache (JSONL); default: <output_dir>/executions.jsonl."))
    compare: list[str] | None = field(default=None, **_help(
        "Other run directories (or results.json files) to add as rows to the table and chart."))
    progress: bool = field(default=True, **_help("Show progress bars."))

    def __post_init__(self) -> None:
        if self.greedy:
            self.n_samples, self.temperature, self.top_p = 1, 0.0, 1.0
        if self.backend is None:
            self.backend = "openai" if self.base_url else "transformers"

    @property
    def label(self) -> str:
        if self.model_label:
            return self.model_label
        name = (self.model_name_or_path or "model").rstrip("/")
        return Path(name).name or name

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) if self.output_dir else Path("outputs") / "eval" / self.label

    def sampling(self) -> dict:
        """The sampling parameters every generation record carries."""
        return {"n_samples": self.n_samples, "temperature": self.temperature, "top_p": self.top_p,
                "top_k": self.top_k, "max_length": self.max_length,
                "max_new_tokens": self.max_new_tokens, "greedy": self.greedy, "seed": self.seed,
                "samples_per_description": self.samples_per_description}

"""The pipeline config: one YAML file (a dataclass tree), defaults = the embedded demo.

Every key, its default and its meaning are below (and in the README's config reference); a key
that is not one of these is an error naming the valid ones. ``octopack run`` reads
``octo_trainer/pipelines/default.yaml`` when no file is given; ``--set section.key=value``
overrides any key. Secrets are never config values: the teacher's and the Hub's keys are read from
the environment variables the config *names*.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .schema import ConfigError, apply_override, build, to_plain

#: HumanEvalPack's six languages (the runner's and the mix's default).
LANGUAGES = ["python", "js", "java", "go", "cpp", "rust"]
#: Stages in run order (``octopack run --only/--until`` take these names).
STAGES = ("mine", "filter", "oss_instruct", "evol_instruct", "mix", "analysis", "sft", "eval",
          "publish")
#: Keys that change how a stage runs but not what it produces: not part of its fingerprint.
OPERATIONAL = {"concurrency", "rpm", "tpm", "request_timeout", "max_retries", "progress",
               "num_workers", "startup_timeout", "port"}


def _meta(help_text: str, **extra) -> dict:
    return {"metadata": {"help": help_text, **extra}}


@dataclass
class DataSection:
    """Where benchmarks and seed sets come from: the Hub by default, local copies when given."""

    local_dir: str | None = field(default=None, **_meta(
        "A directory laid out like the project's data folder (humanevalpack/<lang>.jsonl, "
        "benchmarks/HumanEval.jsonl.gz, benchmarks/mbpp.jsonl, octocoder/oasst_code_sample.jsonl, "
        "seeds/code_alpaca_2k.json): every item below that is not set is read from it."))
    humanevalpack_dir: str | None = field(default=None, **_meta(
        "Local HumanEvalPack (<lang>.jsonl); default: the Hub dataset bigcode/humanevalpack."))
    humaneval: str | None = field(default=None, **_meta(
        "Local HumanEval.jsonl(.gz) for decontamination; default: the Hub."))
    mbpp: str | None = field(default=None, **_meta(
        "Local mbpp.jsonl for decontamination; default: the Hub."))
    oasst: str | None = field(default=None, **_meta(
        "OASST conversations for the mix (Hub id or local file); default: "
        "HuggingFaceH4/oasst1_guanaco."))
    evol_seeds: str | None = field(default=None, **_meta(
        "Evol-Instruct seed instructions (Hub id or local file); default: Code Alpaca."))

    LOCAL_LAYOUT = {"humanevalpack_dir": "humanevalpack", "humaneval": "benchmarks/HumanEval.jsonl.gz",
                    "mbpp": "benchmarks/mbpp.jsonl", "oasst": "octocoder/oasst_code_sample.jsonl",
                    "evol_seeds": "seeds/code_alpaca_2k.json"}

    def resolved(self, name: str) -> str | None:
        """The source of ``name``: its own value, else its file under ``local_dir``, else ``None``
        (the Hub)."""
        value = getattr(self, name)
        if value is not None or self.local_dir is None:
            return value
        path = Path(self.local_dir).expanduser() / self.LOCAL_LAYOUT[name]
        return str(path.resolve()) if path.exists() else None


@dataclass
class MineSection:
    """Stage 1a: CommitPack from local git repositories (``commitpack_dataset.CommitPack``)."""

    own_history: bool = field(default=True, **_meta(
        "Mine this octopack checkout's own history (the git work tree the package runs from)."))
    repositories: list[str] = field(default_factory=list, **_meta(
        "More repositories: local paths or clone URLs (octopack run --repo PATH adds one)."))
    revision: str = field(default="HEAD", **_meta("The revision (or range) of every repository."))
    languages: list[str] | None = field(default=None, **_meta(
        "CommitPack languages to keep (display names such as Python, Rust); null: all 22."))
    license_policy: str = field(default="drop-unknown", **_meta(
        "drop-unknown (the released scripts: a repository without a recognised license is "
        "dropped) or keep-unknown (your own repositories without a LICENSE file).",
        choices=("drop-unknown", "keep-unknown")))
    options: dict[str, Any] = field(default_factory=dict, **_meta(
        "Any other CommitPackConfig field (since, until, max_blob_bytes, faithful, ...)."))


@dataclass
class FilterSection:
    """Stage 1b: the CommitPackFT rules over the mined commits."""

    tokenizer: str = field(default="estimate", **_meta(
        "Tokenizer of the token-length rule: estimate (bytes / 4, no download), a local "
        "tokenizer directory or a Hub id (the paper: bigcode/starcoder)."))
    faithful: bool = field(default=True, **_meta("The released scripts' rules (false: our fixes)."))


@dataclass
class TeacherSection:
    """The teacher of OSS-Instruct and Evol-Instruct: an OpenAI-compatible endpoint."""

    model: str = field(default="octopack-tiny", **_meta(
        "The model name the endpoint serves. With base_url null: a local model directory (or "
        "octopack-tiny, the project's tiny model) that `transformers serve` serves for the run."))
    base_url: str | None = field(default=None, **_meta(
        "An OpenAI-compatible endpoint (OpenAI, vLLM, TGI, ...), e.g. https://api.openai.com/v1; "
        "null: start `transformers serve` on `model` for the run."))
    api_key_env: str = field(default="OPENAI_API_KEY", **_meta(
        "The NAME of the environment variable holding the endpoint's API key (never the key)."))
    concurrency: int = field(default=4, **_meta("Requests in flight."))
    rpm: float | None = field(default=None, **_meta("Requests per minute limit."))
    tpm: float | None = field(default=None, **_meta("Tokens per minute limit."))
    prices: list[float] | None = field(default=None, **_meta(
        "USD per 1M prompt and completion tokens, [prompt, completion]: the report shows the cost."))
    request_timeout: float = field(default=300.0, **_meta("Seconds per request."))
    startup_timeout: float = field(default=300.0, **_meta(
        "Seconds to wait for `transformers serve` to answer /health."))

    def __post_init__(self) -> None:
        if self.prices is not None and len(self.prices) != 2:
            raise ConfigError(f"teacher.prices: give [prompt, completion] USD per 1M tokens, got {self.prices}")


@dataclass
class OSSInstructSection:
    """Stage 2a: OSS-Instruct (Magicoder) problems and solutions from seeds of the mined code."""

    enabled: bool = field(default=True, **_meta("Run the stage."))
    language: str = field(default="python", **_meta("The OSS-Instruct config (language) to build."))
    max_new_data: int | None = field(default=8, **_meta(
        "Seeds to ask the teacher about (null: every seed; Magicoder: 75k)."))
    max_new_tokens: int = field(default=128, **_meta("Tokens per teacher answer (Magicoder: 2500)."))
    options: dict[str, Any] = field(default_factory=dict, **_meta(
        "Any other OSSInstructConfig field (seed_files, execution_check, temperature, ...)."))


@dataclass
class EvolInstructSection:
    """Stage 2b: Code Evol-Instruct (WizardCoder): seed instructions evolved by the teacher."""

    enabled: bool = field(default=True, **_meta("Run the stage."))
    max_seeds: int | None = field(default=8, **_meta("Seed instructions to evolve (null: all)."))
    rounds: int = field(default=1, **_meta("Evolution rounds (WizardCoder: 3)."))
    max_new_tokens: int = field(default=128, **_meta("Tokens per teacher answer (evol-teacher: 2048)."))
    options: dict[str, Any] = field(default_factory=dict, **_meta(
        "Any other EvolInstructConfig field (mode, equality_judge, ...)."))


@dataclass
class MixSection:
    """Stage 3: the OctoCoder mix (CommitPackFT commits + filtered OASST, as
    bigcode/guanaco-commits), decontaminated, in the training form (prompt, completion)."""

    commits: int | None = field(default=5000, **_meta(
        "CommitPackFT rows to sample (the paper: 5,000; null: all)."))
    languages: list[str] | None = field(default=None, **_meta(
        "CommitPackFT languages of the commit part (null: the six HumanEvalPack languages)."))
    oasst: bool = field(default=True, **_meta("Include the filtered OASST part."))
    oasst_rows: int | None = field(default=None, **_meta(
        "Only the first N OASST conversations (before the filter; null: all)."))
    decontaminate: bool = field(default=True, **_meta(
        "Remove rows containing HumanEval, MBPP or HumanEvalPack problems or solutions."))
    seed: int = field(default=42, **_meta("Sampling seed."))


@dataclass
class AnalysisSection:
    """The data analysis (Magicoder's figures) of every data set the run built."""

    enabled: bool = field(default=True, **_meta("Run the analysis and put its plots in the report."))
    options: dict[str, Any] = field(default_factory=dict, **_meta("Options of the analysis."))


@dataclass
class SFTSection:
    """Stage 4: LoRA fine-tuning with a recipe (``octopack sft``), on the mix."""

    recipe: str = field(default="tiny-cpu/lora", **_meta(
        "A shipped recipe (tiny-cpu/lora, magicoder/lora, octocoder/qlora, ...), a YAML path or "
        "hf://owner/repo[@revision]/path.yaml."))
    model_name_or_path: str | None = field(default=None, **_meta(
        "The base model (a Hub id or directory; null: the recipe's, octopack-tiny for tiny-cpu)."))
    prompt_format: str = field(default="octocoder", **_meta(
        "The prompt format of training and evaluation (octo_trainer.formats)."))
    sources: list[str] = field(default_factory=lambda: ["mix", "oss_instruct", "evol_instruct"], **_meta(
        "The data sets to train on: the mix (prompt/completion rows as they are) and the teacher "
        "data (instruction/response rows rendered in prompt_format); empty ones are left out.",
        choices=("mix", "oss_instruct", "evol_instruct", "filter")))
    overrides: dict[str, Any] = field(default_factory=lambda: {"max_steps": 16}, **_meta(
        "Recipe keys to override (any SFTConfig / ModelConfig / data key: max_steps, "
        "learning_rate, use_cpu, bf16, ...)."))


@dataclass
class EvalSection:
    """Stage 5: HumanEvalPack with the runner (``octopack eval``) plus the canonical solutions as
    a check of the executor."""

    tasks: list[str] = field(default_factory=lambda: ["fixtests", "explain", "synthesize"], **_meta(
        "Runner tasks (fixtests, fixdocs, explain, synthesize, humaneval, mbpp)."))
    languages: list[str] = field(default_factory=lambda: list(LANGUAGES), **_meta(
        "HumanEvalPack languages.", choices=tuple(LANGUAGES)))
    limit: int | None = field(default=2, **_meta("The first N problems of each task x language "
                                                 "(null: all 164)."))
    greedy: bool = field(default=True, **_meta("One greedy sample (false: the paper's T=0.2, n=20)."))
    max_new_tokens: int | None = field(default=96, **_meta("Generated tokens per answer."))
    sanity_check: bool = field(default=True, **_meta(
        "Also score the canonical solutions of the same problems: all must pass."))
    options: dict[str, Any] = field(default_factory=dict, **_meta(
        "Any other EvalArguments field (n_samples, temperature, k, backend, base_url, ...)."))


@dataclass
class PublishSection:
    """Stage 6: cards and publication of datasets, model, metric and recipe, then a pull back."""

    enabled: bool = field(default=True, **_meta("Run the stage."))
    endpoint: str = field(default="local", **_meta(
        "local (a dev hub started for the run, repositories under <run_dir>/hub) or a Hub URL "
        "such as https://huggingface.co."))
    port: int = field(default=0, **_meta("The local dev hub's port (0: a free one)."))
    token_env: str = field(default="HF_TOKEN", **_meta(
        "The NAME of the environment variable with a write token (real Hubs; the local hub "
        "makes its own)."))
    namespace: str | None = field(default=None, **_meta(
        "Owner of the repositories (null: the token's user)."))
    prefix: str = field(default="octopack-demo", **_meta(
        "Repository names: <namespace>/<prefix>-commitpackft, -oss-instruct, -model, ..."))
    private: bool = field(default=False, **_meta("Create the repositories private."))
    licenses: dict[str, str] = field(default_factory=lambda: {"oss-instruct": "apache-2.0",
                                                              "evol-instruct": "cc-by-nc-4.0"}, **_meta(
        "Hub license ids of the data sets whose license the run cannot derive (the teacher data: "
        "their seeds' and teacher's terms apply; the defaults fit octopack's own code + its tiny "
        "teacher, and Code Alpaca's seeds). octocoder-mix: derived from the mixed repositories and "
        "OASST (Apache-2.0) unless set here."))
    pull_back: bool = field(default=True, **_meta(
        "Pull every pushed repository back and check it against what was pushed."))


@dataclass
class PipelineConfig:
    """``octopack run``: from git history to a fine-tuned, evaluated, carded, published model."""

    run_dir: str = field(default="outputs/octopack-run", **_meta(
        "Where everything goes: stages/, cache/, hub/, report.html. Re-running reuses it."))
    data: DataSection = field(default_factory=DataSection)
    mine: MineSection = field(default_factory=MineSection)
    filter: FilterSection = field(default_factory=FilterSection)
    teacher: TeacherSection = field(default_factory=TeacherSection)
    oss_instruct: OSSInstructSection = field(default_factory=OSSInstructSection)
    evol_instruct: EvolInstructSection = field(default_factory=EvolInstructSection)
    mix: MixSection = field(default_factory=MixSection)
    analysis: AnalysisSection = field(default_factory=AnalysisSection)
    sft: SFTSection = field(default_factory=SFTSection)
    eval: EvalSection = field(default_factory=EvalSection)
    publish: PublishSection = field(default_factory=PublishSection)

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


def example_configs() -> dict[str, Path]:
    """The shipped example configs: ``{name: path}`` (``default``, ``real-teacher``, ...)."""
    folder = resources.files("octo_trainer") / "pipelines"
    return {Path(item.name).stem: Path(str(item)) for item in folder.iterdir()
            if item.name.endswith(".yaml")}


def load_config(source: str | Path | dict | None = None, overrides: list[str] = (),
                **changes: Any) -> PipelineConfig:
    """The config of ``source`` (a YAML path, a shipped example's name, a mapping, or ``None`` for
    the embedded default), with ``--set``-style ``overrides`` applied, checked."""
    import yaml

    where = "the embedded default"
    if source is None:
        plain: dict = {}
    elif isinstance(source, dict):
        plain, where = dict(source), "the given mapping"
    else:
        path = Path(source)
        examples = example_configs()
        if not path.is_file() and str(source) in examples:
            path = examples[str(source)]
        if not path.is_file():
            raise ConfigError(f"pipeline config {str(source)!r} not found: give a YAML file or one of "
                              f"the shipped configs ({', '.join(sorted(examples))})")
        try:
            plain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {error}") from None
        if not isinstance(plain, dict):
            raise ConfigError(f"{path} must be a YAML mapping of sections "
                              f"({', '.join(f.name for f in dataclasses.fields(PipelineConfig))})")
        where = str(path)
    for assignment in overrides:
        apply_override(plain, assignment, PipelineConfig)
    for key, value in changes.items():
        apply_override(plain, f"{key}={_yaml(value)}", PipelineConfig)
    try:
        return build(PipelineConfig, plain)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


#: ``section.options`` -> the class (or function) whose fields (parameters) it may set.
OPTION_TARGETS = {"mine": "commitpack_dataset.builders:CommitPackConfig",
                  "oss_instruct": "commitpack_dataset.oss_instruct:OSSInstructConfig",
                  "evol_instruct": "commitpack_dataset.evol_instruct:EvolInstructConfig",
                  "analysis": "commitpack_dataset.analysis:analyze",
                  "eval": "octo_trainer.evaluation.config:EvalArguments"}


#: What the pipeline sets itself from other keys (an ``options`` entry may not set it twice).
_TEACHER = ("model", "base_url", "api_key_env", "concurrency", "rpm", "tpm", "request_timeout", "prices")
_DATA = ("humaneval_source", "mbpp_source", "humanevalpack_dir")
SET_ELSEWHERE = {"mine": {"repositories": "mine.repositories / mine.own_history", "revisions": "mine.revision"},
                 "oss_instruct": {**dict.fromkeys(_TEACHER, "teacher"), **dict.fromkeys(_DATA, "data"),
                                  "seed_repositories": "mine.repositories", "seed_revision": "mine.revision"},
                 "evol_instruct": {**dict.fromkeys(_TEACHER, "teacher"), **dict.fromkeys(_DATA, "data"),
                                   "seed_dataset": "data.evol_seeds"},
                 "analysis": {"datasets": "the run's data sets"},
                 "eval": {"model_name_or_path": "the sft stage's model", "output_dir": "the run directory",
                          "data_dir": "data.humanevalpack_dir"}}


def check_options(config: PipelineConfig) -> None:
    """Every ``options`` key names a field of what it configures, and not one the pipeline sets from
    another key (before anything runs)."""
    import importlib
    import inspect

    from .schema import did_you_mean

    for section, target in OPTION_TARGETS.items():
        options = getattr(config, section).options
        if not options:
            continue
        module, name = target.split(":")
        thing = getattr(importlib.import_module(module), name)
        if dataclasses.is_dataclass(thing):
            valid = [f.name for f in dataclasses.fields(thing) if f.init]
        else:
            valid = [p for p in inspect.signature(thing).parameters if p not in ("datasets", "output_dir")]
        own = [f.name for f in dataclasses.fields(getattr(config, section)) if f.name != "options"]
        for key in options:
            if key not in valid:
                raise ConfigError(f"unknown key {section}.options.{key!r}{did_you_mean(key, valid)} (the fields of "
                                  f"{name}: {', '.join(valid)})")
            if key in own or key in SET_ELSEWHERE[section]:
                where = f"{section}.{key}" if key in own else SET_ELSEWHERE[section][key]
                raise ConfigError(f"{section}.options.{key} is set by {where}: set it there")


def _yaml(value: Any) -> str:
    import json

    return json.dumps(value)


def reference() -> list[tuple[str, str, str]]:
    """``(key, default, meaning)`` of every key, in order (the README's config reference)."""
    rows = []

    def walk(cls, prefix: str, instance) -> None:
        for spec in dataclasses.fields(cls):
            value = getattr(instance, spec.name)
            key = f"{prefix}{spec.name}"
            if dataclasses.is_dataclass(value):
                walk(type(value), key + ".", value)
                continue
            rows.append((key, _yaml(value), spec.metadata.get("help", "")))

    walk(PipelineConfig, "", PipelineConfig())
    return rows


__all__ = ["LANGUAGES", "OPERATIONAL", "STAGES", "ConfigError", "PipelineConfig", "check_options",
           "example_configs", "load_config", "reference"]

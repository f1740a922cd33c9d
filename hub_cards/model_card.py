"""Model cards for fine-tuned models, rendered from ``templates/model_card.md`` with huggingface_hub.

:func:`render_model_card` takes a plain mapping (no trainer objects) and returns a
``huggingface_hub.ModelCard`` whose metadata is a ``ModelCardData`` -- ``base_model``,
``datasets``, ``library_name`` (``peft`` for an adapter, else ``transformers``), ``tags`` (always
``octopack``, ``trl``, ``sft``, plus ``lora``/``qlora``), ``license``, ``pipeline_tag`` -- and whose
body says what was trained (fine-tuning method, prompt format and loss masking, data, the global
batch as per-device × accumulation × devices), the hyper-parameters, the training metrics, how to
load and prompt the model with transformers (and peft for an adapter), the resolved recipe and the
framework versions. ``card.save(path)`` writes it, ``card.push_to_hub(repo)`` publishes it.

Only values that are Hub ids go into the metadata: a local directory or ``namespace``-less name as
base model, or a local data file, is shown in the body only (the Hub rejects unknown ids there).

The mapping (``MODEL_CARD_FIELDS`` lists every key; unknown keys are an error)::

    {
      "model_id": "my-org/tiny-lora",     # required: repo id or local dir the usage snippet loads
      "finetuning": "lora",               # required: "full", "lora" or "qlora"
      "batch": {"per_device": 4, "gradient_accumulation": 2, "devices": 1},   # required
      "adapter": True,                    # weights are a PEFT adapter (default: finetuning != full)
      "subfolder": None,                  # the weights sit in this subfolder of model_id
      "merged_subfolder": "merged",       # adapter card: a merged copy lives there
      "model_name": "tiny-lora",          # title (default: last part of model_id)
      "base_model": "my-org/base",
      "recipe": {"source": "hf://my-org/recipes@<sha>/tiny-cpu/lora.yaml", "yaml": "..."},
      "prompt_format": {"name": "magicoder", "template": "...{instruction}...",
                        "example": "...", "loss_on_prompt": False},
      "datasets": [{"path": "my-org/rows", "split": "train", "weight": 1.0}],
      "lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear"},
      "quantization": {"bits": 4, "quant_type": "nf4", "double_quant": True},
      "hyperparameters": {"learning_rate": 0.01, "max_steps": 8},
      "metrics": {"final_loss": 1.2, "train_loss": 1.5, "train_runtime": 3.2, "global_step": 8},
      "license": "apache-2.0", "language": ["code"], "tags": ["magicoder"],
      "pipeline_tag": "text-generation", "framework_versions": {"trl": "1.16.0"},
      "evaluation": "results.json",       # HumanEvalPack results (a path, a mapping or
                                          # EvaluationResults; hub_cards.results): model-index + table
    }

A card gets new results without retraining: :func:`update_model_card` replaces the metadata's
``model-index`` and the "Evaluation" section (between ``<!-- octopack:evaluation -->`` markers)
of an existing card and keeps the rest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from hub_cards._render import render_card, render_text
from hub_cards.results import (
    LANGUAGES,
    EvaluationResults,
    eval_results,
    parse_results,
    results_card_class,
    results_from_eval_results,
)

MODEL_CARD_TEMPLATE = "model_card.md"
RESULTS_TEMPLATE = "model_card_results.md"
EVALUATION_START = "<!-- octopack:evaluation -->"
EVALUATION_END = "<!-- /octopack:evaluation -->"
BASE_TAGS = ("octopack", "trl", "sft")
FINETUNING = ("full", "lora", "qlora")
REQUIRED_FIELDS = ("model_id", "finetuning", "batch")
MODEL_CARD_FIELDS = frozenset(REQUIRED_FIELDS) | {
    "adapter", "subfolder", "merged_subfolder", "model_name", "base_model", "recipe",
    "prompt_format", "datasets", "lora", "quantization", "hyperparameters", "metrics", "license",
    "language", "tags", "pipeline_tag", "framework_versions", "evaluation",
}
#: Libraries whose versions a card lists by default (those installed).
FRAMEWORKS = ("octopack", "trl", "transformers", "peft", "torch", "datasets", "accelerate",
              "huggingface_hub")
#: A data source path ending like this is a file, never a Hub dataset id.
DATA_FILE_SUFFIXES = (".json", ".jsonl", ".parquet", ".csv", ".tsv", ".txt", ".arrow", ".gz", ".zst")
#: Labels of the metrics a card knows; other metrics are shown under their own names.
METRIC_LABELS = {
    "final_loss": "final training loss (last logged step)",
    "train_loss": "mean training loss",
    "global_step": "optimizer steps",
    "epoch": "epochs",
    "train_runtime": "runtime (s)",
    "train_samples_per_second": "samples / s",
    "train_steps_per_second": "steps / s",
    "total_flos": "total FLOs",
}


def global_batch(batch: Mapping[str, Any]) -> int:
    """Per-device batch × gradient accumulation × devices, each a positive integer."""
    values = []
    for key in ("per_device", "gradient_accumulation", "devices"):
        value = batch.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"batch[{key!r}] must be a positive integer, got {value!r}")
        values.append(value)
    per_device, accumulation, devices = values
    return per_device * accumulation * devices


def framework_versions(names: tuple[str, ...] = FRAMEWORKS) -> dict[str, str]:
    """``{distribution: version}`` for the installed ones among ``names``."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def hub_id_or_none(value: Any) -> str | None:
    """``value`` if it can name a Hub repository (``namespace/name``, not a local path), else None."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if not isinstance(value, str) or value.count("/") != 1 or os.path.exists(value):
        return None
    try:
        validate_repo_id(value)
    except HFValidationError:
        return None
    return value


def hub_license(repo_id: str, token: str | bool | None = None) -> str | None:
    """The ``license`` in the card metadata of the Hub model ``repo_id``; None when unknown.

    Best effort, for inheriting a base model's license: any failure (offline, not found, no card)
    gives None.
    """
    from huggingface_hub import HfApi

    if hub_id_or_none(repo_id) is None:
        return None
    try:
        card_data = HfApi(token=token).model_info(repo_id, timeout=10).card_data
    except Exception:  # noqa: BLE001 - a missing hint must never fail a finished training run
        return None
    license = card_data.get("license") if card_data is not None else None
    return license if isinstance(license, str) else None


def model_card_data(info: Mapping[str, Any]):
    """The ``ModelCardData`` (YAML metadata) of :func:`render_model_card`."""
    finetuning = info["finetuning"]
    adapter = info.get("adapter", finetuning != "full")
    tags = list(BASE_TAGS)
    if finetuning != "full":
        tags.append(finetuning)
    for tag in info.get("tags") or ():
        if tag not in tags:
            tags.append(tag)
    datasets = [_dataset_id(source.get("path")) for source in info.get("datasets") or ()]
    evaluation = _evaluation(info)
    return results_card_class().card_data_class(
        eval_results=eval_results(evaluation) if evaluation else None,
        model_name=_model_name(info) if evaluation else None,
        base_model=hub_id_or_none(info.get("base_model")),
        datasets=sorted({d for d in datasets if d}) or None,
        library_name="peft" if adapter else "transformers",
        license=info.get("license"),
        language=info.get("language"),
        pipeline_tag=info.get("pipeline_tag", "text-generation"),
        tags=tags,
    )


def render_model_card(info: Mapping[str, Any]):
    """Render the model card of a fine-tuning run described by ``info`` (see module docstring)."""
    _check(info)
    finetuning = info["finetuning"]
    adapter = bool(info.get("adapter", finetuning != "full"))
    batch = dict(info["batch"])
    total = global_batch(batch)
    model_id = str(info["model_id"])
    hub_model = hub_id_or_none(model_id) is not None
    subfolder = info.get("subfolder")
    load_from = model_id if hub_model or not subfolder else str(PurePosixPath(model_id) / subfolder)
    merged_subfolder = info.get("merged_subfolder")
    versions = info.get("framework_versions")
    if versions is None:
        names = FRAMEWORKS + (("bitsandbytes",) if info.get("quantization") else ())
        versions = framework_versions(names)
    metrics = dict(info.get("metrics") or {})
    recipe = dict(info.get("recipe") or {})
    prompt = dict(info.get("prompt_format") or {})
    evaluation = _evaluation(info)
    return render_card(
        results_card_class(), model_card_data(info), MODEL_CARD_TEMPLATE,
        model_name=_model_name(info),
        evaluation_block=evaluation_section(evaluation) if evaluation else None,
        model_id=model_id,
        model_id_literal=json.dumps(load_from),
        hub_model=hub_model,
        download_subfolder=subfolder if hub_model else None,
        merged_subfolder=merged_subfolder,
        merged_literal=json.dumps(str(PurePosixPath(model_id) / (merged_subfolder or ""))),
        adapter=adapter,
        finetuning=finetuning,
        kind=_kind(finetuning, adapter),
        method=describe_finetuning(finetuning, info.get("lora"), info.get("quantization")),
        base=info.get("base_model"),
        base_literal=json.dumps(_loadable(info.get("base_model"))),
        recipe_source=recipe.get("source"),
        recipe_yaml=recipe.get("yaml"),
        prompt_name=prompt.get("name"),
        prompt_template=prompt.get("template"),
        prompt_example_literal=json.dumps(prompt.get("example") or "Write a function that reverses a string.",
                                          ensure_ascii=False),
        loss_on_prompt=prompt.get("loss_on_prompt"),
        sources=[_source_row(source) for source in info.get("datasets") or ()],
        batch=batch,
        global_batch=total,
        hyperparameters=dict(info.get("hyperparameters") or {}),
        metric_rows=[(METRIC_LABELS.get(k, k), _number(v)) for k, v in metrics.items()],
        versions=versions,
    )


def _model_name(info: Mapping[str, Any]) -> str:
    return str(info.get("model_name") or str(info["model_id"]).rstrip("/").split("/")[-1])


def _evaluation(info: Mapping[str, Any]) -> EvaluationResults | None:
    value = info.get("evaluation")
    if value is None or isinstance(value, EvaluationResults):
        return value
    return parse_results(value)


def evaluation_section(results: EvaluationResults) -> str:
    """The card's "Evaluation" section: one Table-2-shaped table per k, between the markers."""
    body = render_text(RESULTS_TEMPLATE, results=results, languages=[LANGUAGES[lang] for lang in results.languages],
                       language_keys=results.languages, others=results.others,
                       tables=[(k, rows) for k in results.ks if (rows := results.table(k))],
                       sampling=", ".join(f"{key}={value}" for key, value in results.sampling.items()))
    return f"{EVALUATION_START}\n{body.strip()}\n\n{EVALUATION_END}"


def update_model_card(card, results, *, model_name: str | None = None):
    """``card`` (a ``ModelCard``, its text or a README path) with ``results`` as its evaluation: the
    ``model-index`` metadata and the "Evaluation" section are replaced (added before "How to use"
    when the card has none), everything else is kept. Returns a card ``ModelCard.load`` reads back."""
    card_class = results_card_class()
    text = card.content if hasattr(card, "content") else str(card)
    if not hasattr(card, "content") and "\n" not in text and Path(text).is_file():
        text = Path(text).read_text(encoding="utf-8")
    updated = card_class(text)
    evaluation = results if isinstance(results, EvaluationResults) else parse_results(results)
    name = model_name or updated.data.model_name or evaluation.model or _title(updated.text) or "model"
    updated.data.model_name = name
    updated.data.eval_results = eval_results(evaluation)
    section = evaluation_section(evaluation)
    body = updated.text
    if EVALUATION_START in body and EVALUATION_END in body:
        before, rest = body.split(EVALUATION_START, 1)
        body = before + section + rest.split(EVALUATION_END, 1)[1]
    elif "\n## How to use" in body:
        before, after = body.split("\n## How to use", 1)
        body = f"{before.rstrip()}\n\n{section}\n\n## How to use{after}"
    else:
        body = f"{body.rstrip()}\n\n{section}\n"
    return card_class(f"---\n{updated.data.to_yaml()}\n---\n{body}")


def card_results(card) -> EvaluationResults:
    """The HumanEvalPack results a card's metadata holds (parsed by huggingface_hub)."""
    return results_from_eval_results(card.data.eval_results or [], model=card.data.model_name)


def _title(text: str) -> str | None:
    match = next((line for line in text.splitlines() if line.startswith("# ")), None)
    return match[2:].strip() if match else None


def describe_finetuning(finetuning: str, lora: Mapping[str, Any] | None,
                        quantization: Mapping[str, Any] | None) -> str:
    """One line, e.g. ``"QLoRA: LoRA adapter (r=8; ...) on the base model quantised to 4-bit NF4 ..."``."""
    if finetuning == "full":
        return "full fine-tuning (every weight trained)"
    lora = dict(lora or {})
    parts = [f"{name}={lora[key]}" for key, name in (("r", "r"), ("alpha", "alpha"), ("dropout", "dropout"))
             if lora.get(key) is not None]
    targets = lora.get("target_modules")
    if targets:
        names = ", ".join(targets) if isinstance(targets, (list, tuple)) else str(targets)
        parts.append(f"target modules {names}")
    parts += [name for flag, name in (("use_rslora", "rsLoRA"), ("use_dora", "DoRA")) if lora.get(flag)]
    adapter = f"LoRA adapter ({'; '.join(parts)})" if parts else "LoRA adapter"
    if finetuning == "lora":
        return f"{adapter} on the unquantised base model"
    quantization = dict(quantization or {})
    bits = quantization.get("bits", 4)
    detail = f"{bits}-bit"
    if quantization.get("quant_type") and bits == 4:
        detail += f" {str(quantization['quant_type']).upper()}"
    if quantization.get("double_quant"):
        detail += " with double quantisation"
    return f"QLoRA: {adapter} on the base model quantised to {detail} (bitsandbytes)"


def _dataset_id(path: Any) -> str | None:
    """A data source's Hub dataset id, or None for a local file/dir (also one not found from here)."""
    if isinstance(path, str) and path.lower().endswith(DATA_FILE_SUFFIXES):
        return None
    return hub_id_or_none(path)


def _loadable(base: Any) -> str:
    """The base model as ``from_pretrained`` takes it, or a placeholder when it is neither a Hub id
    nor a local directory (e.g. a name only the training run could resolve)."""
    if isinstance(base, str) and (hub_id_or_none(base) or os.path.isdir(base)):
        return base
    return f"<base model{': ' + str(base) if base else ''}>"


def _kind(finetuning: str, adapter: bool) -> str:
    if finetuning == "full":
        return "A fully fine-tuned model"
    name = "QLoRA" if finetuning == "qlora" else "LoRA"
    return f"A {name} adapter" if adapter else f"A model whose {name} adapter was merged into its base"


def _source_row(source: Mapping[str, Any]) -> dict[str, Any]:
    shown = ("path", "split", "weight", "fraction")
    extra = {k: v for k, v in source.items() if k not in shown and v is not None}
    return {
        "path": source.get("path") or source.get("builder") or source.get("name"),
        "split": source.get("split"),
        "weight": source.get("weight"),
        "fraction": source.get("fraction"),
        "extra": ", ".join(f"{k}: {v}" for k, v in extra.items()),
    }


def _number(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


def _check(info: Mapping[str, Any]) -> None:
    if not isinstance(info, Mapping):
        raise TypeError(f"render_model_card takes a mapping, got {type(info).__name__}")
    missing = [key for key in REQUIRED_FIELDS if info.get(key) is None]
    if missing:
        raise ValueError(f"model card info lacks {missing} (required: {list(REQUIRED_FIELDS)})")
    unknown = sorted(set(info) - MODEL_CARD_FIELDS)
    if unknown:
        raise ValueError(f"unknown model card fields {unknown}; known: {sorted(MODEL_CARD_FIELDS)}")
    if info["finetuning"] not in FINETUNING:
        raise ValueError(f"finetuning must be one of {FINETUNING}, got {info['finetuning']!r}")

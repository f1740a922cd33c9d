"""What a run's model card says: the plain mapping :func:`hub_cards.render_model_card` renders.

:func:`write_model_cards` writes ``README.md`` into ``output_dir`` (the model or adapter) and,
after ``merge_adapter``, into ``output_dir/merged``; :func:`model_card_info` gathers the facts
from the trainer and the parsed recipe (base model and its license, the recipe's source and
resolved YAML, the prompt format and loss masking, the data sources and the row format each was
trained in, the global batch, LoRA/QLoRA settings, hyper-parameters and final metrics).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub_cards import hub_id_or_none, hub_license, render_model_card
from octo_trainer.data import DataArguments
from octo_trainer.formats import get_format
from octo_trainer.recipe_files import plain

MODEL_CARD = "README.md"
MERGED_DIR = "merged"
#: The instruction of the prompt example in model cards.
EXAMPLE_INSTRUCTION = "Write a Python function that returns the n-th Fibonacci number."


def write_model_cards(trainer, metrics: dict[str, Any], data_args: DataArguments, training_args,
                      model_args, **card_args: Any) -> list[Path]:
    """``README.md`` in ``output_dir`` and, when merging, in ``output_dir/merged`` (hub_cards)."""
    output_dir = Path(training_args.output_dir)
    targets = [(output_dir, False)] + ([(output_dir / MERGED_DIR, True)] if data_args.merge_adapter else [])
    written = []
    for folder, merged in targets:
        info = model_card_info(trainer, metrics, data_args, training_args, model_args, merged=merged,
                               **card_args)
        render_model_card(info).save(folder / MODEL_CARD)
        written.append(folder / MODEL_CARD)
    return written


def hub_repo_id(trainer, training_args) -> str | None:
    """Where the run is (or would be) published: the repo the trainer created, ``hub_model_id``,
    or, when pushing without one, the output directory's name (transformers' rule)."""
    repo_id = getattr(trainer, "hub_model_id", None) or training_args.hub_model_id
    if repo_id is None and training_args.push_to_hub:
        repo_id = Path(training_args.output_dir).absolute().name
    return repo_id


def finetuning_kind(model_args) -> str:
    """``"full"``, ``"lora"`` or ``"qlora"`` (LoRA on a 4/8-bit base)."""
    if not model_args.use_peft:
        return "full"
    return "qlora" if model_args.load_in_4bit or model_args.load_in_8bit else "lora"


def model_card_info(trainer, metrics: dict[str, Any], data_args: DataArguments, training_args,
                    model_args, *, base_model: str | None, recipe_source: str | None,
                    recipe_text: str | None, row_formats: list[str] | None = None,
                    merged: bool = False) -> dict[str, Any]:
    """The plain mapping :func:`hub_cards.render_model_card` renders, for the adapter/model in
    ``output_dir`` or (``merged``) for the merged copy in ``output_dir/merged``.

    ``row_formats`` names, per data source, the format its rows were trained in (see
    :func:`octo_trainer.data.prepare_sources`); the prompt format is shown when at least one
    source was rendered with it (instruction/response rows).
    """
    repo_id = hub_repo_id(trainer, training_args)
    output_dir = Path(training_args.output_dir)
    finetuning = finetuning_kind(model_args)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    results = {"final_loss": losses[-1]} if losses else {}
    results.update({"global_step": trainer.state.global_step, **plain(metrics)})
    sources = [plain(source) for source in data_args.datasets]
    for source, row_format in zip(sources, row_formats or ()):
        source["rows"] = row_format
    info: dict[str, Any] = {
        "model_id": repo_id or str(output_dir),
        "model_name": (repo_id or output_dir.absolute().name).split("/")[-1],
        "finetuning": finetuning,
        "adapter": model_args.use_peft and not merged,
        "subfolder": MERGED_DIR if merged else None,
        "merged_subfolder": MERGED_DIR if data_args.merge_adapter and not merged else None,
        "base_model": base_model,
        "license": hub_license(base_model) if hub_id_or_none(base_model) else None,
        "recipe": {"source": recipe_source, "yaml": recipe_text},
        "datasets": sources,
        "batch": {
            "per_device": training_args.per_device_train_batch_size,
            "gradient_accumulation": training_args.gradient_accumulation_steps,
            "devices": training_args.world_size,
        },
        "hyperparameters": _hyperparameters(training_args, model_args),
        "metrics": results,
    }
    rendered = row_formats is None or any(row_format.startswith("instruction") for row_format in row_formats)
    info["tags"] = [data_args.prompt_format, "code"] if rendered else ["code"]
    if rendered:
        fmt = get_format(data_args.prompt_format)
        info["prompt_format"] = {
            "name": fmt.name,
            "template": fmt.split("{instruction}", "")[0],
            "example": fmt.prompt(EXAMPLE_INSTRUCTION),
            "loss_on_prompt": data_args.loss_on_prompt,
        }
    else:  # TRL's own formats only: the rows' format is the prompt format
        info["prompt_format"] = {"name": ", ".join(dict.fromkeys(row_formats)),
                                 "loss_on_prompt": data_args.loss_on_prompt}
    if model_args.use_peft:
        info["lora"] = {
            "r": model_args.lora_r, "alpha": model_args.lora_alpha,
            "dropout": model_args.lora_dropout, "target_modules": model_args.lora_target_modules,
            "use_rslora": model_args.use_rslora, "use_dora": model_args.use_dora,
        }
    if finetuning == "qlora":
        info["quantization"] = {
            "bits": 4 if model_args.load_in_4bit else 8,
            "quant_type": model_args.bnb_4bit_quant_type,
            "double_quant": model_args.use_bnb_nested_quant,
        }
    return info


def _hyperparameters(training_args, model_args) -> dict[str, Any]:
    values = {
        "learning_rate": training_args.learning_rate,
        "lr_scheduler_type": training_args.lr_scheduler_type,
        "warmup_steps": training_args.warmup_steps,
        "num_train_epochs": training_args.num_train_epochs if training_args.max_steps <= 0 else None,
        "max_steps": training_args.max_steps if training_args.max_steps > 0 else None,
        "max_length": training_args.max_length,
        "packing": training_args.packing,
        "optim": training_args.optim,
        "weight_decay": training_args.weight_decay,
        "max_grad_norm": training_args.max_grad_norm,
        "dtype": model_args.dtype,
        "bf16": training_args.bf16,
        "seed": training_args.seed,
    }
    return {name: plain(value) for name, value in values.items() if value is not None}

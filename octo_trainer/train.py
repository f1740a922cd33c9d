"""Supervised fine-tuning from a recipe: ``octopack-sft --config recipe.yaml [--field value ...]``.

``--config`` also takes the name of a shipped recipe, e.g. ``--config magicoder/lora``.

A recipe (``octo_trainer/recipes/<method>/<variant>.yaml``) is one YAML mapping whose keys are
fields of TRL's ``SFTConfig`` and ``ModelConfig`` plus octopack's
:class:`~octo_trainer.data.DataArguments`; ``trl.TrlParser`` reads it, and command-line flags
override it, exactly like ``trl sft --config``. Unknown keys are an error.

:func:`run` loads and mixes the sources into prompt/completion rows with the shared prompt format
(so ``SFTTrainer`` masks the prompt unless ``loss_on_prompt: true``), builds the model
(LoRA/QLoRA through TRL's ``get_peft_config``/``get_quantization_config``), trains with
``SFTTrainer`` and writes into ``output_dir``: the model or adapter, the tokenizer,
``train_results.json``/``trainer_state.json``, the resolved recipe ``recipe.yaml``
(re-runnable with ``--config``) and the model card ``README.md`` (rendered by
:func:`hub_cards.render_model_card`); with ``merge_adapter: true`` also ``merged/`` (with its own
card).

Recipes on the Hub: ``--config hf://owner/repo[@revision]/path/recipe.yaml`` is downloaded
through :func:`hub_cards.pull_recipe` (``HF_ENDPOINT``/``HF_TOKEN`` apply) and parsed like a local
file; the card records the recipe URL pinned to the commit it came from.

``push_to_hub: true`` (with SFTConfig's ``hub_model_id``, ``hub_private_repo``, ``hub_revision``,
``hub_token``) publishes ``output_dir`` once training is done, in one commit, with *our* card:
``Trainer.save_model`` would push on its own after TRL's ``create_model_card`` rewrote
``README.md`` with its generic card, so :func:`run` saves without that push and uploads with
:func:`hub_cards.push_folder` after writing the card. Checkpoint pushes during training
(``hub_strategy``) stay transformers' own.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from hub_cards import hub_id_or_none, hub_license, is_recipe_url, pull_recipe, push_folder
from hub_cards import render_model_card
from octo_trainer.data import DataArguments, build_dataset
from octo_trainer.formats import get_format

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
RESOLVED_RECIPE = "recipe.yaml"
#: ``model_name_or_path`` value that stands for the project's tiny model (built and cached).
TINY_MODEL = "octopack-tiny"
MERGED_DIR = "merged"
MODEL_CARD = "README.md"
#: The instruction of the prompt example in model cards.
EXAMPLE_INSTRUCTION = "Write a Python function that returns the n-th Fibonacci number."
#: Never written into the resolved recipe: secrets, and deprecated aliases of other fields
#: (``gradient_checkpointing`` mirrors ``activation_checkpointing`` and warns when given).
_SKIPPED_FIELDS = frozenset(
    {"hub_token", "gradient_checkpointing", "gradient_checkpointing_kwargs"}
)


def make_parser():
    """The ``TrlParser`` over (DataArguments, SFTConfig, ModelConfig)."""
    from trl import ModelConfig, SFTConfig, TrlParser

    return TrlParser((DataArguments, SFTConfig, ModelConfig), prog="octopack-sft")


def recipe_path(name: str) -> Path:
    """A shipped recipe by name (``"magicoder/lora"``, ``.yaml`` optional), or ``name`` as a path.

    An existing file wins over a shipped recipe of the same name.
    """
    path = Path(name)
    if path.is_file():
        return path
    shipped = RECIPES_DIR / (name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    if shipped.is_file():
        return shipped
    available = ", ".join(list_recipes())
    raise FileNotFoundError(f"no recipe file {name!r} and no shipped recipe of that name: {available}")


def list_recipes() -> list[str]:
    """Names of the shipped recipes, e.g. ``["magicoder/full", ...]``."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in RECIPES_DIR.glob("*/*.yaml"))


def resolve_config(value: str) -> tuple[Path, str]:
    """The local file for a ``--config`` value, and the recipe's name for the model card.

    ``hf://...`` (or the Hub web URL of a file) is pulled with :func:`hub_cards.pull_recipe` and
    named by its URL pinned to the commit it came from; anything else goes through
    :func:`recipe_path` and keeps the name it was given.
    """
    if is_recipe_url(value):
        pulled = pull_recipe(value)
        return pulled.path, pulled.pinned_url
    return recipe_path(value), value


def resolve_config_arg(args: list[str]) -> str | None:
    """Replace the value after ``--config`` in ``args`` by a local file; return the recipe's name."""
    if "--config" not in args:
        return None
    index = args.index("--config") + 1
    if index >= len(args):
        return None
    path, source = resolve_config(args[index])
    args[index] = str(path)
    return source


def parse_args(argv: Sequence[str] | None = None):
    """Parse ``--config recipe`` plus overrides into (data, training, model) arguments.

    ``recipe`` is a YAML path, the name of a shipped recipe (see :func:`recipe_path`) or a Hub URL
    ``hf://owner/repo[@revision]/path.yaml`` (see :func:`resolve_config`).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    resolve_config_arg(args)
    return make_parser().parse_args_and_config(args=args, fail_with_unknown_args=True)


def configure_loss(data_args: DataArguments, training_args) -> None:
    """Set TRL's ``completion_only_loss`` from ``loss_on_prompt``; refuse a contradiction."""
    wanted = not data_args.loss_on_prompt
    current = training_args.completion_only_loss
    if current is not None and current != wanted:
        raise ValueError(
            f"completion_only_loss={training_args.completion_only_loss} contradicts "
            f"loss_on_prompt={data_args.loss_on_prompt}: set only loss_on_prompt"
        )
    training_args.completion_only_loss = wanted


def build_trainer(data_args: DataArguments, training_args, model_args, train_dataset=None):
    """An ``SFTTrainer`` for the parsed recipe (the dataset is built from it unless given)."""
    from trl import SFTTrainer, get_peft_config, get_quantization_config

    configure_loss(data_args, training_args)
    model_init_kwargs = {
        "revision": model_args.model_revision,
        "trust_remote_code": training_args.trust_remote_code,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
    }
    model_init_kwargs.update(training_args.model_init_kwargs or {})
    training_args.model_init_kwargs = model_init_kwargs
    if model_args.model_name_or_path == TINY_MODEL:
        from octo_trainer.tiny import build_tiny_model

        model_args.model_name_or_path = str(build_tiny_model())
    if train_dataset is None:
        train_dataset = build_dataset(data_args)
    trainer = SFTTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=train_dataset,
        peft_config=get_peft_config(model_args),
        quantization_config=get_quantization_config(model_args),
    )
    processed = trainer.train_dataset
    if hasattr(processed, "__len__") and len(processed) == 0:
        raise ValueError(
            "no training example is left after tokenization: with response-only loss, rows whose "
            f"response is truncated away are dropped; raise max_length ({training_args.max_length})"
        )
    return trainer


def run(data_args: DataArguments, training_args, model_args, recipe_source: str | None = None):
    """Train and save everything into ``training_args.output_dir``; return the trainer.

    ``recipe_source`` names the recipe in the model card (a shipped name, a path or a pinned
    ``hf://`` URL; :func:`main` passes what ``--config`` resolved to).
    """
    if data_args.merge_adapter and not model_args.use_peft:
        raise ValueError("merge_adapter needs a LoRA run (use_peft: true)")
    base_model = model_args.model_name_or_path  # as the recipe names it, before TINY_MODEL is built
    trainer = build_trainer(data_args, training_args, model_args)
    result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    output_dir = Path(training_args.output_dir)
    # Not Trainer.save_model's own push (args.push_to_hub): it would publish TRL's generic card.
    # `_internal_call=True` is how Trainer.push_to_hub saves; we publish once, below, with ours.
    trainer.save_model(str(output_dir), _internal_call=True)
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(str(output_dir))
        recipe = save_resolved_recipe(output_dir / RESOLVED_RECIPE, data_args, training_args, model_args)
        if data_args.merge_adapter:
            merge_adapter(output_dir, output_dir / MERGED_DIR, dtype=model_args.dtype or "auto")
        write_model_cards(trainer, result.metrics, data_args, training_args, model_args,
                          base_model=base_model, recipe_source=recipe_source,
                          recipe_text=recipe.read_text(encoding="utf-8"))
        if training_args.push_to_hub:
            push_outputs(trainer, training_args)
    return trainer


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


def push_outputs(trainer, training_args):
    """Publish ``output_dir`` (card included) to the Hub in one commit; return the ``CommitInfo``."""
    return push_folder(
        training_args.output_dir, hub_repo_id(trainer, training_args),
        revision=training_args.hub_revision, private=training_args.hub_private_repo,
        token=training_args.hub_token, commit_message="End of training (octopack-sft)",
    )


def finetuning_kind(model_args) -> str:
    """``"full"``, ``"lora"`` or ``"qlora"`` (LoRA on a 4/8-bit base)."""
    if not model_args.use_peft:
        return "full"
    return "qlora" if model_args.load_in_4bit or model_args.load_in_8bit else "lora"


def model_card_info(trainer, metrics: dict[str, Any], data_args: DataArguments, training_args,
                    model_args, *, base_model: str | None, recipe_source: str | None,
                    recipe_text: str | None, merged: bool = False) -> dict[str, Any]:
    """The plain mapping :func:`hub_cards.render_model_card` renders, for the adapter/model in
    ``output_dir`` or (``merged``) for the merged copy in ``output_dir/merged``."""
    repo_id = hub_repo_id(trainer, training_args)
    output_dir = Path(training_args.output_dir)
    fmt = get_format(data_args.prompt_format)
    finetuning = finetuning_kind(model_args)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    results = {"final_loss": losses[-1]} if losses else {}
    results.update({"global_step": trainer.state.global_step, **_plain(metrics)})
    info: dict[str, Any] = {
        "model_id": repo_id or str(output_dir),
        "model_name": (repo_id or output_dir.absolute().name).split("/")[-1],
        "finetuning": finetuning,
        "adapter": model_args.use_peft and not merged,
        "subfolder": MERGED_DIR if merged else None,
        "merged_subfolder": MERGED_DIR if data_args.merge_adapter and not merged else None,
        "base_model": base_model,
        "license": hub_license(base_model) if hub_id_or_none(base_model) else None,
        "tags": [data_args.prompt_format, "code"],
        "recipe": {"source": recipe_source, "yaml": recipe_text},
        "prompt_format": {
            "name": fmt.name,
            "template": fmt.split("{instruction}", "")[0],
            "example": fmt.prompt(EXAMPLE_INSTRUCTION),
            "loss_on_prompt": data_args.loss_on_prompt,
        },
        "datasets": [_plain(source) for source in data_args.datasets],
        "batch": {
            "per_device": training_args.per_device_train_batch_size,
            "gradient_accumulation": training_args.gradient_accumulation_steps,
            "devices": training_args.world_size,
        },
        "hyperparameters": _hyperparameters(training_args, model_args),
        "metrics": results,
    }
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
    return {name: _plain(value) for name, value in values.items() if value is not None}


def merge_adapter(adapter_dir: str | Path, merged_dir: str | Path, dtype: str = "auto") -> Path:
    """Merge the LoRA adapter in ``adapter_dir`` into its base and save model + tokenizer.

    The base is loaded unquantised in ``dtype`` (the recipe's ``dtype``), also after (Q)LoRA on
    a 4/8-bit base, as OctoCoder merged its adapter into a half-precision base.
    """
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    if not (Path(adapter_dir) / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter_dir} holds no LoRA adapter to merge (use_peft: false?)")
    model = AutoPeftModelForCausalLM.from_pretrained(str(adapter_dir), dtype=dtype)
    model = model.merge_and_unload()
    model.save_pretrained(str(merged_dir))
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(str(merged_dir))
    return Path(merged_dir)


def resolved_recipe(*configs: Any) -> dict[str, Any]:
    """One flat mapping of every field that differs from its dataclass default.

    It parses back with :func:`parse_args` (``--config``) to the same configuration. Secrets
    (``hub_token``) and deprecated aliases are left out.
    """
    recipe: dict[str, Any] = {}
    for config in configs:
        for f in dataclasses.fields(config):
            if not f.init or f.name in _SKIPPED_FIELDS:
                continue
            value = _plain(getattr(config, f.name))
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = dataclasses.MISSING
            if default is dataclasses.MISSING or value != _plain(default):
                recipe[f.name] = value
    return recipe


def save_resolved_recipe(path: Path, *configs: Any) -> Path:
    """Write :func:`resolved_recipe` as YAML with a header naming the library versions."""
    import yaml

    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("trl", "transformers", "peft", "torch")
    )
    header = f"# Resolved octopack SFT recipe (re-run with --config); {versions}\n"
    body = yaml.safe_dump(resolved_recipe(*configs), sort_keys=False, allow_unicode=True)
    path.write_text(header + body, encoding="utf-8")
    return path


def _plain(value: Any) -> Any:
    """Make ``value`` YAML-safe: dataclasses to dicts, enums to values, tuples to lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: resolve and parse the recipe, train, then close trackers and process group."""
    args = list(sys.argv[1:] if argv is None else argv)
    source = resolve_config_arg(args)
    trainer = run(*parse_args(args), recipe_source=source)
    # every rank gets here before the process group is torn down: without this barrier a gloo
    # worker thread can wait forever for the GIL at exit under DDP (pytorch/pytorch#56297)
    trainer.accelerator.wait_for_everyone()
    trainer.end()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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
``train_results.json``/``trainer_state.json`` and the resolved recipe ``recipe.yaml``
(re-runnable with ``--config``); with ``merge_adapter: true`` also ``merged/``.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from octo_trainer.data import DataArguments, build_dataset

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
RESOLVED_RECIPE = "recipe.yaml"
#: ``model_name_or_path`` value that stands for the project's tiny model (built and cached).
TINY_MODEL = "octopack-tiny"
MERGED_DIR = "merged"
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


def parse_args(argv: Sequence[str] | None = None):
    """Parse ``--config recipe`` plus overrides into (data, training, model) arguments.

    ``recipe`` is a YAML path or the name of a shipped recipe (see :func:`recipe_path`).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if "--config" in args:
        index = args.index("--config") + 1
        if index < len(args):
            args[index] = str(recipe_path(args[index]))
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


def run(data_args: DataArguments, training_args, model_args):
    """Train and save everything into ``training_args.output_dir``; return the trainer."""
    if data_args.merge_adapter and not model_args.use_peft:
        raise ValueError("merge_adapter needs a LoRA run (use_peft: true)")
    trainer = build_trainer(data_args, training_args, model_args)
    result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    output_dir = Path(training_args.output_dir)
    trainer.save_model(str(output_dir))
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(str(output_dir))
        save_resolved_recipe(output_dir / RESOLVED_RECIPE, data_args, training_args, model_args)
        if data_args.merge_adapter:
            merge_adapter(output_dir, output_dir / MERGED_DIR, dtype=model_args.dtype or "auto")
    return trainer


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
    """Console entry point: parse the recipe, train, then close trackers and process group."""
    trainer = run(*parse_args(argv))
    trainer.end()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

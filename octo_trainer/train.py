"""Supervised fine-tuning from a recipe: ``octopack sft --config recipe.yaml [--field value ...]``.

Shaped like TRL's own ``trl/scripts/sft.py``: :func:`make_parser` builds the ``TrlParser`` over
(:class:`~octo_trainer.data.DataArguments`, ``SFTConfig``, ``ModelConfig``) -- standalone, or
as the ``sft`` subcommand of a parent parser (``make_parser(subparsers)``) -- and a thin
:func:`main` trains on the parsed dataclasses. ``python -m octo_trainer.train`` (what
``accelerate launch -m`` runs) and the ``octopack sft`` console script go through :func:`cli`,
which prints a user error (:class:`~octo_trainer.errors.RecipeError`: unknown key, bad value,
missing column, unknown recipe) as one line and exits with status 2.

A recipe (``octo_trainer/recipes/<method>/<variant>.yaml``) is one YAML mapping whose keys are
fields of TRL's ``SFTConfig`` and ``ModelConfig`` plus octopack's ``DataArguments``; command-line
flags override it, exactly like ``trl sft --config``. ``--config`` also takes the name of a
shipped recipe (``magicoder/lora``) or a Hub URL (``hf://owner/repo[@revision]/path.yaml``);
see :mod:`octo_trainer.recipe_files`.

:func:`run` loads and mixes the sources into TRL's dataset formats
(:mod:`octo_trainer.row_formats`: instruction/response rows rendered with the shared prompt
format, so ``SFTTrainer`` masks the prompt unless ``loss_on_prompt: true``), builds the model
(LoRA/QLoRA through TRL's ``get_peft_config``/``get_quantization_config``), trains with
``SFTTrainer`` and writes into ``output_dir``: the model or adapter, the tokenizer,
``train_results.json``/``trainer_state.json``, the resolved recipe ``recipe.yaml``
(re-runnable with ``--config``) and the model card ``README.md``
(:mod:`octo_trainer.card_info`); with ``merge_adapter: true`` also ``merged/`` (with its own
card).

``push_to_hub: true`` (with SFTConfig's ``hub_model_id``, ``hub_private_repo``, ``hub_revision``,
``hub_token``) publishes ``output_dir`` once training is done, in one commit, with *our* card:
``Trainer.save_model`` would push on its own after TRL's ``create_model_card`` rewrote
``README.md`` with its generic card, so :func:`run` saves without that push and uploads with
:func:`hub_cards.push_folder` after writing the card. Checkpoint pushes during training
(``hub_strategy``) stay transformers' own.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hub_cards import RecipeNotFoundError, RecipeURLError, is_recipe_url, push_folder
from octo_trainer.card_info import MERGED_DIR, hub_repo_id, write_model_cards
from octo_trainer.data import DataArguments, prepare_sources
from octo_trainer.errors import RecipeError
from octo_trainer.recipe_files import RESOLVED_RECIPE, list_recipes, recipe_path, save_resolved_recipe

PROG = "octopack-sft"
#: ``model_name_or_path`` value that stands for the project's tiny model (built and cached).
TINY_MODEL = "octopack-tiny"
#: What ``octopack sft`` reports as one line, without a traceback.
USER_ERRORS = (RecipeError, RecipeNotFoundError, RecipeURLError)
EXAMPLES = """\
examples:
  octopack sft --config tiny-cpu/lora --datasets rows.jsonl --output_dir out/
  octopack sft --config tiny-cpu/lora --datasets rows.jsonl:instruction=question,response=answer
  octopack sft --config magicoder/qlora --model_name_or_path deepseek-ai/deepseek-coder-6.7b-base
  octopack sft --config hf://my-org/recipes@v1/magicoder/lora.yaml --output_dir out/

--datasets rows: prompt/completion, messages or text columns train as TRL's SFTTrainer trains
them; instruction/response(/context) columns are rendered with --prompt_format. Map other
columns with PATH:ROLE=COLUMN,... (roles instruction, response, context, or TRL's prompt,
completion, messages, text), or pass a JSON object of source fields.
"""


def make_parser(subparsers: argparse._SubParsersAction | None = None, prog: str | None = None):
    """The parser over (DataArguments, SFTConfig, ModelConfig), as TRL's ``sft.make_parser``.

    With ``subparsers`` (of any ``argparse`` parent) it is added there as the ``sft`` command,
    a :class:`~octo_trainer.recipe_parser.RecipeParser` whatever the parent's parser class; as
    TRL's own CLI does, run it on the arguments after the command name with
    ``parse_args_and_config`` (which reads ``--config``).
    """
    from trl import ModelConfig, SFTConfig

    from octo_trainer.recipe_parser import RecipeParser

    dataclass_types = (DataArguments, SFTConfig, ModelConfig)
    description = ("Supervised fine-tuning from a recipe: --config RECIPE (a YAML file, a shipped "
                   "recipe's name or hf://owner/repo[@revision]/path.yaml), every option below "
                   f"overriding it. Shipped recipes: {', '.join(list_recipes())}.")
    options = {"description": textwrap.fill(description, 79, break_on_hyphens=False),
               "epilog": EXAMPLES, "formatter_class": _HelpFormatter}
    if subparsers is not None:
        parent_class = subparsers._parser_class  # add_parser builds this class; ours is needed
        subparsers._parser_class = RecipeParser
        try:
            parser = subparsers.add_parser("sft", help="Supervised fine-tuning from a recipe",
                                           dataclass_types=dataclass_types, **options)
        finally:
            subparsers._parser_class = parent_class
    else:
        parser = RecipeParser(dataclass_types, prog=prog or PROG, **options)
    RecipeParser.use_source_specs(parser)
    return parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in ``--help`` (as HfArgumentParser) and the examples kept as written."""


def parse_args(argv: Sequence[str] | None = None):
    """(data, training, model) arguments from ``--config recipe`` plus overrides."""
    return make_parser().parse_args_and_config(argv)


def main(data_args: DataArguments, training_args, model_args, recipe_source: str | None = None):
    """Train and save one recipe, then close the trackers and the process group (TRL's shape)."""
    trainer = run(data_args, training_args, model_args, recipe_source=recipe_source)
    # every rank gets here before the process group is torn down: without this barrier a gloo
    # worker thread can wait forever for the GIL at exit under DDP (pytorch/pytorch#56297)
    trainer.accelerator.wait_for_everyone()
    trainer.end()
    return trainer


def cli(argv: Sequence[str] | None = None) -> int:
    """``octopack sft``: parse the recipe and the command line, train; a user error is one line
    on stderr and exit status 2.

    A ``--config`` naming no file and no shipped recipe fails before TRL is even imported.
    """
    _show_progress_notes()
    args = list(sys.argv[1:] if argv is None else argv)
    with user_errors(PROG):
        config = args[args.index("--config") + 1] if "--config" in args[:-1] else None
        if config is not None and not is_recipe_url(config):
            recipe_path(config)
        parser = make_parser()
        main(*parser.parse_args_and_config(args), recipe_source=parser.recipe_source)
    return 0


@contextmanager
def user_errors(prog: str) -> Iterator[None]:
    """Turn a :data:`USER_ERRORS` exception into ``prog: error: ...`` and ``SystemExit(2)``."""
    try:
        yield
    except USER_ERRORS as error:
        message = " ".join(str(error).split())
        sys.stderr.write(f"{prog}: error: {message}\n")
        raise SystemExit(2) from None


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _show_progress_notes() -> None:
    """Let octopack's own INFO lines (which format each source was read in) reach stderr."""
    logger = logging.getLogger("octo_trainer")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def configure_loss(data_args: DataArguments, training_args) -> None:
    """Set TRL's ``completion_only_loss`` from ``loss_on_prompt``; refuse a contradiction."""
    wanted = not data_args.loss_on_prompt
    current = training_args.completion_only_loss
    if current is not None and current != wanted:
        raise RecipeError(
            f"completion_only_loss={training_args.completion_only_loss} contradicts "
            f"loss_on_prompt={data_args.loss_on_prompt}: set only loss_on_prompt"
        )
    training_args.completion_only_loss = wanted


def build_training_set(data_args: DataArguments, training_args):
    """The mixed training rows of the recipe and, per source, the format it was read in."""
    return prepare_sources(data_args, text_field=training_args.dataset_text_field,
                           assistant_only_loss=training_args.assistant_only_loss)


def build_trainer(data_args: DataArguments, training_args, model_args, train_dataset=None):
    """An ``SFTTrainer`` for the parsed recipe (the dataset is built from it unless given).

    Everything a user can get wrong in the data (files, columns, formats) fails here, before
    the model is loaded.
    """
    from trl import SFTTrainer, get_peft_config, get_quantization_config

    configure_loss(data_args, training_args)
    if train_dataset is None:
        train_dataset, _ = build_training_set(data_args, training_args)
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
    trainer = SFTTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=train_dataset,
        peft_config=get_peft_config(model_args),
        quantization_config=get_quantization_config(model_args),
    )
    processed = trainer.train_dataset
    if hasattr(processed, "__len__") and len(processed) == 0:
        raise RecipeError(
            "no training example is left after tokenization: with response-only loss, rows whose "
            f"response is truncated away are dropped; raise max_length ({training_args.max_length})"
        )
    return trainer


def run(data_args: DataArguments, training_args, model_args, recipe_source: str | None = None):
    """Train and save everything into ``training_args.output_dir``; return the trainer.

    ``recipe_source`` names the recipe in the model card (a shipped name, a path or a pinned
    ``hf://`` URL; :func:`cli` passes what ``--config`` resolved to).
    """
    if data_args.merge_adapter and not model_args.use_peft:
        raise RecipeError("merge_adapter needs a LoRA run: set use_peft: true, or drop merge_adapter")
    base_model = model_args.model_name_or_path  # as the recipe names it, before TINY_MODEL is built
    configure_loss(data_args, training_args)
    train_dataset, row_formats = build_training_set(data_args, training_args)
    trainer = build_trainer(data_args, training_args, model_args, train_dataset)
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
                          recipe_text=recipe.read_text(encoding="utf-8"), row_formats=row_formats)
        if training_args.push_to_hub:
            push_outputs(trainer, training_args)
    return trainer


def push_outputs(trainer, training_args):
    """Publish ``output_dir`` (card included) to the Hub in one commit; return the ``CommitInfo``."""
    return push_folder(
        training_args.output_dir, hub_repo_id(trainer, training_args),
        revision=training_args.hub_revision, private=training_args.hub_private_repo,
        token=training_args.hub_token, commit_message="End of training (octopack sft)",
    )


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


if __name__ == "__main__":
    raise SystemExit(cli())

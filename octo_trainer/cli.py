"""``octopack``: one command for the whole suite, subcommands in TRL's ``make_parser(subparsers)``
pattern.

    octopack run [pipeline.yaml] [--set KEY=VALUE ...]   the main job, end to end (octo_trainer.pipeline)
    octopack mine REPO... -o OUT [--ft]                  CommitPack from git repositories
    octopack filter INPUT... -o OUT                      CommitPack -> CommitPackFT
    octopack generate oss-instruct|evol-instruct ...     instruction data from a teacher
    octopack sft --config RECIPE [--key value ...]       fine-tuning from a recipe
    octopack eval --model_name_or_path M ...             HumanEvalPack / HumanEval / MBPP
    octopack push dataset|metric|model|recipes|results   one commit each (hub_cards)
    octopack pull dataset|metric|model|recipe
    octopack commitpack|oss-instruct|evol-instruct|octocoder-mix ...   each data set's commands
    octopack octocoder-mix build|stats|push              OctoCoder's mix: filtered OASST + sampled CommitPackFT
    octopack analyze DATASET... -o OUT                   Magicoder's data figures, side by side
    octopack hub serve|card|push|pull                    the dev hub, cards
    octopack toolchains check|prepare, octopack score    the metric's own tools (humanevalpack-*)

Each command's parser is built only when it runs (``octopack --help`` imports nothing heavy); the
parsers are the packages' own, mounted with their ``make_parser(subparsers)``; ``sft`` and
``eval`` are ``TrlParser``s, run on the arguments after the command name as TRL's CLI does.

The older console scripts (``commitpack``, ``oss-instruct``, ``evol-instruct``, ``octopack-sft``,
``octopack-eval``, ``octopack-hub``, ``octopack-recipes``, ``octopack-smoke``) are thin aliases for
one release: they print a deprecation note naming the new command, then run as before.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PROG = "octopack"


@dataclass(frozen=True)
class Command:
    """``mount(subparsers)`` builds the real parser; ``run(parser, argv)`` runs it on the
    arguments after the command name and returns the exit status."""

    name: str
    help: str
    mount: Callable[[argparse._SubParsersAction], argparse.ArgumentParser]
    run: Callable[[argparse.ArgumentParser, list[str]], int]
    trl_parent: bool = False  #: mounted on a ``TrlParser``'s subparsers (``parser_class=TrlParser``)


# -- how each family of parsers runs ------------------------------------------------------------
def _argparse_runner(on_args: Callable[[argparse.Namespace], int]):
    def run(parser: argparse.ArgumentParser, argv: list[str]) -> int:
        return on_args(parser.parse_args(argv))
    return run


def _run_data_command(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """The ``commitpack_dataset`` commands: a ``CliError`` is one line and exit status 2."""
    from commitpack_dataset.cli.errors import run_cli

    return run_cli(parser, argv, PROG)


def _hub_command(args: argparse.Namespace) -> int:
    from hub_cards.cli import run

    args.prog = PROG
    return run(args)


def _log_to_stderr() -> None:
    logger = logging.getLogger("octo_trainer")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _run_sft(parser, argv: list[str]) -> int:
    from octo_trainer.train import main, user_errors

    _log_to_stderr()
    with user_errors(f"{PROG} sft"):
        data_args, training_args, model_args = parser.parse_args_and_config(argv)
        main(data_args, training_args, model_args, recipe_source=parser.recipe_source)
    return 0


def _run_eval(parser, argv: list[str]) -> int:
    from octo_trainer.evaluation.cli import run

    (args,) = parser.parse_args_and_config(argv)
    return run(args, prog=f"{PROG} eval")


def _passthrough(module: str, function: str = "main"):
    """A command whose own ``main(argv)`` parses its arguments (the metric's standalone tools)."""
    def mount(subparsers):
        return subparsers.add_parser("_", add_help=False)

    def run(parser, argv: list[str]) -> int:
        import importlib

        return getattr(importlib.import_module(module), function)(argv) or 0
    return mount, run


# -- the commands ---------------------------------------------------------------------------------
def _mounted(module: str, function: str = "make_parser"):
    """A mount that imports ``module`` only when the command runs and calls ``function(subparsers)``."""
    def mount(subparsers):
        import importlib

        return getattr(importlib.import_module(module), function)(subparsers)
    return mount


#: ``octopack generate KIND ...`` runs ``octopack KIND generate ...``.
GENERATE_KINDS = {"oss-instruct": "OSS-Instruct (Magicoder): problems and solutions from code seeds",
                  "evol-instruct": "Code Evol-Instruct (WizardCoder): seed instructions evolved round by round"}


def _generate(subparsers):
    parser = subparsers.add_parser("generate", help="instruction data from a teacher (resumable)",
                                   description="Instruction data from a teacher: 'octopack generate KIND ...' is "
                                               "'octopack KIND generate ...' (KIND --help lists its options).")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    for name, text in GENERATE_KINDS.items():
        kinds.add_parser(name, help=text, add_help=False)
    return parser


def _run_generate(parser, argv: list[str]) -> int:
    if not argv or argv[0] not in GENERATE_KINDS:
        parser.parse_args(argv[:1] or ["--help"])  # prints the kinds (and exits) or names the bad one
        return 2
    return main([argv[0], "generate", *argv[1:]])


def _run_pipeline(parser, argv: list[str]) -> int:
    from octo_trainer.pipeline.cli import run_command

    return run_command(parser.parse_args(argv))


_HUB = _argparse_runner(_hub_command)
COMMANDS: tuple[Command, ...] = (
    Command("run", "the main job: git history -> data -> fine-tuned, evaluated, published model",
            _mounted("octo_trainer.pipeline.cli", "add_run_parser"), _run_pipeline),
    Command("mine", "mine git repositories into CommitPack (per-language files)",
            _mounted("commitpack_dataset.cli", "add_mine_parser"), _run_data_command),
    Command("filter", "apply the CommitPackFT rules to CommitPack files",
            _mounted("commitpack_dataset.cli", "add_filter_parser"), _run_data_command),
    Command("generate", "instruction data from a teacher: oss-instruct, evol-instruct", _generate, _run_generate),
    Command("sft", "supervised fine-tuning from a recipe (TRL SFTTrainer, LoRA/QLoRA)",
            _mounted("octo_trainer.train"), _run_sft),
    Command("eval", "evaluate a model on HumanEvalPack, HumanEval and MBPP",
            _mounted("octo_trainer.evaluation.cli"), _run_eval, trl_parent=True),
    Command("push", "push a dataset, the metric Space, a model, recipes or results",
            _mounted("hub_cards.cli.push", "add_push_parser"), _HUB),
    Command("pull", "pull a dataset, the metric Space, a model or a recipe",
            _mounted("hub_cards.cli.pull", "add_pull_parser"), _HUB),
    Command("commitpack", "CommitPack: mine, filter, stats, push, scale",
            _mounted("commitpack_dataset.cli"), _run_data_command),
    Command("oss-instruct", "OSS-Instruct: generate, decontaminate, stats, push",
            _mounted("commitpack_dataset.cli.oss_instruct"), _run_data_command),
    Command("evol-instruct", "Evol-Instruct: generate, stats, push",
            _mounted("commitpack_dataset.cli.evol_instruct"), _run_data_command),
    Command("octocoder-mix", "the OctoCoder mix (filtered OASST + sampled CommitPackFT): build, stats, push",
            _mounted("commitpack_dataset.cli.octocoder_mix"), _run_data_command),
    Command("analyze", "data figures of instruction datasets (Magicoder's analysis)",
            _mounted("commitpack_dataset.cli.analyze"), _run_data_command),
    Command("hub", "the dev hub (serve), cards, push and pull", _mounted("hub_cards.cli"), _HUB),
    Command("toolchains", "check or prepare the HumanEvalPack toolchains (humanevalpack-toolchains)",
            *_passthrough("humanevalpack_metric.toolchains")),
    Command("score", "score generations with the metric (humanevalpack-eval)",
            *_passthrough("humanevalpack_metric.cli")),
    Command("smoke", "the one-minute check: the tiny model on 5 problems per language, scored",
            *_passthrough("octo_trainer.smoke")),
)
BY_NAME = {command.name: command for command in COMMANDS}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Instruction-tune code LLMs the OctoPack / Magicoder / WizardCoder way.",
        epilog=f"'{PROG} COMMAND --help' documents each command; '{PROG} run' runs the main job on embedded "
               "defaults.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        subparsers.add_parser(command.name, help=command.help, add_help=False)
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("octopack")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``octopack``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        _top_parser().print_help()
        return 0
    if argv[0] == "--version":
        print(f"{PROG} {_version()}")
        return 0
    command = BY_NAME.get(argv[0])
    if command is None:
        from octo_trainer.pipeline.schema import did_you_mean

        print(f"{PROG}: error: unknown command {argv[0]!r}{did_you_mean(argv[0], list(BY_NAME))} "
              f"(commands: {', '.join(BY_NAME)}; {PROG} --help)", file=sys.stderr)
        return 2
    holder = argparse.ArgumentParser(prog=PROG)
    if command.trl_parent:
        from trl import TrlParser

        subparsers = holder.add_subparsers(dest="command", parser_class=TrlParser)
    else:
        subparsers = holder.add_subparsers(dest="command")
    parser = command.mount(subparsers)
    return command.run(parser, argv[1:])


# -- the older console scripts, for one release ------------------------------------------------------
ALIASES = {
    "commitpack": ("commitpack_dataset.cli", "main", "octopack commitpack (or octopack mine / octopack filter)"),
    "oss-instruct": ("commitpack_dataset.cli.oss_instruct", "main", "octopack oss-instruct"),
    "evol-instruct": ("commitpack_dataset.cli.evol_instruct", "main", "octopack evol-instruct"),
    "octopack-sft": ("octo_trainer.train", "cli", "octopack sft"),
    "octopack-eval": ("octo_trainer.evaluation.cli", "main", "octopack eval"),
    "octopack-hub": ("hub_cards.cli", "hub_main", "octopack hub (or octopack push / octopack pull)"),
    "octopack-recipes": ("hub_cards.cli", "main", "octopack push recipes / octopack pull recipe"),
    "octopack-smoke": ("octo_trainer.smoke", "main", "octopack smoke (the main job is octopack run)"),
}


def _alias(name: str) -> Callable[[], int]:
    module_name, function, replacement = ALIASES[name]

    def entry() -> int:
        import importlib

        print(f"note: '{name}' is deprecated and will be removed in the next release: use '{replacement}'",
              file=sys.stderr)
        return getattr(importlib.import_module(module_name), function)() or 0
    entry.__name__ = f"{name.replace('-', '_')}_alias"
    entry.__doc__ = f"The deprecated ``{name}`` console script: a note, then ``{module_name}.{function}()``."
    return entry


commitpack_alias = _alias("commitpack")
oss_instruct_alias = _alias("oss-instruct")
evol_instruct_alias = _alias("evol-instruct")
sft_alias = _alias("octopack-sft")
eval_alias = _alias("octopack-eval")
hub_alias = _alias("octopack-hub")
recipes_alias = _alias("octopack-recipes")
smoke_alias = _alias("octopack-smoke")


if __name__ == "__main__":
    sys.exit(main())

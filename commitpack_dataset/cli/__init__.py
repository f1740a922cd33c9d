"""``commitpack`` command line: mine, filter, stats, push, scale.

- ``commitpack mine REPO... -o OUT``: mine repositories with the CommitPack (or, with ``--ft``,
  CommitPackFT) builder; write ``OUT/data/<config>/data.<jsonl|parquet>`` per language (the Hub
  layout), ``OUT/drop_counts.json`` and ``OUT/card_facts.json`` (the dataset card's facts).
- ``commitpack filter INPUT... -o OUT``: run the CommitPackFT rules over CommitPack JSONL/Parquet
  files (or directories of them); same output layout, with the per-reason drop counts and the card
  facts (the mining's carried over when the inputs are a ``mine`` output).
- ``commitpack stats DROP_COUNTS.json... [--png chart.png]``: print the drop table and draw a bar chart.
- ``commitpack push INPUT... REPO_ID``: push the rows to the Hub, one config per language, with
  the dataset card of the inputs' ``card_facts.json`` (``card_facts``).
- ``commitpack scale REPO... -o OUT [--tasks N --workers N --executor local|slurm|ray] [--ft]
  [--png chart.png] [--push-to-hub REPO_ID]``: the same mining and rules as a datatrove pipeline
  (``commitpack_dataset.scale``), ``OUT/data/<config>/*.parquet``, resumable.

Modules: ``options`` (the mining and tokenizer options), ``files`` (per-language output, input
reading), ``card_facts`` (the card facts of an output, the card of a push), ``commands`` (mine,
filter, push), ``stats``, ``scale``, ``errors``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from commitpack_dataset.cli.card_facts import add_card_arguments
from commitpack_dataset.cli.commands import command_filter, command_mine, command_push
from commitpack_dataset.cli.errors import CliError
from commitpack_dataset.cli.files import FORMATS, LanguageFiles, read_records, write_by_language
from commitpack_dataset.cli.scale import add_scale_parser
from commitpack_dataset.cli.options import add_mining_arguments, add_tokenizer_arguments, mining_options
from commitpack_dataset.cli.stats import command_stats


def add_mine_parser(commands, name: str = "mine") -> argparse.ArgumentParser:
    """Register ``mine`` on a subparsers object (``octopack mine`` mounts it too)."""
    mine = commands.add_parser(name, help="mine git repositories into per-language files")
    mine.add_argument("repositories", nargs="+", help="local repository paths or clone URLs")
    mine.add_argument("-o", "--output", required=True, help="output directory (data/<lang>/data.<format>)")
    mine.add_argument("--format", choices=FORMATS, default="jsonl")
    mine.add_argument("--overwrite", action="store_true", help="replace an existing OUT/data directory")
    add_mining_arguments(mine)
    mine.add_argument("--cache-dir", help="datasets cache directory (default: a temporary one)")
    mine.add_argument("--num-proc", type=int, default=None, help="worker processes (one shard per repository)")
    mine.set_defaults(handler=command_mine)
    return mine


def add_filter_parser(commands, name: str = "filter") -> argparse.ArgumentParser:
    """Register ``filter`` on a subparsers object (``octopack filter`` mounts it too)."""
    filt = commands.add_parser(name, help="apply the CommitPackFT rules to CommitPack files")
    filt.add_argument("inputs", nargs="+", help="CommitPack .jsonl/.parquet files or directories")
    filt.add_argument("-o", "--output", required=True)
    filt.add_argument("--format", choices=FORMATS, default="jsonl")
    filt.add_argument("--overwrite", action="store_true", help="replace an existing OUT/data directory")
    add_tokenizer_arguments(filt)
    filt.set_defaults(handler=command_filter)
    return filt


def make_parser(subparsers=None, name: str = "commitpack") -> argparse.ArgumentParser:
    """The ``commitpack`` parser, or its commands as the ``name`` command of ``subparsers`` (TRL's
    ``make_parser(subparsers)`` pattern; ``octopack commitpack ...``). Handlers return the exit
    status; run them through :func:`run` for the one-line errors."""
    description = "Mine, filter, inspect and publish CommitPack data."
    if subparsers is None:
        parser = argparse.ArgumentParser(prog="commitpack", description=description)
        commands = parser.add_subparsers(dest="command", required=True)
    else:
        parser = subparsers.add_parser(name, help=description, description=description)
        commands = parser.add_subparsers(dest="commitpack_command", required=True)
    add_mine_parser(commands)
    add_filter_parser(commands)

    stats = commands.add_parser("stats", help="drop statistics as a table and a bar chart")
    stats.add_argument("drop_counts", nargs="+", help="drop_counts.json files or directories of them (summed)")
    stats.add_argument("--png", help="write a bar chart PNG here")
    stats.set_defaults(handler=command_stats)

    push = commands.add_parser("push", help="push CommitPack files to the Hub, one config per language, "
                               "with their dataset card")
    push.add_argument("inputs", nargs="+", help="CommitPack .jsonl/.parquet files or directories")
    push.add_argument("repo_id", help="namespace/name of the dataset repository")
    push.add_argument("--private", action="store_true")
    push.add_argument("--max-shard-size", default=None)
    push.add_argument("--cache-dir", help="datasets cache for the Arrow copy of the inputs (default: HF cache)")
    add_card_arguments(push)
    push.set_defaults(handler=command_push)

    add_scale_parser(commands, add_mining_arguments)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``commitpack`` argument parser."""
    return make_parser()


def run(args: argparse.Namespace, prog: str = "commitpack") -> int:
    """Run parsed arguments; a :class:`CliError` is one line on stderr and exit status 2."""
    try:
        return args.handler(args)
    except CliError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``commitpack`` console script; returns the exit status."""
    return run(build_parser().parse_args(argv))


__all__ = ["CliError", "LanguageFiles", "add_filter_parser", "add_mine_parser", "build_parser", "main",
           "make_parser", "run", "mining_options", "read_records", "write_by_language"]

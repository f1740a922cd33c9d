"""``commitpack scale``: the datatrove pipeline (``commitpack_dataset.scale``) from the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Sequence

from commitpack_dataset.cli.errors import CliError


def executor_options(pairs: Sequence[str]) -> Dict[str, Any]:
    """``KEY=VALUE`` strings -> executor keyword arguments (JSON values such as ``4`` or ``true``, else text)."""
    options: Dict[str, Any] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise CliError(f"--executor-option expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def scale_config(args: argparse.Namespace):
    """The ScaleConfig of the parsed arguments; invalid settings raise CliError."""
    from commitpack_dataset.builders import ALL_LANGUAGES_CONFIG, CommitPackConfig
    from commitpack_dataset.cli.commands import check_repositories, resolve_languages
    from commitpack_dataset.cli.options import mining_options
    from commitpack_dataset.scale import ScaleConfig, ScaleError

    check_repositories(args.repositories, args.skip_unreadable_repositories)
    commitpack = CommitPackConfig(name=ALL_LANGUAGES_CONFIG, repositories=tuple(args.repositories),
                                  languages=resolve_languages(args.languages), **mining_options(args))
    try:
        return ScaleConfig(commitpack, args.output, ft=args.ft, tasks=args.tasks, workers=args.workers,
                           partitions=args.partitions, executor=args.executor,
                           executor_options=executor_options(args.executor_option))
    except ScaleError as error:
        raise CliError(str(error)) from error


def command_scale(args: argparse.Namespace) -> int:
    """Run (or resume) the pipeline; print the drop table, draw the chart, push when asked."""
    from commitpack_dataset.cli.card_facts import card_of, write_scale_facts
    from commitpack_dataset.cli.files import write_drop_summary
    from commitpack_dataset.cli.stats import report_drops
    from commitpack_dataset.filters.tokens import describe_counter
    from commitpack_dataset.publish import parquet_configs, push_parquet_languages
    from commitpack_dataset.repositories import UnreadableRepository
    from commitpack_dataset.scale import ScaleError, run_pipeline

    config = scale_config(args)
    try:
        result = run_pipeline(config)
    except (ScaleError, UnreadableRepository) as error:
        raise CliError(str(error)) from error
    if not result.complete:
        print(f"tasks not finished yet {result.incomplete_tasks}: run the same command again when they are, "
              "to resume and report")
        return 0
    write_drop_summary(Path(args.output), result.rows_per_config, result.drop_counts, result.token_counter)
    print(f"kept {result.kept} commits in {len(result.rows_per_config)} languages -> {args.output}/data "
          f"({result.seconds:.1f} s)")
    report_drops(result.drop_counts, args.png)
    if result.token_counter:
        print(describe_counter(result.token_counter))
    if result.kept:
        write_scale_facts(config, result.drop_counts)
    if args.push_to_hub:
        if not result.kept:
            raise CliError("no rows to push (see the drop table above)")
        configs = parquet_configs(args.output)
        card = card_of(None, [args.output], args.push_to_hub, configs)
        pushed = push_parquet_languages(args.output, args.push_to_hub, private=args.private or None, card=card)
        print(f"pushed {result.kept} rows to {args.push_to_hub}: configs {', '.join(pushed)}")
    return 0


def add_scale_parser(commands, add_mining_arguments) -> None:
    """Register ``scale`` on the ``commitpack`` subparsers."""
    from commitpack_dataset.scale.config import EXECUTORS

    scale = commands.add_parser(
        "scale", help="mine, dedup and filter as a datatrove pipeline (local, Slurm, Ray) into Parquet per language",
        description="Three datatrove stages (index, shared commits, mine) writing OUT/data/<lang>/*.parquet; "
                    "run the same command again to resume (completed tasks are skipped).")
    scale.add_argument("repositories", nargs="+", help="local repository paths or clone URLs")
    scale.add_argument("-o", "--output", required=True, help="output directory: data/, logs/, index/, scale.json")
    add_mining_arguments(scale)
    scale.add_argument("--tasks", type=int, default=1, help="tasks of the index and mining stages")
    scale.add_argument("--workers", type=int, default=1, help="tasks running at once (-1: all)")
    scale.add_argument("--partitions", type=int, default=None, help="tasks of the dedup stage (default: --tasks)")
    scale.add_argument("--executor", choices=EXECUTORS, default="local")
    scale.add_argument("--executor-option", action="append", default=[], metavar="KEY=VALUE",
                       help="executor keyword argument, e.g. partition=cpu time=04:00:00 for slurm (repeatable)")
    scale.add_argument("--png", help="write the drop-reason bar chart here")
    scale.add_argument("--push-to-hub", metavar="REPO_ID",
                       help="push the Parquet folders, one config per language, with the dataset card")
    scale.add_argument("--private", action="store_true")
    scale.set_defaults(handler=command_scale)

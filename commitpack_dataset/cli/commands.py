"""The ``mine``, ``filter`` and ``push`` subcommands (``stats`` in ``stats.py``, ``scale`` in ``scale.py``)."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import tempfile
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

from commitpack_dataset.cli.card_facts import card_of, output_directory, write_builder_output, write_filtered_output
from commitpack_dataset.cli.errors import CliError, cli_error_in_chain
from commitpack_dataset.cli.files import input_files, prepare_output, read_records


def resolve_languages(requested: Optional[Sequence[str]]) -> Optional[tuple]:
    """Map display or config names to display names; unknown names raise with close matches."""
    if not requested:
        return None
    from commitpack_dataset.languages import all_config_names, language_extensions

    by_config = all_config_names()
    display = {name.lower(): name for name in language_extensions()}
    resolved = []
    for name in requested:
        match = by_config.get(name) or display.get(name.lower())
        if match is None:
            candidates = list(by_config) + list(language_extensions())
            close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.6)
            close += [c for c in difflib.get_close_matches(name.lower(), list(by_config), n=5) if c not in close]
            hint = f"; did you mean: {', '.join(close)}" if close else ""
            raise CliError(f"unknown language {name!r}{hint}")
        resolved.append(match)
    return tuple(dict.fromkeys(resolved))


def check_repositories(repositories: Sequence[str], skip_unreadable: bool = False) -> None:
    """Local repository paths must exist and be git repositories (URLs are checked when cloned; the
    builder checks the rest and names what it cannot read)."""
    from commitpack_dataset.mining import looks_like_url
    from commitpack_dataset.repositories import UnreadableRepository, resolve_location

    for location in repositories:
        if looks_like_url(location) or skip_unreadable:
            continue
        try:
            resolve_location(location)
        except UnreadableRepository as error:
            raise CliError(str(error)) from error


def command_mine(args: argparse.Namespace) -> int:
    """Mine repositories with the builder and write per-language files plus drop counts."""
    from commitpack_dataset.builders import ALL_LANGUAGES_CONFIG, CommitPack, CommitPackFT
    from commitpack_dataset.cli.options import mining_options
    from commitpack_dataset.repositories import UnreadableRepository

    check_repositories(args.repositories, args.skip_unreadable_repositories)
    prepare_output(args.output, args.overwrite)
    languages = resolve_languages(args.languages)
    builder_class = CommitPackFT if args.ft else CommitPack
    with contextlib.ExitStack() as stack:
        cache_dir = args.cache_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="commitpack-cache-"))
        kwargs = {"languages": languages} if languages else {}
        builder = builder_class(cache_dir=str(cache_dir), config_name=ALL_LANGUAGES_CONFIG,
                                repositories=tuple(args.repositories), **mining_options(args), **kwargs)
        try:
            builder.download_and_prepare(num_proc=args.num_proc if len(args.repositories) > 1 else None)
        except UnreadableRepository as error:
            raise CliError(str(error)) from None
        rows = write_builder_output(Path(args.output), builder, args.format)
        report = builder.statistics_report()
    print(f"kept {sum(rows.values())} commits in {len(rows)} languages -> {args.output}")
    print(report)
    return 0


def command_filter(args: argparse.Namespace) -> int:
    """Run the CommitPackFT rules over CommitPack files; write per-language files plus drop counts and
    card facts (carrying over the mining's when the inputs are a ``mine`` output)."""
    from commitpack_dataset.filters import commitpackft_pipeline, token_counter_info
    from commitpack_dataset.filters.tokens import describe_counter

    files = input_files(args.inputs)
    prepare_output(args.output, args.overwrite, files)
    faithful = not args.not_faithful
    pipeline = commitpackft_pipeline(faithful=faithful, tokenizer=args.tokenizer,
                                     min_tokens=args.min_tokens, max_tokens=args.max_tokens)
    options = {"tokenizer": args.tokenizer, "min_tokens": args.min_tokens, "max_tokens": args.max_tokens,
               "faithful": faithful}
    write_filtered_output(Path(args.output), (record for path in files for record in read_records(path)),
                          pipeline, args.format, mined=output_directory(args.inputs), options=options,
                          faithful=faithful)
    token_counter = token_counter_info(pipeline)
    print(pipeline.table())
    if token_counter:
        print(describe_counter(token_counter))
    return 0


def projected_records(files: List[str]) -> Iterator[dict]:
    """The CommitPack fields of every record of ``files`` (a generator for ``Dataset.from_generator``)."""
    from commitpack_dataset.construction import FIELDS

    for path in files:
        for row in read_records(Path(path)):
            yield {name: row[name] for name in FIELDS}


def command_push(args: argparse.Namespace) -> int:
    """Push CommitPack files to ``repo_id``, one config per language, with the dataset card of the
    card facts of the output directory they come from (or ``--facts``)."""
    import datasets

    from commitpack_dataset.builders import COMMITPACK_FEATURES
    from commitpack_dataset.cli.teacher import push_with_card
    from commitpack_dataset.publish import language_subsets

    files = [str(path) for path in input_files(args.inputs)]
    try:
        dataset = datasets.Dataset.from_generator(projected_records, features=COMMITPACK_FEATURES,
                                                  gen_kwargs={"files": files}, cache_dir=args.cache_dir)
    except Exception as error:  # datasets wraps generator errors in DatasetGenerationError
        cause = cli_error_in_chain(error)
        if cause is not None:
            raise cause from None
        if "corresponds to no data" in str(error):  # an empty split
            raise CliError("no records to push") from None
        raise
    configs = language_subsets(dataset)
    card = card_of(args.facts, args.inputs, args.repo_id, configs, args.revision)
    return push_with_card(args, configs, card, revision=args.revision, max_shard_size=args.max_shard_size,
                          commit_message=f"Upload {len(configs)} language configs")

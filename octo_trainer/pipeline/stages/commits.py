"""Stage 1: mine CommitPack from git repositories, then filter it to CommitPackFT.

``mine`` runs the :class:`commitpack_dataset.CommitPack` builder (its datasets cache in
``<run_dir>/cache/commitpack``) and writes ``data/<config>/data.jsonl`` per language (the layout
``commitpack mine`` writes, with its function), ``drop_counts.json`` and ``card_facts.json`` (the
dataset card's facts, :mod:`commitpack_dataset.cards`). ``filter`` runs the CommitPackFT rules over
those rows (as ``commitpack filter`` does, with its function) into the same layout; its card facts
count every rule from mining on. The fingerprint of ``mine`` includes the commit each repository is
at, so a new commit in a mined repository reruns both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import octopack_common

DATA = "data"


def own_checkout() -> Path:
    """The git work tree this octopack runs from (``mine.own_history``)."""
    package = Path(__file__).resolve().parents[3]
    try:
        top = octopack_common.run_git(package, "rev-parse", "--show-toplevel").stdout.strip()
    except (octopack_common.CommandFailed, OSError):
        raise FileNotFoundError(
            f"mine.own_history is true but octopack runs from {package}, which is not a git checkout "
            "(an installed wheel): set mine.own_history: false and name repositories in "
            "mine.repositories (or octopack run --repo PATH)") from None
    return Path(top)


def repositories(config) -> list[str]:
    """Every repository the run mines and seeds from, in priority order (own history first)."""
    found = [str(own_checkout())] if config.mine.own_history else []
    for location in config.mine.repositories:
        from commitpack_dataset.mining import looks_like_url

        found.append(location if looks_like_url(location) else str(Path(location).expanduser().resolve()))
    if not found:
        raise ValueError("nothing to mine: mine.own_history is false and mine.repositories is empty")
    return list(dict.fromkeys(found))


def repository_revisions(config) -> dict[str, str | None]:
    """``{repository: the commit its revision resolves to}`` (``None`` for URLs: cloned later)."""
    from commitpack_dataset.cards import resolved_revision

    return {location: resolved_revision(location, (config.mine.revision,)) for location in repositories(config)}


def mine_inputs(ctx) -> dict[str, Any]:
    from ..stage import section_inputs

    return {"mine": section_inputs(ctx.config.mine), "repositories": repository_revisions(ctx.config)}


def run_mine(ctx, out: Path) -> dict[str, Any]:
    from commitpack_dataset.builders import ALL_LANGUAGES_CONFIG, CommitPack
    from commitpack_dataset.cli.card_facts import write_builder_output

    section = ctx.config.mine
    options = dict(section.options)
    if section.languages:
        options["languages"] = tuple(section.languages)
    builder = CommitPack(config_name=ALL_LANGUAGES_CONFIG, cache_dir=str(ctx.cache_dir("commitpack")),
                         repositories=tuple(repositories(ctx.config)), revisions=(section.revision,),
                         license_policy=section.license_policy, **options)
    builder.download_and_prepare()
    rows = write_builder_output(out, builder, "jsonl")
    drops = dict(builder.drop_statistics())
    return {"rows": sum(rows.values()), "rows_per_config": rows, "dropped": sum(drops.values()),
            "drop_counts": drops, "repositories": len(builder.config.repositories)}


def read_rows(directory: Path):
    from commitpack_dataset.cli.files import input_files, read_records

    for path in input_files([str(directory / DATA)]) if (directory / DATA).is_dir() else []:
        yield from read_records(path)


def filter_inputs(ctx) -> dict[str, Any]:
    from ..stage import section_inputs

    return {"filter": section_inputs(ctx.config.filter)}


def run_filter(ctx, out: Path) -> dict[str, Any]:
    from commitpack_dataset.cli.card_facts import write_filtered_output
    from commitpack_dataset.filters import commitpackft_pipeline, token_counter_info

    section = ctx.config.filter
    mined = ctx.output("mine")
    pipeline = commitpackft_pipeline(faithful=section.faithful, tokenizer=section.tokenizer)
    rows = write_filtered_output(out, read_rows(mined), pipeline, "jsonl", mined=mined,
                                 options={"tokenizer": section.tokenizer, "faithful": section.faithful},
                                 faithful=section.faithful)
    drops = dict(pipeline.dropped)
    return {"rows": sum(rows.values()), "rows_per_config": rows, "dropped": sum(drops.values()),
            "drop_counts": drops, "token_counter": token_counter_info(pipeline)}

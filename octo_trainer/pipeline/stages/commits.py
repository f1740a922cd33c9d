"""Stage 1: mine CommitPack from git repositories, then filter it to CommitPackFT.

``mine`` runs the :class:`commitpack_dataset.CommitPack` builder (its datasets cache in
``<run_dir>/cache/commitpack``) and writes ``data/<config>/data.jsonl`` per language (the layout
``commitpack mine`` writes), ``drop_counts.json`` and ``card_facts.json`` (the dataset card's
facts, :mod:`commitpack_dataset.cards`). ``filter`` runs the CommitPackFT rules over those rows
(as ``commitpack filter`` does) into the same layout; its card facts count every rule from mining
on. The fingerprint of ``mine`` includes the commit each repository is at, so a new commit in a
mined repository reruns both.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import octopack_common

DATA = "data"
FACTS = "card_facts.json"
DROPS = "drop_counts.json"


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


def write_rows(out: Path, records) -> dict[str, int]:
    from commitpack_dataset.cli.files import write_by_language

    return write_by_language(out, records, "jsonl")


def run_mine(ctx, out: Path) -> dict[str, Any]:
    from commitpack_dataset.builders import ALL_LANGUAGES_CONFIG, CommitPack
    from commitpack_dataset.cards import builder_facts
    from commitpack_dataset.cli.files import write_drop_summary

    section = ctx.config.mine
    options = dict(section.options)
    if section.languages:
        options["languages"] = tuple(section.languages)
    builder = CommitPack(config_name=ALL_LANGUAGES_CONFIG, cache_dir=str(ctx.cache_dir("commitpack")),
                         repositories=tuple(repositories(ctx.config)), revisions=(section.revision,),
                         license_policy=section.license_policy, **options)
    builder.download_and_prepare()
    dataset = builder.as_dataset("train")
    rows = write_rows(out, iter(dataset))
    drops = dict(builder.drop_statistics())
    write_drop_summary(out, rows, drops)
    octopack_common.write_json_atomic(out / FACTS, builder_facts(builder, dataset, repo_id=""))
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
    from commitpack_dataset.cards import commitpack_facts
    from commitpack_dataset.cli.files import write_drop_summary
    from commitpack_dataset.filters import commitpackft_pipeline, token_counter_info
    from commitpack_dataset.languages import config_name

    section = ctx.config.filter
    mined = ctx.output("mine")
    pipeline = commitpackft_pipeline(faithful=section.faithful, tokenizer=section.tokenizer)
    kept: list[dict] = []

    def keep(records):
        for record in pipeline(records):
            kept.append({"lang": record["lang"], "license": record["license"], "repos": record["repos"]})
            yield record

    rows = write_rows(out, keep(read_rows(mined)))
    drops = dict(pipeline.dropped)
    counter = token_counter_info(pipeline)
    write_drop_summary(out, rows, drops, counter)
    mine_facts = json.loads((mined / FACTS).read_text(encoding="utf-8"))
    mine_drops = json.loads((mined / DROPS).read_text(encoding="utf-8"))["drop_counts"]
    per_repository = Counter(r["repos"].split(",")[0] for r in kept if r["repos"])
    languages = {config_name(r["lang"]): r["lang"] for r in kept}
    locations = repositories(ctx.config)
    facts = commitpack_facts(
        "commitpackft", "", rows_per_config=rows, drop_counts={**mine_drops, **drops},
        repositories=locations, revisions=(ctx.config.mine.revision,), languages=languages,
        row_licenses=[r["license"] for r in kept], rows_per_repository=per_repository,
        repository_licenses={loc: s.get("license") for loc, s in zip(locations, mine_facts["sources"])},
        options={**mine_facts["build"]["options"], "tokenizer": section.tokenizer, "faithful": section.faithful},
        faithful=section.faithful)
    octopack_common.write_json_atomic(out / FACTS, facts)
    return {"rows": sum(rows.values()), "rows_per_config": rows, "dropped": sum(drops.values()),
            "drop_counts": drops, "token_counter": counter}

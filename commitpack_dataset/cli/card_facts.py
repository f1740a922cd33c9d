"""The card facts a ``commitpack`` output directory carries, and the dataset card pushed from them.

``mine``, ``filter`` and ``scale`` write ``OUT/card_facts.json`` beside ``OUT/drop_counts.json``: the
``hub_cards.DatasetCardFacts`` of the build without its repository (sources at their revisions,
every rule with its drop count; ``commitpack_dataset.cards``). ``push`` and ``scale --push-to-hub``
render the dataset card from it (``hub_cards.cli.push.dataset_card_from_facts``, which checks the
rows per config against the data being pushed); ``octopack hub push dataset OUT`` reads the same
file. The pipeline's mine and filter stages (``octo_trainer.pipeline.stages.commits``) write their
outputs with the same functions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence

from octopack_common import write_json_atomic

from commitpack_dataset.cli.errors import CliError
from commitpack_dataset.cli.files import CARD_FACTS_FILE, DROP_COUNTS_FILE, write_by_language, write_drop_summary

#: How far above an input path ``push`` looks for the output directory (OUT/data/<config>/file -> OUT).
_LEVELS = 3


def write_builder_output(output: Path, builder, file_format: str) -> Dict[str, int]:
    """A prepared builder's train split as per-language files, with its drop counts and card facts;
    returns rows per config."""
    from commitpack_dataset.cards import builder_facts

    dataset = builder.as_dataset("train")
    rows = write_by_language(Path(output), dataset, file_format)
    write_drop_summary(Path(output), rows, builder.drop_statistics(), builder.token_counter())
    write_json_atomic(Path(output) / CARD_FACTS_FILE, builder_facts(builder, dataset, repo_id=""))
    return rows


def write_filtered_output(output: Path, records: Iterable[dict], pipeline, file_format: str, *,
                          mined: Optional[Path] = None, options: Optional[Mapping[str, Any]] = None,
                          faithful: bool = True) -> Dict[str, int]:
    """The records ``pipeline`` (the CommitPackFT rules) keeps as per-language files, with its drop
    counts and card facts; ``mined``: the output directory of the mining the records come from (its
    card facts and drop counts carry over). Returns rows per config."""
    from commitpack_dataset.cards import RowTally, filtered_facts
    from commitpack_dataset.filters import token_counter_info

    tally = RowTally()
    rows = write_by_language(Path(output), tally.keep(pipeline(records)), file_format)
    drops = dict(pipeline.dropped)
    write_drop_summary(Path(output), rows, drops, token_counter_info(pipeline))
    mined_facts = mined_drops = None
    if mined is not None and (mined / CARD_FACTS_FILE).is_file() and (mined / DROP_COUNTS_FILE).is_file():
        mined_facts = json.loads((mined / CARD_FACTS_FILE).read_text(encoding="utf-8"))
        mined_drops = json.loads((mined / DROP_COUNTS_FILE).read_text(encoding="utf-8"))["drop_counts"]
    facts = filtered_facts(tally, drops, mined=mined_facts, mined_drop_counts=mined_drops, options=options,
                           faithful=faithful)
    write_json_atomic(Path(output) / CARD_FACTS_FILE, facts)
    return rows


def write_scale_facts(config, drop_counts: Mapping[str, int]) -> Dict[str, Any]:
    """The card facts of a finished ``commitpack scale`` run (its Parquet files' rows counted), written
    to ``OUT/card_facts.json``; ``config``: the run's ``ScaleConfig``."""
    import pyarrow.parquet as pq

    from commitpack_dataset.cards import RowTally, config_facts
    from hub_cards.dataset_push import parquet_configs

    tally = RowTally()
    for paths in parquet_configs(config.output_dir).values():
        for path in paths:
            table = pq.read_table(path, columns=["lang", "license", "repos"])
            tally.add_columns(*(table.column(name).to_pylist() for name in ("lang", "license", "repos")))
    facts = config_facts("commitpackft" if config.ft else "commitpack", config.commitpack, tally, drop_counts,
                         builder="commitpack_dataset.scale (datatrove)")
    write_json_atomic(Path(config.output_dir) / CARD_FACTS_FILE, facts)
    return facts


def output_directory(paths: Sequence[str]) -> Optional[Path]:
    """The output directory (of mine, filter or scale) the inputs come from -- given as OUT, OUT/data,
    OUT/data/<config> or files under them: the nearest directory holding card facts, when every input
    has the same one. A CliError when they come from several."""
    found = set()
    for raw in paths:
        path = Path(raw).resolve()
        start = path if path.is_dir() else path.parent
        found.add(next((d for d in [start, *start.parents][:_LEVELS] if (d / CARD_FACTS_FILE).is_file()), None))
    if len(found - {None}) > 1:
        raise CliError(f"the inputs come from several builds ({', '.join(sorted(map(str, found - {None})))}): "
                       "push one output directory at a time, or pass --facts")
    return found.pop() if len(found) == 1 else None


def card_of(facts_path: Optional[Path], inputs: Sequence[str], repo_id: str, configs: Mapping[str, Any],
            revision: Optional[str] = None):
    """The dataset card for ``configs`` pushed to ``repo_id``: from ``facts_path`` (``--facts``) or the
    card facts of the inputs' output directory; a CliError naming the fix when there are none."""
    from hub_cards.cli.push import dataset_card_from_facts, read_facts

    if facts_path is None:
        directory = output_directory(inputs)
        if directory is None:
            raise CliError(f"no {CARD_FACTS_FILE} beside the inputs, so no dataset card (sources, every rule "
                           "with its drop count): push the output directory of 'commitpack mine', 'filter' or "
                           "'scale', or pass --facts FILE (hub_cards.DatasetCardFacts)")
        facts_path = directory / CARD_FACTS_FILE
    try:
        return dataset_card_from_facts(read_facts(facts_path), repo_id, dict(configs), "train", revision)
    except (OSError, ValueError) as error:  # ValueError: bad facts, or rows that disagree with the data
        raise CliError(f"{facts_path}: {error}") from None


def add_card_arguments(parser: argparse.ArgumentParser) -> None:
    """``--facts``, ``--revision``, ``--dry-run`` of a push with a card."""
    parser.add_argument("--facts", type=Path, help=f"dataset card facts JSON (default: the {CARD_FACTS_FILE} "
                        "of the output directory the inputs come from)")
    parser.add_argument("--revision", help="branch to push to (created from main if missing)")
    parser.add_argument("--dry-run", action="store_true", help="print the files and the card; send nothing")

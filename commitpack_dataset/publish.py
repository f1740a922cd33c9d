"""Publish CommitPack / CommitPackFT data to the Hub, one config per language, through ``hub_cards``.

Each language becomes its own config, named with the Hub rules (``languages.config_name``), with
its Parquet files under ``data/<config>/`` and a ``configs:`` entry in the README YAML; every push
is one commit made by ``hub_cards.push_dataset`` (the suite's one Hub write path):

- ``push_builder(builder, repo_id)``: a prepared builder, with its dataset card (sources at their
  revisions, every rule with its drop count; ``commitpack_dataset.cards``);
- ``push_languages(dataset, repo_id)``: a built ``datasets.Dataset``;
- ``push_parquet_languages(directory, repo_id)``: Parquet files already laid out as
  ``<directory>/data/<config>/*.parquet`` (the scale-out pipeline's output), uploaded as they are.

Pushing some languages again replaces those configs' files and keeps the other configs.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional

from commitpack_dataset.languages import config_name
from hub_cards.dataset_push import DEFAULT_MAX_SHARD_SIZE, parquet_configs, push_dataset

LANGUAGE_COLUMN = "lang"

__all__ = ["language_subsets", "parquet_configs", "push_builder", "push_languages",
           "push_parquet_languages"]


def language_subsets(dataset) -> Dict[str, object]:
    """``config name -> Dataset`` with the rows of each language (row order kept), languages in
    first-seen order. One pass over the ``lang`` column, then an index selection per language."""
    indices: Dict[str, List[int]] = {}
    for index, language in enumerate(dataset[LANGUAGE_COLUMN]):
        indices.setdefault(config_name(language), []).append(index)
    return {name: dataset.select(rows) for name, rows in indices.items()}


def push_languages(dataset, repo_id: str, split: str = "train", private: Optional[bool] = None,
                   token: Optional[str] = None, max_shard_size: Optional[str] = None, card=None,
                   revision: Optional[str] = None) -> List[str]:
    """Push every language of ``dataset`` to ``repo_id`` as its own config, in one commit; return the
    config names. ``card``: a ``DatasetCard`` for the README (default: the repository's own)."""
    configs = language_subsets(dataset)
    push_dataset(repo_id, configs, card=card, split=split, revision=revision, private=private, token=token,
                 max_shard_size=max_shard_size or DEFAULT_MAX_SHARD_SIZE,
                 commit_message=f"Upload {len(configs)} language configs")
    return list(configs)


def push_parquet_languages(directory: os.PathLike, repo_id: str, split: str = "train",
                           private: Optional[bool] = None, token: Optional[str] = None, card=None,
                           revision: Optional[str] = None) -> List[str]:
    """Upload ``directory/data/<config>/*.parquet`` to ``repo_id`` as one config per language, in one
    commit (files left in those configs' folders by an earlier push are removed; other configs are
    kept); return the config names."""
    configs = parquet_configs(directory)
    push_dataset(repo_id, configs, card=card, split=split, revision=revision, private=private, token=token,
                 commit_message=f"Upload {len(configs)} language configs")
    return list(configs)


def push_builder(builder, repo_id: str, *, split: str = "train", revision: Optional[str] = None,
                 private: Optional[bool] = None, token: Optional[str] = None,
                 max_shard_size: Optional[str] = None, decontamination: Optional[Mapping[str, Any]] = None,
                 dry_run: bool = False):
    """Push a prepared CommitPack/CommitPackFT builder's ``split`` with its dataset card, one config per
    language, in one commit. Returns the ``CommitInfo`` (with ``dry_run``: the text of what would be
    pushed -- files and the card -- and nothing is sent)."""
    from hub_cards import render_dataset_card

    from commitpack_dataset.cards import builder_facts

    dataset = builder.as_dataset(split)
    facts = builder_facts(builder, dataset, repo_id, revision=revision, decontamination=decontamination)
    card = render_dataset_card({**facts, "split": split})
    return push_dataset(repo_id, language_subsets(dataset), card=card, split=split, revision=revision,
                        private=private, token=token, max_shard_size=max_shard_size or DEFAULT_MAX_SHARD_SIZE,
                        commit_message=f"Upload {builder.dataset_name} ({len(dataset)} rows)", dry_run=dry_run)

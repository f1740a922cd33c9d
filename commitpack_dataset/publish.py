"""Publish a built CommitPack / CommitPackFT dataset to the Hub, one config per language.

Each language becomes its own config, named with the Hub rules (``languages.config_name``),
with its Parquet files under ``data/<config>/`` and a ``configs:`` entry in the README YAML
(written by ``datasets``). Dataset cards are left to ``hub_cards``.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from commitpack_dataset.languages import config_name

LANGUAGE_COLUMN = "lang"


def split_by_language(dataset) -> Dict[str, object]:
    """``config name -> Dataset`` with the rows of each language (row order kept), languages in
    first-seen order. One pass over the ``lang`` column, then an index selection per language."""
    indices: Dict[str, List[int]] = {}
    for index, language in enumerate(dataset[LANGUAGE_COLUMN]):
        indices.setdefault(config_name(language), []).append(index)
    return {name: dataset.select(rows) for name, rows in indices.items()}


def push_languages(dataset, repo_id: str, split: str = "train", private: Optional[bool] = None,
                   token: Optional[str] = None, max_shard_size: Optional[str] = None) -> List[str]:
    """Push every language of ``dataset`` to ``repo_id`` as its own config; return the config names.

    Uses ``Dataset.push_to_hub(repo_id, config_name=<config>, data_dir="data/<config>")``, so each
    config's Parquet shards live under ``data/<config>/`` and the README lists every config.
    """
    pushed = []
    for name, subset in split_by_language(dataset).items():
        kwargs = {"config_name": name, "data_dir": f"data/{name}", "split": split, "private": private,
                  "token": token, "commit_message": f"Upload {name} config"}
        if max_shard_size is not None:
            kwargs["max_shard_size"] = max_shard_size
        subset.push_to_hub(repo_id, **kwargs)
        pushed.append(name)
    return pushed

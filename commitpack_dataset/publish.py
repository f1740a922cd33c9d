"""Publish CommitPack / CommitPackFT data to the Hub, one config per language.

Each language becomes its own config, named with the Hub rules (``languages.config_name``),
with its Parquet files under ``data/<config>/`` and a ``configs:`` entry in the README YAML:

- ``push_languages(dataset, repo_id)``: a built ``datasets.Dataset`` (``datasets`` writes the
  Parquet files and the README entries);
- ``push_parquet_languages(directory, repo_id)``: Parquet files already laid out as
  ``<directory>/data/<config>/*.parquet`` (the scale-out pipeline's output), uploaded as they are in
  one commit, with the README ``configs:`` entries written here.

Dataset cards are left to ``hub_cards``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional

from commitpack_dataset.languages import config_name

LANGUAGE_COLUMN = "lang"
README = "README.md"


def config_data_dir(name: str) -> str:
    """The repository folder of config ``name``'s files."""
    return f"data/{name}"


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
        kwargs = {"config_name": name, "data_dir": config_data_dir(name), "split": split, "private": private,
                  "token": token, "commit_message": f"Upload {name} config"}
        if max_shard_size is not None:
            kwargs["max_shard_size"] = max_shard_size
        subset.push_to_hub(repo_id, **kwargs)
        pushed.append(name)
    return pushed


def parquet_configs(directory: os.PathLike) -> Dict[str, List[Path]]:
    """``config -> sorted Parquet files`` of ``directory/data/<config>/``; FileNotFoundError if none."""
    data = Path(directory) / "data"
    configs = {folder.name: sorted(folder.glob("*.parquet")) for folder in sorted(data.iterdir())
               if folder.is_dir()} if data.is_dir() else {}
    configs = {name: files for name, files in configs.items() if files}
    if not configs:
        raise FileNotFoundError(f"no Parquet files under {data}/<config>/: run the pipeline first")
    return configs


def _readme_with_configs(repo_id: str, names: List[str], split: str, token: Optional[str]) -> str:
    """The repository README with a ``configs:`` entry per name (other configs and the card text kept)."""
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData
    from huggingface_hub.errors import EntryNotFoundError

    try:
        card = DatasetCard.load(repo_id, repo_type="dataset", token=token)
    except EntryNotFoundError:
        card = DatasetCard(f"---\n{DatasetCardData()}\n---\n")
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    for name in names:
        configs[name] = {"data_files": [{"split": split, "path": f"{config_data_dir(name)}/*.parquet"}]}
    MetadataConfigs(configs).to_dataset_card_data(card.data)
    return str(card)


def push_parquet_languages(directory: os.PathLike, repo_id: str, split: str = "train",
                           private: Optional[bool] = None, token: Optional[str] = None) -> List[str]:
    """Upload ``directory/data/<config>/*.parquet`` to ``repo_id`` as one config per language; return
    the config names. One commit: the files, the README ``configs:`` entries, and the removal of
    files left in those configs' folders by an earlier push (other configs are kept)."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    configs = parquet_configs(directory)
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    uploads = {f"{config_data_dir(name)}/{path.name}": path for name, files in configs.items() for path in files}
    folders = tuple(f"{config_data_dir(name)}/" for name in configs)
    stale = [path for path in api.list_repo_files(repo_id, repo_type="dataset")
             if path.startswith(folders) and path not in uploads]
    readme = _readme_with_configs(repo_id, list(configs), split, token)
    operations = [CommitOperationDelete(path_in_repo=path) for path in stale]
    operations += [CommitOperationAdd(path_in_repo=target, path_or_fileobj=str(path))
                   for target, path in uploads.items()]
    operations.append(CommitOperationAdd(path_in_repo=README, path_or_fileobj=readme.encode("utf-8")))
    api.create_commit(repo_id, operations, repo_type="dataset",
                      commit_message=f"Upload {len(configs)} language configs")
    return list(configs)

"""Push a dataset as Parquet, one config per entry (e.g. per language), with its card, in one commit.

Layout (what ``load_dataset(repo, config)`` reads; datasets 5.x has no loading scripts)::

    README.md                                 the card; YAML ``configs:`` lists every config
    data/<config>/<split>-00000-of-00002.parquet
    data/<config>/<split>-00001-of-00002.parquet

:func:`push_dataset` takes ``{config: data}`` where data is a ``datasets.Dataset`` (written as
Parquet shards of at most ``max_shard_size``, split ``split``), a ``DatasetDict`` (one set of
shards per split) or a list of Parquet files already written (uploaded under their own names, as
split ``split``; e.g. the scale-out pipeline's ``data/<config>/*.parquet``,
:func:`parquet_configs`). In the same commit it removes files an earlier push left in those
configs' folders and writes the README: the given card (or the repository's own, or a minimal one)
with the ``configs`` entries of the pushed configs merged into the ones already there (other
configs are kept and keep loading), and ``dataset_info`` (features, rows, bytes) for the configs
given as ``datasets`` objects, so ``load_dataset`` checks split sizes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hub_cards.commit import CommitPlan, push_plan

README = "README.md"
DATA_DIR = "data"
DEFAULT_MAX_SHARD_SIZE = 500 * 1000 * 1000


def config_data_dir(config: str) -> str:
    """The repository folder of config ``config``'s files."""
    return f"{DATA_DIR}/{config}"


def config_data_files(config: str, splits: Sequence[str] = ("train",), named: bool = True) -> list[dict[str, str]]:
    """The ``data_files`` of a config's ``configs:`` entry: our shard names, or every Parquet file of a
    single split pushed under its own names (``named=False``)."""
    if named:
        return [{"split": split, "path": f"{config_data_dir(config)}/{split}-*.parquet"} for split in splits]
    (split,) = splits
    return [{"split": split, "path": f"{config_data_dir(config)}/*.parquet"}]


def parquet_configs(directory: str | os.PathLike) -> dict[str, list[Path]]:
    """``config -> sorted Parquet files`` of ``directory/data/<config>/``; FileNotFoundError if none."""
    data = Path(directory) / DATA_DIR
    configs = {folder.name: sorted(folder.glob("*.parquet")) for folder in sorted(data.iterdir())
               if folder.is_dir()} if data.is_dir() else {}
    configs = {name: files for name, files in configs.items() if files}
    if not configs:
        raise FileNotFoundError(f"no Parquet files under {data}/<config>/: build or mine the dataset first")
    return configs


def parse_size(size: int | str) -> int:
    """``500MB``, ``1GB``, ``800kB`` or a byte count as bytes."""
    if isinstance(size, int):
        return size
    text = size.strip().upper().replace("IB", "B")
    for suffix, factor in (("KB", 10**3), ("MB", 10**6), ("GB", 10**9), ("TB", 10**12), ("B", 1)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


def write_parquet_shards(dataset, folder: Path, split: str, max_shard_size: int | str) -> list[Path]:
    """Write ``dataset`` as ``<split>-NNNNN-of-MMMMM.parquet`` shards into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    nbytes = approx_nbytes(dataset)
    shards = max(1, min(len(dataset) or 1, int(nbytes / parse_size(max_shard_size)) + 1))
    paths = []
    for index in range(shards):
        path = folder / f"{split}-{index:05d}-of-{shards:05d}.parquet"
        dataset.shard(num_shards=shards, index=index, contiguous=True).to_parquet(str(path))
        paths.append(path)
    return paths


def remote_card_text(repo_id: str, *, revision: str | None = None, token: str | bool | None = None) -> str | None:
    """The README of a dataset repository (``None`` when the repository, branch or README is missing)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        path = hf_hub_download(repo_id, README, repo_type="dataset", revision=revision, token=token)
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError):
        if revision not in (None, "main"):
            return remote_card_text(repo_id, token=token)  # a new branch starts from main
        return None
    return Path(path).read_text(encoding="utf-8")


def merge_card(card, remote_text: str | None, configs: Mapping[str, list[dict[str, str]]],
               infos: Mapping[str, Any]):
    """``card`` (a ``DatasetCard``; ``None``: the remote card or a minimal one) with the ``configs``
    entries and ``dataset_info`` of the pushed configs merged into the remote ones."""
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCard, DatasetCardData

    remote = DatasetCard(remote_text) if remote_text else None
    if card is None:
        card = remote if remote is not None else DatasetCard(f"---\n{DatasetCardData().to_yaml()}\n---\n")
    entries = {entry["config_name"]: entry for entry in (remote.data.get("configs") if remote else None) or []}
    entries.update({entry["config_name"]: entry for entry in card.data.get("configs") or []})
    for name, data_files in configs.items():
        entries[name] = {**entries.get(name, {}), "config_name": name, "data_files": data_files}
    card.data["configs"] = [entries[name] for name in sorted(entries)]
    remote_infos = DatasetInfosDict.from_dataset_card_data(remote.data) if remote else DatasetInfosDict()
    kept = DatasetInfosDict({name: info for name, info in remote_infos.items() if name not in configs})
    card.data["dataset_info"] = None
    DatasetInfosDict({**kept, **infos}).to_dataset_card_data(card.data)
    return card


def dataset_plan(
    repo_id: str,
    configs: Mapping[str, Any],
    workdir: str | os.PathLike,
    *,
    card=None,
    split: str = "train",
    revision: str | None = None,
    private: bool | None = None,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    commit_message: str | None = None,
    remote_text: str | None = None,
) -> CommitPlan:
    """The commit of :func:`push_dataset`, with Parquet shards written under ``workdir``."""
    if not configs:
        raise ValueError(f"nothing to push to {repo_id}: no configs")
    files: dict[str, bytes | Path] = {}
    entries: dict[str, list[dict[str, str]]] = {}
    infos: dict[str, Any] = {}
    for name, data in configs.items():
        if not name or "/" in name:
            raise ValueError(f"config name {name!r} must be non-empty and without '/'")
        folder = Path(workdir) / name
        if isinstance(data, (list, tuple)):
            paths = [Path(path) for path in data]
            missing = [str(path) for path in paths if not path.is_file() or path.suffix != ".parquet"]
            if missing or not paths:
                raise FileNotFoundError(f"config {name!r}: not Parquet files: {missing or 'none given'}")
            files.update({f"{config_data_dir(name)}/{path.name}": path for path in paths})
            entries[name] = config_data_files(name, (split,), named=False)
            continue
        splits = dict(data) if hasattr(data, "keys") else {split: data}  # a DatasetDict or a Dataset
        for split_name, dataset in splits.items():
            for path in write_parquet_shards(dataset, folder, split_name, max_shard_size):
                files[f"{config_data_dir(name)}/{path.name}"] = path
        entries[name] = config_data_files(name, tuple(splits))
        infos[name] = _dataset_info(splits)
    readme = merge_card(card, remote_text, entries, infos)
    files[README] = str(readme).encode("utf-8")
    names = ", ".join(configs) if len(configs) <= 6 else f"{len(configs)} configs"
    return CommitPlan(repo_id, files, repo_type="dataset", revision=revision, private=private,
                      commit_message=commit_message or f"Upload dataset configs: {names}",
                      replace_folders=tuple(config_data_dir(name) for name in configs))


def push_dataset(
    repo_id: str,
    configs: Mapping[str, Any],
    *,
    card=None,
    split: str = "train",
    revision: str | None = None,
    private: bool | None = None,
    token: str | bool | None = None,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    commit_message: str | None = None,
    dry_run: bool = False,
):
    """Push ``configs`` (see module docstring) to the dataset repository ``repo_id`` in one commit;
    return the ``CommitInfo``. With ``dry_run`` nothing is sent (the remote card is not read either)
    and the return value is the :meth:`~hub_cards.commit.CommitPlan.preview` text: files, sizes, card."""
    with tempfile.TemporaryDirectory(prefix="octopack-push-") as workdir:
        remote_text = None if dry_run else remote_card_text(repo_id, revision=revision, token=token)
        plan = dataset_plan(repo_id, configs, workdir, card=card, split=split, revision=revision,
                            private=private, max_shard_size=max_shard_size, commit_message=commit_message,
                            remote_text=remote_text)
        if dry_run:
            plan.check()
            return plan.preview()
        return push_plan(plan, token=token)


def _dataset_info(splits: Mapping[str, Any]):
    from datasets import DatasetInfo, SplitDict, SplitInfo

    first = next(iter(splits.values()))
    split_dict = SplitDict()
    for name, dataset in splits.items():
        split_dict.add(SplitInfo(name=name, num_bytes=approx_nbytes(dataset), num_examples=len(dataset)))
    return DatasetInfo(features=first.features, splits=split_dict,
                       dataset_size=sum(approx_nbytes(dataset) for dataset in splits.values()))


def approx_nbytes(dataset) -> int:
    """The Arrow bytes of ``dataset``'s rows (a ``select`` keeps the whole table underneath: scaled)."""
    table_rows = dataset.data.num_rows
    return int(dataset.data.nbytes * len(dataset) / table_rows) if table_rows else 0

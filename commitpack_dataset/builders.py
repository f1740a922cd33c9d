"""``CommitPack`` and ``CommitPackFT`` builders that mine local (or cloned) git repositories.

Instantiate directly (datasets 5.x has no loading scripts)::

    builder = CommitPack(config_name="python", cache_dir=..., repositories=("path/or/url", ...))
    builder.download_and_prepare(num_proc=2)   # shards by repository; dedup by commit is global
    dataset = builder.as_dataset("train")
    print(builder.drop_statistics())           # reasons of every skipped commit, all shards

Or read the released files of one language (A.4 layout ``data/<config>/*.jsonl``, local or on the
Hub) as the same configs: ``CommitPackFT(config_name="python", source="published",
data_dir="hf://datasets/bigcode/commitpackft")`` (see ``released_files.py``).

The steps and their order are ``construction.py``'s. In the main process the builder opens every
repository (clone, readability, license, languages) and finds the commits several repositories hold
(``repositories.py``); each shard then mines its share (``shard.py``). A repository git cannot read
is an error naming it and the reason, unless ``skip_unreadable_repositories=True`` (then it is
listed in a warning and counted). Drop counts are written to ``<dataset dir>/drop_counts/*.json``
(kept with the prepared data); ``drop_statistics()`` sums them, ``token_counter()`` says how the
CommitPackFT rules counted tokens, and a table is logged after preparation. An empty result is an
empty split (with a warning and the drop table), not an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import warnings
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

import datasets

from commitpack_dataset.cache_keys import LocalSourcesKey
from commitpack_dataset.construction import FETCH_FIELDS, FIELDS, drop_table
from commitpack_dataset.filters.commitpack import opt_out_logins
from commitpack_dataset.filters.tokens import MAX_TOKENS, MIN_TOKENS, STARCODER_TOKENIZER, describe_counter
from commitpack_dataset.languages import config_name, language_extensions
from commitpack_dataset.mining import DEFAULT_MAX_BLOB_BYTES
from commitpack_dataset.repositories import LICENSE_POLICIES, UnreadableRepository, license_revision, repository_name

logger = logging.getLogger(__name__)

COMMITPACK_FEATURES = datasets.Features({name: datasets.Value("string") for name in FIELDS})
RELEASED_COMMITPACK_FEATURES = datasets.Features(
    {**COMMITPACK_FEATURES, "returncode": datasets.Value("int64"), "stderr": datasets.Value("string")})
SOURCES = ("mine", "published")
DROP_COUNTS_DIR = "drop_counts"
REPOSITORIES_FILE = "repositories.json"
ALL_LANGUAGES_CONFIG = "all"

__all__ = ["ALL_LANGUAGES_CONFIG", "COMMITPACK_FEATURES", "CommitPack", "CommitPackConfig", "CommitPackFT", "FIELDS",
           "UnreadableRepository", "drop_table", "language_configs", "license_revision", "repository_name"]


class EmptyDatasetWarning(UserWarning):
    """No commit survived the rules: the split is empty (the message holds the drop table)."""


@dataclasses.dataclass
class CommitPackConfig(datasets.BuilderConfig):
    """What to mine and how, or which released files to read.

    Attributes:
        source: ``mine`` (the repositories below) or ``published``: the released JSONL files
            ``<data_dir>/data/<config>/*.jsonl`` (A.4; ``data_dir`` local or ``hf://datasets/...``) of
            the selected languages, as they are (no rules re-applied, no drop counts); CommitPack's
            rows keep ``returncode`` and ``stderr``.
        repositories: local paths (work tree or bare) or clone URLs, in priority order (the first
            repository holding a commit keeps it); one shard list item each.
        languages: language display names to keep (``None`` keeps every language).
        license_policy: for repositories without a recognised license: ``drop-unknown`` (the default
            when ``faithful``: the released SQL keeps only allow-listed licenses) or ``keep-unknown``
            (the default otherwise; use it for your own repositories without a LICENSE file).
            Recognised licenses outside the paper's 12 always drop the repository.
        repository_licenses: optional ``(location, license)`` overrides, skipping detection.
        revisions / since / until: passed to ``git log``.
        faithful: reproduce the released scripts (``False``: our corrections, see ``filters``).
        strict: single modified file means the commit touches exactly one path.
        opt_out_logins: owners whose single-repository rows are dropped (A.2-13); the 44 logins of
            The Stack v1.2 by default, ``()`` for none.
        Our additions to the scripts, each a drop reason: ``max_blob_bytes`` (skip commits whose old or
            new blob is larger, ``blob_too_large``; ``0``: no limit), ``skip_binary`` (NUL bytes,
            ``binary``), ``drop_merge_commits`` (``merge_commit``; ``False`` reads a merge against its
            first parent) and ``skip_submodules_and_symlinks`` (``submodule``, ``symlink``).
        skip_unreadable_repositories: skip (and list in a warning) repositories git cannot read
            instead of raising ``UnreadableRepository``.
        clone_cache_dir: where URLs are mirror-cloned.
        tokenizer / min_tokens / max_tokens: CommitPackFT token-length rule; ``tokenizer`` is a Hub id,
            a local tokenizer directory, or ``estimate`` (byte-length estimate). A tokenizer that
            cannot be loaded falls back to the estimate with a warning, recorded in the drop
            statistics (``token_counter()``) and the dataset description.
    (``None`` kwargs are ignored by datasets, hence strings and ``0`` for "no value".)
    """

    source: str = "mine"
    repositories: Tuple[str, ...] = ()
    languages: Optional[Tuple[str, ...]] = None
    license_policy: Optional[str] = None
    repository_licenses: Tuple[Tuple[str, str], ...] = ()
    revisions: Tuple[str, ...] = ("HEAD",)
    since: Optional[str] = None
    until: Optional[str] = None
    faithful: bool = True
    strict: bool = False
    opt_out_logins: Tuple[str, ...] = opt_out_logins()
    max_blob_bytes: Optional[int] = DEFAULT_MAX_BLOB_BYTES
    skip_binary: bool = True
    drop_merge_commits: bool = True
    skip_submodules_and_symlinks: bool = True
    skip_unreadable_repositories: bool = False
    clone_cache_dir: Optional[str] = None
    tokenizer: Optional[str] = STARCODER_TOKENIZER
    min_tokens: int = MIN_TOKENS
    max_tokens: int = MAX_TOKENS

    def __post_init__(self):
        super().__post_init__()
        self.validate()

    def validate(self) -> None:
        """Check option values (kwargs overrides skip __post_init__); never changes a field's value."""
        if self.license_policy is not None and self.license_policy not in LICENSE_POLICIES:
            raise ValueError(f"license_policy must be one of {LICENSE_POLICIES}, got {self.license_policy!r}")
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if self.source == "published" and not self.data_dir:
            raise ValueError("source='published' needs data_dir (a local directory or hf://datasets/<repo>)")
        if isinstance(self.repositories, str):
            raise ValueError(f"repositories must be a list of paths or URLs, got the string {self.repositories!r}")

    def resolved_license_policy(self) -> str:
        """``license_policy``, or its default: ``drop-unknown`` when faithful, else ``keep-unknown``."""
        if self.license_policy is not None:
            return self.license_policy
        return "drop-unknown" if self.faithful else "keep-unknown"


def language_configs(config_class=CommitPackConfig) -> List[CommitPackConfig]:
    """One config per language of the map, named with the Hub rules (``c++``, ``common-lisp``),
    plus ``all`` (every language; not a released config). ``None`` config kwargs are ignored by
    datasets, so ``languages=None`` cannot widen a language config: use ``all`` instead."""
    configs = [config_class(name=config_name(language), languages=(language,)) for language in language_extensions()]
    return configs + [config_class(name=ALL_LANGUAGES_CONFIG, languages=None)]


class _MinedCommitsBuilder(LocalSourcesKey, datasets.GeneratorBasedBuilder):
    """Shared machinery: one ``train`` split whose gen_kwargs list the opened repositories."""

    BUILDER_CONFIG_CLASS = CommitPackConfig
    LOCAL_REPOSITORIES = ("repositories",)  # new commits, rewritten files: a new build
    LOCAL_SOURCES = ("data_dir", "tokenizer")
    DEFAULT_DATASET_NAME = "commitpack"
    DESCRIPTION = ""
    FT = False

    def __init__(self, *args, dataset_name: Optional[str] = None, **kwargs):
        super().__init__(*args, dataset_name=dataset_name or self.DEFAULT_DATASET_NAME, **kwargs)
        self.config.validate()
        self.drop_counts: Counter = Counter()

    def _info(self) -> datasets.DatasetInfo:
        features = COMMITPACK_FEATURES
        if self.config.source == "published" and not self.FT:
            features = RELEASED_COMMITPACK_FEATURES
        return datasets.DatasetInfo(description=self.DESCRIPTION, features=features)

    # ------------------------------------------------------------------ splits and examples
    def _split_generators(self, dl_manager):
        if self.config.source == "published":
            return [datasets.SplitGenerator(name=datasets.Split.TRAIN,
                                            gen_kwargs={"files": dl_manager.download(self._released_files())})]
        from commitpack_dataset.repositories import open_repositories, shared_commits

        locations = list(dict.fromkeys(self.config.repositories))
        opened = open_repositories(enumerate(locations), self.config)  # raises UnreadableRepository
        if opened.skipped:
            self._warn_skipped(opened.skipped)
        self._save_drop_counts(REPOSITORIES_FILE, {"repositories": locations, "drop_counts": dict(opened.drop_counts),
                                                   "skipped_repositories": opened.skipped})
        self.drop_counts.update(opened.drop_counts)
        shared = shared_commits(opened.commits)
        holders_of = {number: {} for number in opened.commits}
        for commit, holders in shared.items():
            for number in holders:
                holders_of[number][commit] = holders
        rows = [dict(repository.row(), shared=holders_of[repository.index]) for repository in opened.repositories]
        table = {repository.index: repository.row() for repository in opened.repositories}
        gen_kwargs = {"repositories": rows, "table": table}
        if self.FT:  # resolved once, here, so the warning of a fallback is seen and each worker does not retry
            from commitpack_dataset.filters.tokens import resolve_token_counter

            gen_kwargs["token_counter"] = resolve_token_counter(self.config.tokenizer)
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs=gen_kwargs)]

    def _released_files(self) -> List[str]:
        """The released JSONL files of the config's languages (every language when ``None``)."""
        from commitpack_dataset.released_files import released_files

        languages = self.config.languages
        configs = [None] if languages is None else [config_name(language) for language in languages]
        return sorted({path for name in configs for path in released_files(self.config.data_dir, name)})

    def _generate_examples(self, repositories: Optional[List[dict]] = None, table: Optional[dict] = None,
                           files: Optional[List[str]] = None, token_counter: Any = None):
        if files is not None:
            from commitpack_dataset.released_files import released_records

            optional = () if self.FT else FETCH_FIELDS
            yield from released_records(files, FIELDS, optional)
            return
        from commitpack_dataset.shard import RepositoryShard

        shard = RepositoryShard(self.config, self.FT, table or {}, token_counter)
        yield from shard.records(repositories)
        self.drop_counts.update(shard.drop_counts)
        locations = [row["location"] for row in repositories]
        shard_id = hashlib.sha1("\n".join(locations).encode("utf-8")).hexdigest()[:16]
        failures = [{"location": location, "reason": reason, "detail": detail}
                    for location, reason, detail in shard.failures]
        self._save_drop_counts(f"{shard_id}.json", {"repositories": locations, "drop_counts": dict(shard.drop_counts),
                                                    "failures": failures,
                                                    "token_counter": token_counter.info() if token_counter else None})
        logger.info("drops for %d repositories:\n%s", len(locations), drop_table(shard.drop_counts))

    # ------------------------------------------------------------------ drop statistics
    def _drop_counts_dir(self) -> str:
        return os.path.join(self._output_dir, DROP_COUNTS_DIR)

    def _save_drop_counts(self, name: str, payload: Dict[str, Any]) -> None:
        from octopack_common import write_json_atomic

        try:
            write_json_atomic(os.path.join(self._drop_counts_dir(), name), payload, indent=None)
        except OSError as error:  # e.g. a remote output filesystem: counts stay in memory only
            logger.warning("could not save drop counts: %s", error)

    def _drop_count_files(self) -> List[Dict[str, Any]]:
        directory = self._drop_counts_dir()
        if not os.path.isdir(directory):
            return []
        payloads = []
        for name in sorted(os.listdir(directory)):
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                payloads.append(json.load(handle))
        return payloads

    def drop_statistics(self) -> Counter:
        """Drop counts summed over every shard of the prepared dataset (repository drops included)."""
        total: Counter = Counter()
        for payload in self._drop_count_files():
            total.update(payload["drop_counts"])
        return total

    def token_counter(self) -> Optional[Dict[str, str]]:
        """How the CommitPackFT token rule counted (``requested``, ``used``, ``fallback``), else ``None``."""
        return next((payload["token_counter"] for payload in self._drop_count_files() if payload.get("token_counter")),
                    None)

    def skipped_repositories(self) -> List[Dict[str, str]]:
        """The unreadable repositories that were skipped: ``location``, ``reason``, ``detail``."""
        rows = []
        for payload in self._drop_count_files():
            rows += payload.get("skipped_repositories", []) + payload.get("failures", [])
        return rows

    def statistics_report(self) -> str:
        """The drop table, with how tokens were counted when the token rule ran."""
        note = describe_counter(self.token_counter())
        return drop_table(self.drop_statistics()) + (f"\n{note}" if note else "")

    @staticmethod
    def _warn_skipped(skipped: List[Dict[str, str]]) -> None:
        listed = "; ".join(f"{row['location']} ({row['reason']}: {row['detail']})" for row in skipped)
        message = f"skipped {len(skipped)} unreadable repositories: {listed}"
        logger.warning(message)
        warnings.warn(message, UserWarning, stacklevel=4)

    # ------------------------------------------------------------------ preparation and loading
    def download_and_prepare(self, *args, **kwargs):
        try:
            return super().download_and_prepare(*args, **kwargs)
        except datasets.exceptions.DatasetGenerationError as error:
            cause = error.__cause__
            while cause is not None and not isinstance(cause, UnreadableRepository):
                cause = cause.__cause__ or cause.__context__
            if cause is not None:
                raise cause from None
            raise

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)
        if self.config.source != "mine":
            return
        failures = [row for payload in self._drop_count_files() for row in payload.get("failures", [])]
        if failures and not self.config.skip_unreadable_repositories:  # the unfinished preparation is discarded
            first = failures[0]
            raise UnreadableRepository(first["location"], first["reason"], first["detail"])
        if failures:
            self._warn_skipped(failures)
        note = describe_counter(self.token_counter())
        if note:
            self.info.description = f"{self.DESCRIPTION} {note}.".strip()
        report = self.statistics_report()
        logger.info("%s/%s drop statistics:\n%s", self.dataset_name, self.config.name, report)
        if not self.info.splits["train"].num_examples:
            message = (f"no commit of {len(self.config.repositories)} repositories survived the rules: the train split "
                       f"of {self.dataset_name}/{self.config.name} is empty. Drops:\n{report}")
            logger.warning(message)
            warnings.warn(message, EmptyDatasetWarning, stacklevel=4)

    def as_dataset(self, split=None, in_memory: bool = False, **kwargs):
        """``datasets``' ``as_dataset``, except that an empty split is an empty ``Dataset`` (datasets
        would raise ``Instruction "train" corresponds to no data!``)."""
        splits = self.info.splits or {}
        names = list(splits) if split is None else [str(split)]
        empty = {name for name in names if name in splits and not splits[name].num_examples}
        if not empty:
            return super().as_dataset(split=split, in_memory=in_memory, **kwargs)
        logger.warning("%s/%s: split(s) %s empty; drops:\n%s", self.dataset_name, self.config.name, sorted(empty),
                       self.statistics_report())
        loaded = {name: self._empty_split(name) if name in empty else super().as_dataset(split=name, in_memory=in_memory)
                  for name in names}
        return loaded[str(split)] if split is not None else datasets.DatasetDict(loaded)

    def _empty_split(self, name: str) -> datasets.Dataset:
        features = self.info.features
        return datasets.Dataset.from_dict({column: [] for column in features}, features=features,
                                          info=self.info.copy(), split=datasets.Split(name))


class CommitPack(_MinedCommitsBuilder):
    """Single-modified-file commits with the CommitPack construction rules (reference A.2)."""

    BUILDER_CONFIGS = language_configs()
    DEFAULT_CONFIG_NAME = "python"
    DEFAULT_DATASET_NAME = "commitpack"
    DESCRIPTION = "CommitPack-style commits mined from git repositories."


class CommitPackFT(_MinedCommitsBuilder):
    """CommitPack commits that also pass every CommitPackFT rule (reference B.1, B.2)."""

    BUILDER_CONFIGS = language_configs()
    DEFAULT_CONFIG_NAME = "python"
    DEFAULT_DATASET_NAME = "commitpackft"
    DESCRIPTION = "CommitPackFT-style commits mined from git repositories."
    FT = True

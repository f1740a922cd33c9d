"""``CommitPack`` and ``CommitPackFT`` builders that mine local (or cloned) git repositories.

Instantiate directly (datasets 5.x has no loading scripts)::

    builder = CommitPack(config_name="python", cache_dir=..., repositories=("path/or/url", ...))
    builder.download_and_prepare(num_proc=2)   # shards by repository
    dataset = builder.as_dataset("train")
    print(builder.drop_statistics())           # reasons of every skipped commit, all shards

Or read the released files of one language (A.4 layout ``data/<config>/*.jsonl``, local or on the
Hub) as the same configs: ``CommitPackFT(config_name="python", source="published",
data_dir="hf://datasets/bigcode/commitpackft")`` (see ``published.py``).

Each shard writes its drop counts to ``<dataset dir>/drop_counts/<shard>.json`` (kept with the
prepared data, so they are readable from the cache later); ``drop_statistics()`` sums them and a
table is logged after preparation. ``builder.drop_counts`` holds the counts of the shards that ran
in this process only.

Per shard (a list of repositories): license detection per repository, one ``git log`` stream and
one ``cat-file`` pair per repository (``mining.CommitMiner``); before any blob is read, dedup by
commit SHA across the shard's repositories (``repos`` aggregated), the CommitPack construction
rules and the language selection of the config (like the paper's pre-fetch filters); then, for
CommitPackFT, the CommitPackFT rules on the full record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import subprocess
from collections import Counter
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import datasets

from commitpack_dataset.filters import commitpack_pipeline, commitpackft_pipeline
from commitpack_dataset.filters.commitpack import OptOutOwners
from commitpack_dataset.filters.tokens import STARCODER_TOKENIZER
from commitpack_dataset.languages import config_name, language_extensions, language_of
from commitpack_dataset.licenses import UNKNOWN, detect_repository_license, is_allowed
from commitpack_dataset.mining import (
    DEFAULT_MAX_BLOB_BYTES,
    CommitMiner,
    LoggedCommit,
    MiningError,
    RawEntry,
    resolve_git_dir,
)

logger = logging.getLogger(__name__)

FIELDS = ("commit", "old_file", "new_file", "old_contents", "new_contents", "subject", "message", "lang",
          "license", "repos")
COMMITPACK_FEATURES = datasets.Features({name: datasets.Value("string") for name in FIELDS})
LICENSE_POLICIES = ("keep-unknown", "drop-unknown")
SOURCES = ("mine", "published")
ESTIMATE_TOKENS = "estimate"
DROP_COUNTS_DIR = "drop_counts"
UNKNOWN_LANGUAGE = "unknown"


@dataclasses.dataclass
class CommitPackConfig(datasets.BuilderConfig):
    """What to mine and how, or which published files to read.

    Attributes:
        source: ``mine`` (the repositories below) or ``published``: read the released JSONL files
            ``<data_dir>/data/<config>/*.jsonl`` (A.4; ``data_dir`` local or ``hf://datasets/...``)
            of the selected languages, as they are (no rules re-applied, no drop counts).
        repositories: local paths (work tree or bare) or clone URLs; one shard list item each.
        languages: language display names to keep (``None`` keeps every language).
        license_policy: ``keep-unknown`` or ``drop-unknown`` for repositories without a
            recognised license. Recognised licenses outside the paper's 12 always drop the repo.
        repository_licenses: optional ``(location, license)`` overrides, skipping detection.
        revisions / since / until: passed to ``git log``.
        max_blob_bytes: skip commits whose old or new blob is larger (``None``: no limit).
        strict: single modified file means the commit touches exactly one path.
        faithful: reproduce the released scripts where a choice changes results.
        clone_cache_dir: where URLs are mirror-cloned.
        opt_out_logins: GitHub owners whose single-repository rows are dropped (A.2-13).
        tokenizer / min_tokens / max_tokens: CommitPackFT token-length rule. ``"estimate"`` (or
            an unloadable tokenizer) uses the byte-length estimate, flagged as
            ``token_length_estimated``. (``None`` kwargs are ignored by datasets, hence a string.)
    """

    source: str = "mine"
    repositories: Tuple[str, ...] = ()
    languages: Optional[Tuple[str, ...]] = None
    license_policy: str = "keep-unknown"
    repository_licenses: Tuple[Tuple[str, str], ...] = ()
    revisions: Tuple[str, ...] = ("HEAD",)
    since: Optional[str] = None
    until: Optional[str] = None
    max_blob_bytes: Optional[int] = DEFAULT_MAX_BLOB_BYTES
    strict: bool = False
    faithful: bool = True
    clone_cache_dir: Optional[str] = None
    opt_out_logins: Tuple[str, ...] = ()
    tokenizer: Optional[str] = STARCODER_TOKENIZER
    min_tokens: int = 50
    max_tokens: int = 768

    def __post_init__(self):
        super().__post_init__()
        self.validate()

    def validate(self) -> None:
        """Check option values and normalise sequences to tuples (kwargs overrides skip __post_init__)."""
        if self.license_policy not in LICENSE_POLICIES:
            raise ValueError(f"license_policy must be one of {LICENSE_POLICIES}, got {self.license_policy!r}")
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if self.source == "published" and not self.data_dir:
            raise ValueError("source='published' needs data_dir (a local directory or hf://datasets/<repo>)")
        self.repositories = tuple(self.repositories)
        if self.languages is not None:
            self.languages = tuple(self.languages)


def repository_name(location: str) -> str:
    """``owner/name`` for a URL or path: its last two path components, without ``.git``
    (a relative path such as ``.`` is resolved first)."""
    if "://" not in location and not re.match(r"^[\w.-]+@[\w.-]+:", location):
        location = os.path.abspath(location)
    cleaned = re.sub(r"\.git$", "", location.rstrip("/"))
    parts = [p for p in re.split(r"[/:]", cleaned) if p]
    return "/".join(parts[-2:])


ALL_LANGUAGES_CONFIG = "all"


def language_configs(config_class=CommitPackConfig) -> List[CommitPackConfig]:
    """One config per language of the map, named with the Hub rules (``c++``, ``common-lisp``),
    plus ``all`` (every language; not a published config). ``None`` config kwargs are ignored by
    datasets, so ``languages=None`` cannot widen a language config: use ``all`` instead."""
    configs = [config_class(name=config_name(language), languages=(language,)) for language in language_extensions()]
    return configs + [config_class(name=ALL_LANGUAGES_CONFIG, languages=None)]


class RepositoryShard:
    """Mines one shard (a list of repositories) into CommitPack records; counts every drop.

    ``metadata_pipeline`` (rules on message and path, e.g. the CommitPack construction rules),
    the language selection and the dedup by SHA run before the blobs are read;
    ``content_pipeline`` (e.g. the CommitPackFT rules) runs on the full record.
    """

    def __init__(self, config: CommitPackConfig, metadata_pipeline: Any, content_pipeline: Optional[Any] = None):
        self.config = config
        self.metadata_pipeline = metadata_pipeline
        self.content_pipeline = content_pipeline
        self.drop_counts: Counter = Counter()
        self._emitted: set = set()
        self.opt_out = OptOutOwners(config.opt_out_logins) if config.opt_out_logins else None

    def miner(self) -> CommitMiner:
        config = self.config
        return CommitMiner(revisions=config.revisions, since=config.since, until=config.until,
                           max_blob_bytes=config.max_blob_bytes, strict=config.strict,
                           clone_cache_dir=config.clone_cache_dir, prefilter=self._prefilter)

    def _prefilter(self, commit: LoggedCommit, entry: RawEntry) -> str:
        """Drop reason from the message and path alone, or ``""`` to read the blobs."""
        if commit.sha in self._emitted:
            return "duplicate_commit"
        self._emitted.add(commit.sha)
        record = {"commit": commit.sha, "old_file": entry.path, "new_file": entry.path,
                  "message": commit.message, "subject": commit.message.split("\n", 1)[0]}
        kept, reason = self.metadata_pipeline.process(record)
        if kept is None:
            return reason
        languages = self.config.languages
        if languages is not None and kept.get("lang") not in languages:
            return "language_not_selected"
        return ""

    def _license(self, location: str, git_dir) -> str:
        overrides = dict(self.config.repository_licenses)
        if location in overrides:
            return overrides[location]
        return detect_repository_license(git_dir, license_revision(self.config.revisions))

    def open_repositories(self, locations: Sequence[str]) -> List[Tuple[str, str, str]]:
        """``(location, git_dir, license)`` of the usable repositories, counting the rest."""
        opened = []
        for location in locations:
            try:
                git_dir = resolve_git_dir(location, self.config.clone_cache_dir)
            except (MiningError, OSError, subprocess.SubprocessError) as error:
                logger.warning("skipping repository %s: %s", location, error)
                self.drop_counts["repository_unavailable"] += 1
                continue
            license_value = self._license(location, git_dir)
            if license_value != UNKNOWN and not is_allowed(license_value):
                self.drop_counts["repository_license_not_allowed"] += 1
                continue
            if license_value == UNKNOWN and self.config.license_policy == "drop-unknown":
                self.drop_counts["repository_license_unknown"] += 1
                continue
            opened.append((location, str(git_dir), license_value))
        return opened

    def containing_repositories(self, opened: Sequence[Tuple[str, str, str]]) -> Dict[str, List[int]]:
        """Commit SHA -> indexes of the shard repositories that contain it (one rev-list each)."""
        containing: Dict[str, List[int]] = {}
        for index, (_, git_dir, _) in enumerate(opened):
            command = ["git", "--git-dir", git_dir, "rev-list", *self.config.revisions]
            command += [f"--since={self.config.since}"] if self.config.since else []
            command += [f"--until={self.config.until}"] if self.config.until else []
            result = subprocess.run(command + ["--"], capture_output=True, text=True)
            for sha in result.stdout.split():
                containing.setdefault(sha, []).append(index)
        return containing

    def records(self, locations: Sequence[str]) -> Iterator[Tuple[str, Dict[str, str]]]:
        """Yield ``(commit sha, record)`` for every kept commit of the shard."""
        opened = self.open_repositories(list(dict.fromkeys(locations)))
        containing = self.containing_repositories(opened)
        for index, (_, git_dir, _) in enumerate(opened):
            miner = self.miner()
            for mined in miner.mine(git_dir):
                holders = containing.get(mined.sha, [index])
                record = {
                    "commit": mined.sha, "old_file": mined.path, "new_file": mined.path,
                    "old_contents": mined.old_contents, "new_contents": mined.new_contents,
                    "subject": mined.subject, "message": mined.message,
                    "lang": language_of(mined.path) or UNKNOWN_LANGUAGE,
                    "license": next((opened[i][2] for i in holders if opened[i][2] != UNKNOWN), UNKNOWN),
                    "repos": ",".join(repository_name(opened[i][0]) for i in holders),
                }
                if self.opt_out is not None and not self.opt_out(record)[0]:
                    self.drop_counts[self.opt_out.reason] += 1
                    continue
                if self.content_pipeline is not None:
                    record, reason = self.content_pipeline.process(record)
                    if record is None:
                        self.drop_counts[reason] += 1
                        continue
                yield mined.sha, {name: record[name] for name in FIELDS}
            self.drop_counts.update(miner.skipped)


def license_revision(revisions: Sequence[str]) -> str:
    """The revision whose root license file counts: the tip of the last plain revision, else HEAD."""
    plain = [r for r in revisions if not r.startswith("-") and not r.startswith("^")]
    if not plain:
        return "HEAD"
    tip = plain[-1].split("..")[-1].lstrip(".")
    return tip or "HEAD"


def drop_table(counts: Counter) -> str:
    """A plain-text table of drop reasons, most frequent first."""
    if not counts:
        return "(no drops)"
    width = max(len(reason) for reason in counts)
    return "\n".join(f"{reason:<{width}}  {count:>10,}" for reason, count in counts.most_common())


class _MinedCommitsBuilder(datasets.GeneratorBasedBuilder):
    """Shared machinery: one ``train`` split whose gen_kwargs list the repositories."""

    BUILDER_CONFIG_CLASS = CommitPackConfig
    DEFAULT_DATASET_NAME = "commitpack"
    DESCRIPTION = ""

    def __init__(self, *args, dataset_name: Optional[str] = None, **kwargs):
        super().__init__(*args, dataset_name=dataset_name or self.DEFAULT_DATASET_NAME, **kwargs)
        self.config.validate()
        self.drop_counts: Counter = Counter()

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description=self.DESCRIPTION, features=COMMITPACK_FEATURES)

    def _split_generators(self, dl_manager):
        if self.config.source == "published":
            return [datasets.SplitGenerator(name=datasets.Split.TRAIN,
                                             gen_kwargs={"files": dl_manager.download(self._published_files())})]
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN,
                                        gen_kwargs={"repositories": list(self.config.repositories)})]

    def _published_files(self) -> List[str]:
        """The published JSONL files of the config's languages (every language when ``None``)."""
        from commitpack_dataset.published import published_files

        languages = self.config.languages
        configs = [None] if languages is None else [config_name(language) for language in languages]
        return sorted({path for name in configs for path in published_files(self.config.data_dir, name)})

    def _content_pipeline(self) -> Optional[Any]:
        """Rules that need the file contents (``None``: none)."""
        return None

    def _generate_examples(self, repositories: Optional[List[str]] = None, files: Optional[List[str]] = None):
        if files is not None:
            from commitpack_dataset.published import published_records

            yield from published_records(files, FIELDS)
            return
        metadata_pipeline = commitpack_pipeline(faithful=self.config.faithful)
        shard = RepositoryShard(self.config, metadata_pipeline, self._content_pipeline())
        for sha, record in shard.records(repositories):
            yield sha, record
        self.drop_counts.update(shard.drop_counts)
        self._save_shard_drop_counts(repositories, shard.drop_counts)
        logger.info("drops for %d repositories:\n%s", len(repositories), drop_table(shard.drop_counts))

    def _drop_counts_dir(self) -> str:
        return os.path.join(self._output_dir, DROP_COUNTS_DIR)

    def _save_shard_drop_counts(self, repositories: List[str], counts: Counter) -> None:
        shard_id = hashlib.sha1("\n".join(repositories).encode("utf-8")).hexdigest()[:16]
        try:
            os.makedirs(self._drop_counts_dir(), exist_ok=True)
            with open(os.path.join(self._drop_counts_dir(), f"{shard_id}.json"), "w", encoding="utf-8") as handle:
                json.dump({"repositories": repositories, "drop_counts": dict(counts)}, handle)
        except OSError as error:  # e.g. a remote output filesystem: counts stay in memory only
            logger.warning("could not save drop counts: %s", error)

    def drop_statistics(self) -> Counter:
        """Drop counts summed over every shard of the prepared dataset."""
        total: Counter = Counter()
        directory = self._drop_counts_dir()
        if not os.path.isdir(directory):
            return total
        for name in sorted(os.listdir(directory)):
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                total.update(json.load(handle)["drop_counts"])
        return total

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)
        logger.info("%s/%s drop statistics:\n%s", self.dataset_name, self.config.name,
                    drop_table(self.drop_statistics()))


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

    def _content_pipeline(self) -> Optional[Any]:
        config = self.config
        tokenizer = None if config.tokenizer in (None, "", ESTIMATE_TOKENS) else config.tokenizer
        return commitpackft_pipeline(faithful=config.faithful, tokenizer=tokenizer,
                                     min_tokens=config.min_tokens, max_tokens=config.max_tokens)

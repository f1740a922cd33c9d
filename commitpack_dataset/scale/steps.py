"""Stage 3 of 3: mine, filter and write, as datatrove steps that reuse the builder's parts.

The steps run in the builder's order, so records and drop reasons are the builder's:

    ReadCommits          git log of each repository of the task; single modified file (mining.py)
    FirstCopyOfCommit    duplicate_commit unless this repository is the commit's first holder; repos, license
    RulesFilter          the CommitPack rules (filters.commitpack_pipeline), before any blob is read
    LanguageSelection    the config's languages (when given)
    ReadContents         old and new blobs, batched through one cat-file pair per repository
    RulesFilter          opt-out owners (when given), then the CommitPackFT rules (when ft)
    LanguageParquetWriter  data/<config>/<rank>.parquet, the ten CommitPack columns

Each filter is a datatrove ``BaseFilter``: datatrove's stats count ``dropped_<reason>`` per step.

A record maps onto a ``Document`` as: ``id`` = the commit SHA (a CommitPack commit has exactly one
record, since it modifies one file, and the SHA is the dedup key; the path is a field), ``text`` =
``new_contents`` (empty until ``ReadContents``; datatrove's length stats then measure the code),
``metadata`` = the other CommitPack fields plus ``_git`` (repository number, git dir, raw entry,
parents), which the writer leaves out.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Callable, Dict, Iterable, Iterator, List, Optional

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.parquet import ParquetWriter
from datatrove.utils.typeshelper import StatHints

from commitpack_dataset.mining import CommitMiner, LoggedCommit, RawEntry, split_nul_stream, parse_log_stream
from commitpack_dataset.scale.dedup import RepositoryTable, shared_commits

GIT = "_git"
MAX_FILE_BYTES = 500 * 2**20  # the paper's shard size (A.2-16)


def miner_for(commitpack, miner_class=CommitMiner) -> CommitMiner:
    """A ``miner_class`` with the builder's mining options for ``commitpack`` and no prefilter."""
    from commitpack_dataset.builders import RepositoryShard

    configured = RepositoryShard(commitpack, metadata_pipeline=None).miner()
    options = {field.name: getattr(configured, field.name) for field in dataclasses.fields(configured) if field.init}
    return miner_class(**dict(options, prefilter=None, skipped=Counter()))


class _CandidateCommits(CommitMiner):
    """A CommitMiner whose ``mine()`` yields ``(commit, entry)`` of single-modified-file commits and reads
    no blob: the dedup and the rules run as datatrove steps first, then ``ReadContents`` reads the blobs."""

    def mine_stream(self, stdout, blobs) -> Iterator[tuple]:
        for commit in parse_log_stream(split_nul_stream(stdout)):
            entry, reason = self.single_modified_entry(commit)
            if entry is None:
                self.skipped[reason] += 1
                continue
            yield commit, entry


def commit_document(commit: LoggedCommit, entry: RawEntry, repository: int, git_dir: str) -> Document:
    """The Document of a candidate commit before its blobs are read."""
    metadata = {"old_file": entry.path, "new_file": entry.path, "message": commit.message,
                "subject": commit.message.split("\n", 1)[0],
                GIT: {"repository": repository, "git_dir": git_dir, "parents": list(commit.parents),
                      "author_date": commit.author_date, "entry": dataclasses.astuple(entry)}}
    return Document(text="", id=commit.sha, metadata=metadata)


def record_of(document: Document) -> Dict[str, object]:
    """The CommitPack record of a document (contents only once they are read)."""
    from commitpack_dataset.builders import FIELDS

    record = {"commit": document.id}
    record.update((name, value) for name, value in document.metadata.items() if name in FIELDS)
    if "old_contents" in document.metadata:
        record["new_contents"] = document.text
    return record


def update_document(document: Document, record: Dict[str, object]) -> None:
    """Copy a (possibly rewritten) record back into its document."""
    for name, value in record.items():
        if name == "new_contents":
            document.text = value
        elif name != "commit":
            document.metadata[name] = value


def _stat_drops(step: PipelineStep, counts: Counter) -> None:
    for reason, count in counts.items():
        step.stat_update(StatHints.dropped, value=count)
        step.stat_update(f"dropped_{reason}", value=count)


class ReadCommits(PipelineStep):
    """Reader: the candidate commits of this task's repositories (one ``git log`` stream each)."""

    type = "📖 - READER"
    name = "⛏️ git log"

    def __init__(self, commitpack, index_dir: str):
        super().__init__()
        self.commitpack = commitpack
        self.index_dir = index_dir

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        for row in RepositoryTable(self.index_dir).task_rows(rank):
            if not row["kept"]:
                continue
            miner = miner_for(self.commitpack, _CandidateCommits)
            for commit, entry in miner.mine(row["git_dir"]):
                self.stat_update("candidates")
                yield commit_document(commit, entry, row["index"], row["git_dir"])
            self.stat_update("repositories")
            _stat_drops(self, miner.skipped)


class FirstCopyOfCommit(BaseFilter):
    """Keeps a commit only in its first holder (lowest repository number); sets ``repos`` (every
    holder, in order) and ``license`` (the first holder's known license, else ``unknown``)."""

    name = "🫂 first copy of each commit"

    def __init__(self, index_dir: str):
        super().__init__()
        self.index_dir = index_dir
        self._shared: Dict[str, tuple] = {}
        self._repositories: Dict[int, dict] = {}

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        table = RepositoryTable(self.index_dir)
        self._shared = shared_commits(self.index_dir, rank)
        wanted = {row["index"] for row in table.task_rows(rank)}
        wanted.update(holder for holders in self._shared.values() for holder in holders)
        self._repositories = table.rows(wanted)
        yield from super().run(data, rank, world_size)

    def filter(self, document: Document):
        from commitpack_dataset.licenses import UNKNOWN

        repository = document.metadata[GIT]["repository"]
        holders = self._shared.get(document.id, (repository,))
        if holders[0] != repository:
            return False, "duplicate_commit"
        rows = [self._repositories[holder] for holder in holders]
        document.metadata["repos"] = ",".join(row["name"] for row in rows)
        document.metadata["license"] = next((row["license"] for row in rows if row["license"] != UNKNOWN), UNKNOWN)
        return True


class RulesFilter(BaseFilter):
    """Runs one of our rule ``Pipeline``s (Filters and Mappers, ``filters/``) as a datatrove filter.

    ``factory`` builds the Pipeline inside the task (a picklable callable, e.g. a ``functools.partial``
    of ``filters.commitpackft_pipeline``), so a tokenizer loads once per task, not in the launcher.
    """

    def __init__(self, name: str, factory: Callable[[], object]):
        self.name = name  # before BaseFilter.__init__, which names the stats after the step
        super().__init__()
        self.factory = factory
        self._pipeline = None

    def filter(self, document: Document):
        if self._pipeline is None:
            self._pipeline = self.factory()
        record, reason = self._pipeline.process(record_of(document))
        if record is None:
            return False, reason
        update_document(document, record)
        return True


class LanguageSelection(BaseFilter):
    """Keeps the configured languages (``lang`` display names); drops the rest as ``language_not_selected``."""

    name = "🌐 language selection"

    def __init__(self, languages: Iterable[str]):
        super().__init__()
        self.languages = frozenset(languages)

    def filter(self, document: Document):
        return True if document.metadata.get("lang") in self.languages else (False, "language_not_selected")


class ReadContents(PipelineStep):
    """Reads the old and new blobs of the commits that passed the rules (the mining module's batched
    reader: up to ``batch_size`` commits per round trip to one ``cat-file`` pair per repository); drops
    submodules, symlinks, missing, too large and binary blobs with their reasons."""

    type = "⛏️ - MINING"
    name = "📦 read blobs"

    def __init__(self, commitpack):
        super().__init__()
        self.commitpack = commitpack

    def _flush(self, miner: CommitMiner, blobs, batch: List[Document]) -> Iterator[Document]:
        if not batch:
            return
        before = Counter(miner.skipped)
        pairs = []
        for document in batch:
            git = document.metadata[GIT]
            commit = LoggedCommit(sha=document.id, parents=git["parents"], author_date=git["author_date"],
                                  message=document.metadata["message"])
            pairs.append((commit, RawEntry(*git["entry"])))
        mined = {item.sha: item for item in miner.read_batch(blobs, pairs)}
        _stat_drops(self, miner.skipped - before)
        for document in batch:
            item = mined.get(document.id)
            if item is not None:
                document.text = item.new_contents
                document.metadata["old_contents"] = item.old_contents
                self.stat_update(StatHints.forwarded)
                yield document
        batch.clear()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from commitpack_dataset.mining import BlobReader

        miner = miner_for(self.commitpack)
        blobs: Optional[BlobReader] = None
        git_dir, batch = None, []
        try:
            for document in data:
                self.stat_update(StatHints.total)
                git = document.metadata[GIT]
                reason = CommitMiner.mode_reason(RawEntry(*git["entry"]))
                if reason:
                    _stat_drops(self, Counter({reason: 1}))
                    continue
                if git["git_dir"] != git_dir:
                    with self.track_time("batch"):
                        yield from self._flush(miner, blobs, batch)
                    if blobs is not None:
                        blobs.close()
                    git_dir = git["git_dir"]
                    blobs = BlobReader(git_dir)
                batch.append(document)
                if len(batch) >= miner.batch_size:
                    with self.track_time("batch"):
                        yield from self._flush(miner, blobs, batch)
            yield from self._flush(miner, blobs, batch)
        finally:
            if blobs is not None:
                blobs.close()


def commitpack_row(writer, document: Document) -> dict:
    """Writer adapter: the ten CommitPack columns of a document."""
    from commitpack_dataset.builders import FIELDS

    record = record_of(document)
    return {name: record[name] for name in FIELDS}


class LanguageParquetWriter(ParquetWriter):
    """datatrove's ParquetWriter with one folder per language: ``data/<config>/<rank>.parquet`` (files
    over ``max_file_size`` roll over to ``001_<rank>.parquet``...), config names as on the Hub."""

    name = "📒 Parquet per language"

    def __init__(self, output_dir: str, max_file_size: int = MAX_FILE_BYTES):
        import pyarrow as pa

        from commitpack_dataset.builders import FIELDS

        super().__init__(output_dir, output_filename="data/${config}/${rank}.parquet", adapter=commitpack_row,
                         schema=pa.schema([(name, pa.string()) for name in FIELDS]), max_file_size=max_file_size)

    def _get_output_filename(self, document: Document, rank=0, **kwargs) -> str:
        from commitpack_dataset.languages import config_name

        kwargs.setdefault("config", config_name(str(document.metadata["lang"])))
        return super()._get_output_filename(document, rank, **kwargs)

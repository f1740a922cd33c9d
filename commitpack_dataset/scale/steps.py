"""Stage 3 of 3: mine, filter and write, as datatrove steps running the steps of ``construction.py``.

The steps run in ``construction.STEPS``' order, so records and drop reasons are the builder's:

    ReadCommits          git log of each repository of the task; single modified file (mining.py);
                         each candidate carries its repository number and the rows of its holders
    RecordStep           one per step of ``construction.BEFORE_BLOBS``: first copy (global dedup,
                         repos, license), CommitPack rules, language selection (when given)
    ReadContents         old and new blobs, batched through one cat-file pair per repository (a blob
                         missing here is read from another holder)
    RecordStep           one per step of ``construction.AFTER_BLOBS``: opt-out, CommitPackFT rules (ft)
    LanguageParquetWriter  data/<config>/<rank>.parquet, the ten CommitPack columns

Each filter is a datatrove ``BaseFilter``: datatrove's stats count ``dropped_<reason>`` per step.

A record maps onto a ``Document`` as: ``id`` = the commit SHA (a CommitPack commit has exactly one
record, since it modifies one file, and the SHA is the dedup key; the path is a field), ``text`` =
``new_contents`` (empty until ``ReadContents``; datatrove's length stats then measure the code),
``metadata`` = the other CommitPack fields, the record's private keys (``_repository``,
``_holders``) and ``_git`` (git dir, raw entry, parents), which the writer leaves out.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Dict, Iterator, List, Optional

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.parquet import ParquetWriter
from datatrove.utils.typeshelper import StatHints

from commitpack_dataset.construction import (
    FIELDS,
    HOLDERS,
    REPOSITORY,
    RecordSteps,
    candidate_record,
    miner_options,
    output_row,
)
from commitpack_dataset.mining import CommitMiner, LoggedCommit, RawEntry, parse_log_stream, split_nul_stream
from commitpack_dataset.scale.dedup import RepositoryTable, shared_commits
from hub_cards.dataset_push import config_data_dir

GIT = "_git"
MAX_FILE_BYTES = 500 * 2**20  # the paper's shard size (A.2-16)
STEP_NAMES = {"first_copy": "🫂 first copy of each commit", "commitpack_rules": "📏 CommitPack rules",
              "language_selection": "🌐 language selection", "opt_out": "🙅 opt-out",
              "commitpackft_rules": "📏 CommitPackFT rules"}


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


def commit_document(commit: LoggedCommit, entry: RawEntry, repository: int, holders: List[dict],
                    git_dir: str) -> Document:
    """The Document of a candidate commit before its blobs are read."""
    metadata = candidate_record(commit.sha, entry.path, commit.message, repository, holders)
    del metadata["commit"]
    metadata[GIT] = {"git_dir": git_dir, "parents": list(commit.parents), "author_date": commit.author_date,
                     "entry": dataclasses.astuple(entry)}
    return Document(text="", id=commit.sha, metadata=metadata)


def record_of(document: Document) -> Dict[str, object]:
    """The record of a document (contents only once they are read), private keys included."""
    record = {"commit": document.id}
    record.update((name, value) for name, value in document.metadata.items() if name in FIELDS or name in
                  (REPOSITORY, HOLDERS))
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
    """Reader: the candidate commits of this task's repositories (one ``git log`` stream each), each with
    the rows of the repositories holding it (the shared-commit stage's answer)."""

    type = "📖 - READER"
    name = "⛏️ git log"

    def __init__(self, commitpack, index_dir: str):
        super().__init__()
        self.commitpack = commitpack
        self.index_dir = index_dir

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        table = RepositoryTable(self.index_dir)
        shared = shared_commits(self.index_dir, rank)
        own = table.task_rows(rank)
        rows = table.rows({row["index"] for row in own} | {holder for holders in shared.values() for holder in holders})
        for row in own:
            for skipped in row.get("skipped", []):
                self.stat_update(f"skipped_{skipped['reason']}", unit="repository")
            if not row["kept"]:
                continue
            miner = _CandidateCommits(**miner_options(self.commitpack))
            for commit, entry in miner.mine(row["git_dir"]):
                self.stat_update("candidates")
                holders = [rows[number] for number in shared.get(commit.sha, (row["index"],))]
                yield commit_document(commit, entry, row["index"], holders, row["git_dir"])
            self.stat_update("repositories")
            _stat_drops(self, miner.skipped)
            if miner.failures and not self.commitpack.skip_unreadable_repositories:
                from commitpack_dataset.repositories import UnreadableRepository

                _, reason, detail = miner.failures[0]
                raise UnreadableRepository(row["location"], reason, detail)


class RecordStep(BaseFilter):
    """Runs one record-level step of ``construction.RecordSteps`` (built inside the task, so a tokenizer
    loads once per task, not in the launcher). With ``report_dir``, the step writes how it counted
    tokens to ``<report_dir>/<rank>.json`` when the task ends."""

    def __init__(self, step: str, commitpack, ft: bool = False, report_dir: Optional[str] = None):
        self.name = STEP_NAMES[step]  # before BaseFilter.__init__, which names the stats after the step
        super().__init__()
        self.step, self.commitpack, self.ft, self.report_dir = step, commitpack, ft, report_dir
        self._steps: Optional[RecordSteps] = None

    def filter(self, document: Document):
        if self._steps is None:
            self._steps = RecordSteps(self.commitpack, self.ft)
        record, reason = self._steps.run([self.step], record_of(document))
        if record is None:
            return False, reason
        update_document(document, record)
        return True

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        yield from super().run(data, rank, world_size)
        info = self._steps.token_counter_info() if self._steps is not None else None
        if self.report_dir and info:
            with get_datafolder(self.report_dir).open(f"{rank:05d}.json", "w") as handle:
                json.dump(info, handle)


class ReadContents(PipelineStep):
    """Reads the old and new blobs of the commits that passed the rules (the mining module's batched
    reader: up to ``batch_size`` commits per round trip to one ``cat-file`` pair per repository, blobs
    missing there read from another holder); drops submodules, symlinks, missing, too large and binary
    blobs with their reasons (each of our additions switchable, see ``mining.CommitMiner``)."""

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
                                  message=document.metadata["message"],
                                  extra={"alternates": [row["git_dir"] for row in document.metadata[HOLDERS][1:]]})
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
        from commitpack_dataset.blob_reader import BlobReader

        miner = CommitMiner(**miner_options(self.commitpack), alternates=lambda commit: commit.extra["alternates"])
        blobs: Optional[BlobReader] = None
        git_dir, batch = None, []
        try:
            for document in data:
                self.stat_update(StatHints.total)
                git = document.metadata[GIT]
                reason = miner.mode_reason(RawEntry(*git["entry"]))
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
            miner.close_alternates()
            if blobs is not None:
                blobs.close()


def commitpack_row(writer, document: Document) -> dict:
    """Writer adapter: the ten CommitPack columns of a document."""
    return output_row(record_of(document))


class LanguageParquetWriter(ParquetWriter):
    """datatrove's ParquetWriter with one folder per language: ``data/<config>/<rank>.parquet`` (files
    over ``max_file_size`` roll over to ``001_<rank>.parquet``...), config names as on the Hub."""

    name = "📒 Parquet per language"

    def __init__(self, output_dir: str, max_file_size: int = MAX_FILE_BYTES):
        import pyarrow as pa

        super().__init__(output_dir, output_filename=config_data_dir("${config}") + "/${rank}.parquet",
                         adapter=commitpack_row, schema=pa.schema([(name, pa.string()) for name in FIELDS]),
                         max_file_size=max_file_size)

    def _get_output_filename(self, document: Document, rank=0, **kwargs) -> str:
        from commitpack_dataset.languages import config_name

        kwargs.setdefault("config", config_name(str(document.metadata["lang"])))
        return super()._get_output_filename(document, rank, **kwargs)

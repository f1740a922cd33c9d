"""One builder shard: mine a share of the opened repositories into CommitPack records.

The builder opens every repository and finds the commits several of them hold in its main process
(``repositories.py``); each shard (a worker with ``num_proc``) then streams its repositories' commits
through the steps of ``construction.py`` in their order, with one ``git log`` and one ``cat-file``
pair per repository (``mining.CommitMiner``): ``first_copy``, the CommitPack rules and the language
selection run before any blob is read, the opt-out and the CommitPackFT rules after.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, Iterator, List, Sequence, Tuple

from commitpack_dataset.construction import (
    AFTER_BLOBS,
    BEFORE_BLOBS,
    HOLDERS,
    RecordSteps,
    candidate_record,
    miner_options,
    output_row,
)
from commitpack_dataset.mining import CommitMiner, LoggedCommit, RawEntry

RECORD = "record"


class RepositoryShard:
    """Mines repositories (rows of ``repositories.Repository`` plus ``shared``: commit -> holder numbers
    of the commits other repositories hold too) into records; counts every drop in ``drop_counts`` and
    every repository git could not read in ``failures``.

    ``table`` maps every opened repository's number to its row, so a commit held by repositories of
    other shards gets their names and licenses (and their blobs when one is missing here). ``tokenizer``
    overrides ``config.tokenizer`` (the builder passes the counter it resolved once).
    """

    def __init__(self, config: Any, ft: bool, table: Dict[int, Dict[str, Any]], tokenizer: Any = None):
        self.config = config
        self.table = table
        self.steps = RecordSteps(config, ft, tokenizer)
        self.drop_counts: Counter = Counter()
        self.failures: List[Tuple[str, str, str]] = []

    def miner(self) -> CommitMiner:
        return CommitMiner(**miner_options(self.config))

    def _prefilter(self, row: Dict[str, Any]):
        shared = row.get("shared", {})

        def prefilter(commit: LoggedCommit, entry: RawEntry) -> str:
            holders = [self.table[number] for number in shared.get(commit.sha, (row["index"],))]
            record = candidate_record(commit.sha, entry.path, commit.message, row["index"], holders)
            record, reason = self.steps.run(BEFORE_BLOBS, record)
            if record is not None:
                commit.extra[RECORD] = record
            return reason

        return prefilter

    @staticmethod
    def _alternates(commit: LoggedCommit) -> Sequence[str]:
        record = commit.extra.get(RECORD, {})
        return [holder["git_dir"] for holder in record.get(HOLDERS, ())[1:]]

    def records(self, rows: Sequence[Dict[str, Any]]) -> Iterator[Tuple[str, Dict[str, Any]]]:
        """Yield ``(commit sha, CommitPack row)`` for every kept commit of ``rows``' repositories."""
        for row in rows:
            miner = self.miner()
            miner.prefilter = self._prefilter(row)
            miner.alternates = self._alternates
            for mined in miner.mine(row["git_dir"]):
                record = mined.extra[RECORD]
                record.update(old_contents=mined.old_contents, new_contents=mined.new_contents)
                record, reason = self.steps.run(AFTER_BLOBS, record)
                if record is None:
                    self.drop_counts[reason] += 1
                    continue
                yield mined.sha, output_row(record)
            self.drop_counts.update(miner.skipped)
            self.failures.extend((row["location"], reason, message) for _, reason, message in miner.failures)

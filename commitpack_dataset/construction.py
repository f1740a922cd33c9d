"""How a CommitPack record is made: its fields, the order of the steps, where the files go.

This module imports neither ``datasets`` nor ``datatrove``: the builders (``builders.py``,
``shard.py``), the datatrove stages (``scale/``) and the CLI all use it, so they agree by
construction. The files of each language config go under ``data/<config>/`` (A.4), the Hub
repository's layout (``hub_cards.dataset_push.config_data_dir``). The steps, in order (reference
A.2, A.5, B):

==================  ==========================================================================
``repositories``    open each repository; license policy and allowlist, the 22 repository
                    languages (``repositories.open_repository``)
``shared_commits``  which repositories hold each commit: global dedup by SHA
                    (``repositories.group_holders``)
``candidates``      ``git log``: single modified file, root/merge commits (``mining.CommitMiner``)
``first_copy``      the first holder in the list keeps the commit; ``repos`` = every holder,
                    ``license`` = the first known one; holders with different licenses drop it
                    (the SQL's ``GROUP BY ... license`` + ``HAVING COUNT(*) = 1``)
``commitpack_rules``  rules on message and path (``filters.commitpack``)
``language_selection``  the config's languages
``blobs``           old and new contents (a blob missing here is read from another holder)
``opt_out``         single-repository rows of opted-out owners (A.2-13)
``commitpackft_rules``  B.1 then B.2 (CommitPackFT only)
==================  ==========================================================================

The record-level steps (``BEFORE_BLOBS`` and ``AFTER_BLOBS``) are ``RecordSteps`` callables taking
a record and returning ``(record, "")`` or ``(None, reason)``. While it is built, a record carries
two private keys: ``_repository`` (the number of the repository this copy comes from) and
``_holders`` (rows of every repository holding the commit, in list order).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from commitpack_dataset.licenses import UNKNOWN as UNKNOWN_LICENSE

FIELDS = ("commit", "old_file", "new_file", "old_contents", "new_contents", "subject", "message", "lang",
          "license", "repos")
FETCH_FIELDS = ("returncode", "stderr")  # the released CommitPack files only (A.1)
REPOSITORY, HOLDERS = "_repository", "_holders"

STEPS = ("repositories", "shared_commits", "candidates", "first_copy", "commitpack_rules", "language_selection",
         "blobs", "opt_out", "commitpackft_rules")
BEFORE_BLOBS = STEPS[STEPS.index("first_copy"):STEPS.index("blobs")]
AFTER_BLOBS = STEPS[STEPS.index("blobs") + 1:]

Outcome = Tuple[Optional[Dict[str, Any]], str]


def candidate_record(commit: str, path: str, message: str, repository: int, holders: Sequence[Dict[str, Any]]):
    """The record of a candidate commit before any blob is read."""
    return {"commit": commit, "old_file": path, "new_file": path, "message": message,
            "subject": message.split("\n", 1)[0], REPOSITORY: repository, HOLDERS: list(holders)}


def output_row(record: Dict[str, Any]) -> Dict[str, Any]:
    """The CommitPack columns of a finished record, in ``FIELDS`` order."""
    return {name: record[name] for name in FIELDS}


def merge_holders(holders: Sequence[Dict[str, Any]]) -> Tuple[Optional[Dict[str, str]], str]:
    """``({"repos", "license"}, "")`` for a commit held by ``holders`` (in list order), or
    ``(None, "repository_licenses_differ")`` when they carry different known licenses."""
    licenses = {holder["license"] for holder in holders if holder["license"] != UNKNOWN_LICENSE}
    if len(licenses) > 1:
        return None, "repository_licenses_differ"
    return {"repos": ",".join(holder["name"] for holder in holders),
            "license": next(iter(licenses), UNKNOWN_LICENSE)}, ""


def drop_table(counts: Dict[str, int]) -> str:
    """A plain-text table of drop reasons, most frequent first."""
    if not counts:
        return "(no drops)"
    width = max(len(reason) for reason in counts)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "\n".join(f"{reason:<{width}}  {count:>10,}" for reason, count in ordered)


def first_copy(record: Dict[str, Any]) -> Outcome:
    """Keep the copy of the first holder only, with ``repos`` and ``license`` from every holder."""
    holders = record[HOLDERS]
    if holders[0]["index"] != record[REPOSITORY]:
        return None, "duplicate_commit"
    merged, reason = merge_holders(holders)
    if merged is None:
        return None, reason
    record.update(merged)
    return record, ""


def miner_options(config: Any) -> Dict[str, Any]:
    """``mining.CommitMiner`` keyword arguments of a ``CommitPackConfig``."""
    return {"revisions": tuple(config.revisions), "since": config.since, "until": config.until,
            "max_blob_bytes": config.max_blob_bytes or None, "strict": config.strict,
            "skip_binary": config.skip_binary, "drop_merge_commits": config.drop_merge_commits,
            "skip_submodules_and_symlinks": config.skip_submodules_and_symlinks,
            "clone_cache_dir": config.clone_cache_dir}


class RecordSteps:
    """The record-level steps of one configuration, built when first used (a tokenizer loads in the
    process that counts tokens)."""

    def __init__(self, config: Any, ft: bool, tokenizer: Any = None):
        self.config, self.ft = config, ft
        self.tokenizer = config.tokenizer if tokenizer is None else tokenizer  # a choice, or a ResolvedCounter
        self.ft_pipeline = None
        self._steps: Dict[str, Optional[Callable]] = {}

    def _build(self, name: str) -> Optional[Callable]:
        from commitpack_dataset import filters
        from commitpack_dataset.filters.commitpack import OptOutOwners

        config = self.config
        if name == "first_copy":
            return first_copy
        if name == "commitpack_rules":
            return filters.commitpack_pipeline(faithful=config.faithful).process
        if name == "language_selection":
            if config.languages is None:
                return None
            languages = frozenset(config.languages)
            return lambda record: (record, "") if record.get("lang") in languages else (None, "language_not_selected")
        if name == "opt_out":
            if not config.opt_out_logins:
                return None
            return filters.Pipeline([OptOutOwners(config.opt_out_logins, faithful=config.faithful)]).process
        if name == "commitpackft_rules":
            if not self.ft:
                return None
            self.ft_pipeline = filters.commitpackft_pipeline(faithful=config.faithful, tokenizer=self.tokenizer,
                                                             min_tokens=config.min_tokens,
                                                             max_tokens=config.max_tokens)
            return self.ft_pipeline.process
        raise KeyError(f"not a record-level step: {name!r} (one of {BEFORE_BLOBS + AFTER_BLOBS})")

    def step(self, name: str) -> Optional[Callable]:
        """The callable of step ``name``, or ``None`` when the configuration does not run it."""
        if name not in self._steps:
            self._steps[name] = self._build(name)
        return self._steps[name]

    def enabled(self, names: Iterable[str]) -> List[str]:
        return [name for name in names if self.step(name) is not None]

    def run(self, names: Iterable[str], record: Dict[str, Any]) -> Outcome:
        """Run the steps ``names`` in order; stop at the first drop."""
        for name in names:
            step = self.step(name)
            if step is None:
                continue
            record, reason = step(record)
            if record is None:
                return None, reason
        return record, ""

    def token_counter_info(self) -> Optional[Dict[str, str]]:
        """How the CommitPackFT rules counted tokens (``None`` before they ran or without them)."""
        from commitpack_dataset.filters import token_counter_info

        return None if self.ft_pipeline is None else token_counter_info(self.ft_pipeline)

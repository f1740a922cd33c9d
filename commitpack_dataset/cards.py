"""What a CommitPack / CommitPackFT build tells its dataset card: the facts ``hub_cards`` renders.

:func:`builder_facts` reads a prepared builder (its config, ``drop_statistics()``, the rows),
:func:`config_facts` a ``CommitPackConfig`` and the rows counted in a :class:`RowTally` (the
scale-out pipeline), :func:`filtered_facts` the rows the CommitPackFT rules kept from a mined
output (``commitpack filter``), and :func:`commitpack_facts` takes the numbers as plain values.
All return a ``hub_cards.DatasetCardFacts`` dict:

* ``sources``: every repository with the commit its history was read at (``git rev-parse`` of the
  configured revision for local repositories; the URL for remote ones), its license and its rows;
* ``rules``: every rule of the run, in the order a commit meets them -- mining (merges, single
  modified file, blobs), the CommitPack construction rules (A.2), the language selection, then for
  CommitPackFT the CommitPackFT rules (B.1, B.2) -- each with its drop count (0 included) and the
  first line of its docstring; reasons counted that no rule names come last;
* ``license``: the Hub license ids of the rows' repositories; ``input_rows``: kept + dropped;
* ``build``: the builder, octopack's version and the options that change the data.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from typing import Any, Dict, Iterator, List, Optional

from commitpack_dataset.languages import config_name
from commitpack_dataset.repositories import license_revision, repository_name
from octopack_common import CommandFailed, run_git

#: Drops counted before or around the rules, in the order a commit meets them.
MINING_REASONS = (
    ("repository_unavailable", "repository", "the repository could not be opened or cloned"),
    ("repository_license_not_allowed", "repository", "the repository's license is not one of the 12 permissive ones"),
    ("repository_license_unknown", "repository", "no recognised license (license_policy: drop-unknown)"),
    ("git_log_failed", "repository", "git log failed on the repository"),
    ("merge_commit", "mining", "merge commits"),
    ("root_commit", "mining", "the first commit of a history (nothing to diff against)"),
    ("no_modified_file", "mining", "the commit modifies no file"),
    ("multiple_modified_files", "mining", "the commit modifies more than one file"),
    ("strict_not_single_path", "mining", "strict mode: the commit touches more than one path"),
    ("duplicate_commit", "mining", "the commit was already taken from another repository (dedup by SHA)"),
)
SELECTION_REASONS = (
    ("language_not_selected", "selection", "the file's language is not one of the config's languages"),
)
BLOB_REASONS = (
    ("submodule", "mining", "the modified entry is a submodule"),
    ("symlink", "mining", "the modified entry is a symlink"),
    ("missing_blob", "mining", "a blob of the commit could not be read"),
    ("blob_too_large", "mining", "the file before or after is larger than max_blob_bytes"),
    ("binary", "mining", "the file is binary (a NUL byte)"),
    ("repository_owner_opted_out", "CommitPack (A.2)", "the repository's owner opted out of The Stack"),
)
CONFIG_OPTIONS = ("languages", "license_policy", "revisions", "since", "until", "max_blob_bytes", "strict",
                  "faithful", "tokenizer", "min_tokens", "max_tokens")


def _first_line(step) -> str:
    doc = (type(step).__doc__ or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


def rule_steps(kind: str, faithful: bool = True) -> List[tuple]:
    """``(reason, stage, description)`` of every rule of a ``kind`` build, in order."""
    from commitpack_dataset.filters import Filter, commitpack_steps, commitpackft_steps

    rules = list(MINING_REASONS)
    rules += [(step.reason, "CommitPack (A.2)", _first_line(step))
              for step in commitpack_steps(faithful=faithful) if isinstance(step, Filter)]
    rules += list(SELECTION_REASONS) + list(BLOB_REASONS)
    if kind == "commitpackft":
        rules += [(step.reason, "CommitPackFT (B)", _first_line(step))
                  for step in commitpackft_steps(faithful=faithful, tokenizer=None) if isinstance(step, Filter)]
    seen, unique = set(), []
    for rule in rules:
        if rule[0] not in seen:
            seen.add(rule[0])
            unique.append(rule)
    return unique


def rule_facts(kind: str, drop_counts: Mapping[str, int], faithful: bool = True) -> List[Dict[str, Any]]:
    """Every rule with its drop count (see module docstring)."""
    rules = [{"name": reason, "stage": stage, "description": description, "dropped": int(drop_counts.get(reason, 0))}
             for reason, stage, description in rule_steps(kind, faithful)]
    named = {rule["name"] for rule in rules}
    rules += [{"name": reason, "stage": "other", "description": "", "dropped": int(count)}
              for reason, count in sorted(drop_counts.items()) if reason not in named]
    return rules


def resolved_revision(location: str, revisions: Sequence[str]) -> Optional[str]:
    """The commit the history of a local repository was read at (``repositories.license_revision``:
    the tip of the last plain revision), or None when it cannot be resolved."""
    if not os.path.exists(location):
        return None
    try:
        return run_git(location, "rev-parse", "--verify",
                       f"{license_revision(revisions)}^{{commit}}").stdout.strip() or None
    except (CommandFailed, OSError):
        return None


def hub_license(values: Iterable[str]):
    """The Hub ``license`` of rows with these repository licenses (one id, or a sorted list)."""
    ids = sorted({value or "unknown" for value in values}) or ["unknown"]
    return ids[0] if len(ids) == 1 else ids


class RowTally:
    """What a card reads from the rows it describes, one row at a time (``add``, or ``keep`` on a
    stream): rows and display language per config, the rows' licenses, and per repository (the first
    of ``repos``: the holder the commit was taken from) its rows and license."""

    def __init__(self) -> None:
        self.rows_per_config: Counter = Counter()
        self.languages: Dict[str, str] = {}
        self.licenses: Counter = Counter()
        self.rows_per_repository: Counter = Counter()
        self.repository_licenses: Dict[str, str] = {}

    def add(self, lang: str, license_value: str, repos: str) -> None:
        name = config_name(lang)
        self.languages.setdefault(name, lang)
        self.rows_per_config[name] += 1
        self.licenses[license_value] += 1
        if repos:
            first = repos.split(",")[0]
            self.rows_per_repository[first] += 1
            self.repository_licenses.setdefault(first, license_value)

    def add_columns(self, langs: Iterable[str], licenses: Iterable[str], repos: Iterable[str]) -> "RowTally":
        for row in zip(langs, licenses, repos):
            self.add(*row)
        return self

    def keep(self, records: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """Count each record of a stream and pass it on."""
        for record in records:
            self.add(record["lang"], record["license"], record["repos"])
            yield record


def commitpack_facts(
    kind: str,
    repo_id: str,
    *,
    rows_per_config: Mapping[str, int],
    drop_counts: Mapping[str, int],
    repositories: Sequence[str] = (),
    revisions: Sequence[str] = ("HEAD",),
    sources: Optional[Sequence[Mapping[str, Any]]] = None,
    languages: Optional[Mapping[str, str]] = None,
    row_licenses: Iterable[str] = (),
    rows_per_repository: Optional[Mapping[str, int]] = None,
    repository_licenses: Optional[Mapping[str, str]] = None,
    options: Optional[Mapping[str, Any]] = None,
    faithful: bool = True,
    decontamination: Optional[Mapping[str, Any]] = None,
    revision: Optional[str] = None,
    builder: Optional[str] = None,
) -> Dict[str, Any]:
    """The ``DatasetCardFacts`` of a CommitPack (``kind="commitpack"``) or CommitPackFT build.

    ``repositories`` (locations, read at ``revisions``) become the card's sources; ``sources``
    gives them already resolved instead (e.g. from the card facts of the mining step), their rows
    recounted from ``rows_per_repository``. ``repository_licenses`` is keyed by location."""
    if kind not in ("commitpack", "commitpackft"):
        raise ValueError(f"kind must be commitpack or commitpackft, got {kind!r}")
    languages = dict(languages or {})
    rows_per_repository = dict(rows_per_repository or {})
    if sources is not None:
        sources = [{**source, "rows": rows_per_repository.get(source["repository"], 0)} for source in sources]
    else:
        sources = []
        for location in repositories:
            name = repository_name(location)
            source: Dict[str, Any] = {"repository": name, "ref": revisions[-1] if revisions else "HEAD",
                                      "revision": resolved_revision(location, revisions),
                                      "rows": rows_per_repository.get(name, 0)}
            if "://" in location:
                source["url"] = location
            if repository_licenses and repository_licenses.get(location):
                source["license"] = repository_licenses[location]
            sources.append(source)
    kept = sum(rows_per_config.values())
    licenses = list(row_licenses) or [s.get("license") or "unknown" for s in sources]
    version = _version()
    return {
        "kind": kind,
        "repo_id": repo_id,
        "revision": revision,
        "license": hub_license(licenses),
        "configs": {name: {"rows": int(rows), "language": languages.get(name, name)}
                    for name, rows in rows_per_config.items()},
        "sources": sources,
        "input_rows": kept + sum(int(count) for count in drop_counts.values()),
        "rules": rule_facts(kind, drop_counts, faithful),
        "decontamination": dict(decontamination) if decontamination else None,
        "build": {"tool": f"octopack {version}", "builder": builder or f"commitpack_dataset.{_class(kind)}",
                  "options": dict(options or {})},
    }


def config_facts(kind: str, config, tally: RowTally, drop_counts: Mapping[str, int], *, repo_id: str = "",
                 builder: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
    """:func:`commitpack_facts` of a build from a ``CommitPackConfig`` (its repositories, revisions and
    options) whose rows were counted in ``tally``."""
    return commitpack_facts(
        kind, repo_id, rows_per_config=tally.rows_per_config, drop_counts=drop_counts,
        repositories=list(config.repositories), revisions=tuple(config.revisions), languages=tally.languages,
        row_licenses=list(tally.licenses), rows_per_repository=tally.rows_per_repository,
        repository_licenses={location: tally.repository_licenses.get(repository_name(location))
                             for location in config.repositories},
        options={name: _plain(getattr(config, name)) for name in CONFIG_OPTIONS if hasattr(config, name)},
        faithful=getattr(config, "faithful", True), builder=builder, **extra)


def builder_facts(builder, dataset, repo_id: str, *, revision: Optional[str] = None,
                  decontamination: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """:func:`commitpack_facts` of a prepared CommitPack/CommitPackFT builder and its ``dataset``."""
    tally = RowTally().add_columns(dataset["lang"], dataset["license"], dataset["repos"])
    kind = "commitpackft" if builder.dataset_name == "commitpackft" or type(builder).__name__ == "CommitPackFT" \
        else "commitpack"
    return config_facts(kind, builder.config, tally, builder.drop_statistics(), repo_id=repo_id,
                        builder=f"{type(builder).__module__}.{type(builder).__name__}", revision=revision,
                        decontamination=decontamination)


def filtered_facts(tally: RowTally, drop_counts: Mapping[str, int], *, mined: Optional[Mapping[str, Any]] = None,
                   mined_drop_counts: Optional[Mapping[str, int]] = None, options: Optional[Mapping[str, Any]] = None,
                   faithful: bool = True) -> Dict[str, Any]:
    """The CommitPackFT facts of rows the CommitPackFT rules kept (``commitpack filter``, the pipeline's
    filter stage). With the card facts and drop counts of the mining that made the input, the card
    names its repositories at their revisions and every rule from mining on; without them, the
    repositories the rows name and the CommitPackFT rules only (what ran before is unknown)."""
    if mined is not None:
        drops = {**(mined_drop_counts or {}), **drop_counts}
        sources = mined["sources"]
        options = {**mined.get("build", {}).get("options", {}), **(options or {})}
    else:
        drops = dict(drop_counts)
        sources = [{"repository": name, "license": tally.repository_licenses[name]}
                   for name in tally.rows_per_repository]
    facts = commitpack_facts(
        "commitpackft", "", rows_per_config=tally.rows_per_config, drop_counts=drops, sources=sources,
        languages=tally.languages, row_licenses=list(tally.licenses), rows_per_repository=tally.rows_per_repository,
        options=options, faithful=faithful)
    if mined is None:
        facts["rules"] = [rule for rule in facts["rules"] if rule["stage"] in ("CommitPackFT (B)", "other")]
    return facts


def _class(kind: str) -> str:
    return "CommitPackFT" if kind == "commitpackft" else "CommitPack"


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _version() -> str:
    try:
        return metadata.version("octopack")
    except metadata.PackageNotFoundError:
        return "unknown"

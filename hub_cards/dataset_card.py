"""Dataset cards for what the suite builds: CommitPack, CommitPackFT, OSS-Instruct, Evol-Instruct and
the OctoCoder-style mix, rendered from the templates ``templates/dataset_card*.md``.

Builders hand :func:`render_dataset_card` a plain dict, :class:`DatasetCardFacts` (``hub_cards``
imports none of the builders). Every key, with what a card does with it::

    {
      "kind": "commitpackft",              # required: one of KINDS (commitpack, commitpackft,
                                           #   oss-instruct, evol-instruct, octocoder-mix)
      "repo_id": "my-org/commitpackft",    # required: where it is published (the load_dataset line)
      "license": "mit",                    # required: Hub license id or a list (rows keep their own)
      "configs": {                         # required: one entry per config (language), in order
          "python": {"rows": 1204, "language": "Python"},   # rows required; language: display name
      },
      "revision": None,                    # branch/tag the load line names (None: main)
      "split": "train",                    # the split of every config
      "pretty_name": "...",  "summary": "...",     # default per kind
      "natural_languages": ["en"],         # the Hub `language` is ["code"] + these
      "tags": [...], "source_datasets": [...],     # added to / replacing the kind's defaults
      "sources": [                         # git repositories mined, at which revision
          {"repository": "octo/app", "revision": "<sha>", "ref": "HEAD", "license": "mit",
           "url": "https://...", "rows": 12}],
      "seeds": [                           # datasets a generator started from
          {"dataset": "bigcode/the-stack-smol", "config": "python", "split": "train",
           "revision": "<sha>", "rows": 2000, "note": "1-15 consecutive lines per seed"}],
      "components": [                      # octocoder-mix: what was mixed
          {"dataset": "my-org/commitpackft", "config": "python", "rows": 500, "weight": 0.5}],
      "input_rows": 4877,                  # rows/commits considered before the rules
      "rules": [                           # every rule in order, with its drop count
          {"name": "message_length", "dropped": 12, "stage": "CommitPack (A.2)",
           "description": "keep if 5 < len(message) < 10,000 characters"}],
      "decontamination": {                 # None: the card says it was not decontaminated
          "benchmarks": ["humanevalpack", "mbpp"], "method": "10-gram overlap with prompts and solutions",
          "removed": 3, "removed_per_benchmark": {"humanevalpack": 2, "mbpp": 1}, "checked": 1207},
      "teacher": {                         # generated data: who wrote it, with which prompts
          "model": "gpt-3.5-turbo-1106", "prompts_fingerprint": "sha256:…", "endpoint": "api.openai.com",
          "sampling": {"temperature": 0.0, "max_tokens": 2048}, "requests": 2000},
      "columns": {"instruction": "..."},   # column -> meaning (default per kind)
      "build": {"tool": "octopack 0.1.0", "builder": "commitpack_dataset.CommitPackFT",
                "command": "commitpack mine ...", "date": "2025-01-01", "options": {...}},
    }

Which keys a kind needs on top of the four (``REQUIRED_BY_KIND``): CommitPack / CommitPackFT need
``sources`` and ``rules``; OSS-Instruct and Evol-Instruct need ``seeds``, ``teacher`` and
``decontamination``; the mix needs ``components`` and ``decontamination`` (the key must be present;
``None`` is an explicit "not decontaminated"). Missing or unknown keys raise
:class:`DatasetCardFactsError` naming them. Secrets never reach a card (``hub_cards.commit``).

The card's metadata is what the Hub validates and ``datasets`` reads: ``license``, ``language``,
``task_categories``, ``size_categories`` (from the rows), ``pretty_name``, ``tags``,
``source_datasets`` and a ``configs`` entry per config with its data files (the layout of
:mod:`hub_cards.dataset_push`). :func:`validate_dataset_card` checks a card has all of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Required, TypedDict

from hub_cards._render import render_card
from hub_cards.commit import check_no_secrets
from hub_cards.dataset_push import config_data_files
from hub_cards.metadata import MetadataError, size_category, validate_metadata
from hub_cards.model_card import hub_id_or_none


class ConfigFacts(TypedDict, total=False):
    rows: Required[int]
    language: str


class SourceRepository(TypedDict, total=False):
    repository: Required[str]
    revision: str
    ref: str
    license: str
    url: str
    rows: int


class SeedDataset(TypedDict, total=False):
    dataset: Required[str]
    config: str
    split: str
    revision: str
    rows: int
    note: str


class MixComponent(TypedDict, total=False):
    dataset: Required[str]
    rows: Required[int]
    config: str
    weight: float


class RuleFacts(TypedDict, total=False):
    name: Required[str]
    dropped: Required[int]
    stage: str
    description: str


class DecontaminationFacts(TypedDict, total=False):
    benchmarks: Required[list[str]]
    method: Required[str]
    removed: Required[int]
    removed_per_benchmark: dict[str, int]
    checked: int


class TeacherFacts(TypedDict, total=False):
    model: Required[str]
    prompts_fingerprint: Required[str]
    endpoint: str
    sampling: dict[str, Any]
    requests: int


class DatasetCardFacts(TypedDict, total=False):
    kind: Required[str]
    repo_id: Required[str]
    license: Required[str | list[str]]
    configs: Required[dict[str, ConfigFacts]]
    revision: str | None
    split: str
    pretty_name: str
    summary: str
    natural_languages: list[str]
    tags: list[str]
    source_datasets: list[str]
    sources: list[SourceRepository]
    seeds: list[SeedDataset]
    components: list[MixComponent]
    input_rows: int
    rules: list[RuleFacts]
    decontamination: DecontaminationFacts | None
    teacher: TeacherFacts
    columns: dict[str, str]
    build: dict[str, Any]


class DatasetCardFactsError(ValueError):
    """Facts a dataset card cannot be rendered from; the message names the keys and the kind."""


@dataclass(frozen=True)
class Kind:
    """What a kind of dataset brings to its card by default."""

    pretty_name: str
    template: str
    tags: tuple[str, ...]
    source_datasets: tuple[str, ...]
    columns: dict[str, str]
    task_categories: tuple[str, ...] = ("text-generation",)


_COMMIT_COLUMNS = {
    "commit": "commit SHA", "old_file": "path before the commit", "new_file": "path after the commit",
    "old_contents": "file before the commit", "new_contents": "file after the commit",
    "subject": "first line of the commit message", "message": "the whole commit message",
    "lang": "programming language (from the file extension)", "license": "license of the repository",
    "repos": "repositories holding the commit (owner/name, comma-separated)",
}
_INSTRUCTION_COLUMNS = {"instruction": "the task, written by the teacher model",
                        "response": "the teacher's solution", "lang": "programming language"}
KINDS: dict[str, Kind] = {
    "commitpack": Kind("CommitPack", "dataset_card_commitpack.md",
                       ("code", "commits", "octopack", "commitpack"), ("original",), _COMMIT_COLUMNS),
    "commitpackft": Kind("CommitPackFT", "dataset_card_commitpackft.md",
                         ("code", "commits", "instruction-tuning", "octopack", "commitpackft"), ("original",),
                         _COMMIT_COLUMNS),
    "oss-instruct": Kind("OSS-Instruct", "dataset_card_oss_instruct.md",
                         ("code", "synthetic", "instruction-tuning", "octopack", "oss-instruct", "magicoder"),
                         (), {**_INSTRUCTION_COLUMNS, "seed": "the open-source snippet that inspired the task"}),
    "evol-instruct": Kind("Code Evol-Instruct", "dataset_card_evol_instruct.md",
                          ("code", "synthetic", "instruction-tuning", "octopack", "evol-instruct", "wizardcoder"),
                          (), {**_INSTRUCTION_COLUMNS,
                               "evolution": "how the instruction was evolved (method, round)"}),
    "octocoder-mix": Kind("OctoCoder instruction mix", "dataset_card_octocoder_mix.md",
                          ("code", "instruction-tuning", "octopack", "octocoder", "mixture"), (),
                          {"instruction": "the task", "response": "the answer",
                           "source": "which component dataset the row came from"}),
}
REQUIRED_FACTS = ("kind", "repo_id", "license", "configs")
REQUIRED_BY_KIND = {
    "commitpack": ("sources", "rules"),
    "commitpackft": ("sources", "rules"),
    "oss-instruct": ("seeds", "teacher", "decontamination"),
    "evol-instruct": ("seeds", "teacher", "decontamination"),
    "octocoder-mix": ("components", "decontamination"),
}
FACT_KEYS = frozenset(DatasetCardFacts.__annotations__)
#: Metadata every dataset card must carry (a test removes each and expects the check to fail).
REQUIRED_METADATA = ("license", "language", "task_categories", "size_categories", "pretty_name", "tags",
                     "source_datasets", "configs")


def validate_facts(facts: Mapping[str, Any]) -> None:
    """Raise :class:`DatasetCardFactsError` for missing, unknown or malformed keys (module docstring)."""
    if not isinstance(facts, Mapping):
        raise DatasetCardFactsError(f"dataset card facts must be a mapping, got {type(facts).__name__}")
    kind = facts.get("kind")
    if kind is None:
        raise DatasetCardFactsError(f"dataset card facts lack ['kind'] (one of {sorted(KINDS)})")
    if kind not in KINDS:
        raise DatasetCardFactsError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    unknown = sorted(set(facts) - FACT_KEYS)
    if unknown:
        raise DatasetCardFactsError(f"unknown dataset card facts {unknown}; known: {sorted(FACT_KEYS)}")
    missing = [key for key in REQUIRED_FACTS if facts.get(key) in (None, "", [], {})]
    missing += [key for key in REQUIRED_BY_KIND[kind] if key not in facts
                or (key != "decontamination" and not facts[key])]
    if missing:
        raise DatasetCardFactsError(
            f"{kind} dataset card facts lack {missing} (a {kind} card needs "
            f"{list(REQUIRED_FACTS + REQUIRED_BY_KIND[kind])}; decontamination may be None, said as such)")
    for name, config in facts["configs"].items():
        rows = config.get("rows") if isinstance(config, Mapping) else None
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            raise DatasetCardFactsError(f"configs[{name!r}]['rows'] must be a row count, got {rows!r}")
    for index, rule in enumerate(facts.get("rules") or ()):
        if not isinstance(rule.get("name"), str) or not isinstance(rule.get("dropped"), int):
            raise DatasetCardFactsError(f"rules[{index}] needs a name and an integer dropped count, got {rule!r}")
    teacher = facts.get("teacher")
    if teacher is not None and not (teacher.get("model") and teacher.get("prompts_fingerprint")):
        raise DatasetCardFactsError("teacher needs model and prompts_fingerprint (the hash of the prompt templates)")


def dataset_card_data(facts: Mapping[str, Any]):
    """The ``DatasetCardData`` (YAML metadata) of :func:`render_dataset_card`."""
    from huggingface_hub import DatasetCardData

    kind = KINDS[facts["kind"]]
    configs = facts["configs"]
    split = facts.get("split") or "train"
    tags = list(dict.fromkeys([*kind.tags, *(facts.get("tags") or [])]))
    sources = facts.get("source_datasets")
    if sources is None:  # the Hub ids among the seeds and components (local files stay in the body)
        named = {item["dataset"] for item in [*(facts.get("seeds") or []), *(facts.get("components") or [])]}
        sources = list(kind.source_datasets) or sorted(filter(None, map(hub_id_or_none, named)))
    return DatasetCardData(
        license=facts["license"],
        language=["code", *(facts.get("natural_languages") or ["en"])],
        task_categories=list(kind.task_categories),
        size_categories=[size_category(sum(config["rows"] for config in configs.values()))],
        pretty_name=facts.get("pretty_name") or kind.pretty_name,
        tags=tags,
        source_datasets=sources or ["original"],
        configs=[{"config_name": name, "data_files": config_data_files(name, (split,))} for name in configs],
    )


def load_line(repo_id: str, config: str | None = None, split: str = "train", revision: str | None = None) -> str:
    """The ``load_dataset(...)`` call that loads one config of the published dataset."""
    arguments = [json.dumps(repo_id)]
    if config is not None:
        arguments.append(json.dumps(config))
    arguments.append(f"split={json.dumps(split)}")
    if revision:
        arguments.append(f"revision={json.dumps(revision)}")
    return f"load_dataset({', '.join(arguments)})"


def render_dataset_card(facts: Mapping[str, Any]):
    """The ``DatasetCard`` of a built dataset described by ``facts`` (see module docstring)."""
    from huggingface_hub import DatasetCard

    validate_facts(facts)
    kind = KINDS[facts["kind"]]
    configs = facts["configs"]
    split = facts.get("split") or "train"
    total = sum(config["rows"] for config in configs.values())
    first = next(iter(configs))
    revision = facts.get("revision")
    rules = list(facts.get("rules") or [])
    dropped = sum(rule["dropped"] for rule in rules)
    decontamination = facts.get("decontamination")
    card = render_card(
        DatasetCard, dataset_card_data(facts), kind.template,
        kind=facts["kind"], repo_id=facts["repo_id"], title=facts.get("pretty_name") or kind.pretty_name,
        summary=facts.get("summary"), total_rows=total, split=split,
        load_first=load_line(facts["repo_id"], first, split, revision),
        config_rows=[{"name": name, "language": config.get("language") or name, "rows": config["rows"],
                      "share": f"{100 * config['rows'] / total:.1f}%" if total else "-",
                      "load": load_line(facts["repo_id"], name, split, revision)}
                     for name, config in configs.items()],
        sources=_filled(facts.get("sources"), SourceRepository), seeds=_filled(facts.get("seeds"), SeedDataset),
        components=_filled(facts.get("components"), MixComponent),
        input_rows=facts.get("input_rows"), rules=_filled(rules, RuleFacts), dropped=dropped,
        decontamination=_filled([decontamination], DecontaminationFacts)[0] if decontamination else None,
        teacher=_filled([facts["teacher"]], TeacherFacts)[0] if facts.get("teacher") else None,
        sampling_json=_compact((facts.get("teacher") or {}).get("sampling")),
        columns=dict(facts.get("columns") or kind.columns),
        build=dict(facts.get("build") or {}), options_json=_pretty((facts.get("build") or {}).get("options")),
    )
    check_no_secrets(str(card), f"the {facts['kind']} dataset card of {facts['repo_id']}")
    validate_dataset_card(card)
    return card


def validate_dataset_card(card) -> None:
    """Raise :class:`~hub_cards.metadata.MetadataError` unless the card's metadata has every field of
    :data:`REQUIRED_METADATA`, passes the Hub's rules, and ``datasets`` reads its ``configs``."""
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData

    card = card if isinstance(card, DatasetCard) else DatasetCard(str(card))
    metadata = card.data.to_dict()
    missing = [key for key in REQUIRED_METADATA if not metadata.get(key)]
    if missing:
        raise MetadataError(f"the dataset card's metadata lacks {missing} (required: {list(REQUIRED_METADATA)})")
    validate_metadata(metadata, "dataset")
    DatasetCardData(**metadata)  # huggingface_hub's own parsing
    try:
        MetadataConfigs.from_dataset_card_data(card.data)
    except ValueError as error:
        raise MetadataError(f"configs: {error}") from None


def _filled(items: Any, schema: type) -> list[dict[str, Any]]:
    """Each mapping of ``items`` with every key of its TypedDict ``schema`` (``None`` when absent)."""
    return [{key: item.get(key) for key in schema.__annotations__} | dict(item) for item in items or []]


def _compact(value: Any) -> str | None:
    return json.dumps(value, sort_keys=True) if value else None


def _pretty(value: Any) -> str | None:
    return json.dumps(value, indent=2, sort_keys=True, default=str) if value else None

"""The data side of a training recipe: sources, their mixture, and rows in a prompt format.

:class:`DataArguments` is the one dataclass octopack adds to TRL's own (``SFTConfig``,
``ModelConfig``); ``trl.TrlParser`` fills it from the recipe YAML and the command line. A recipe
lists its ``datasets`` (Hub ids, local ``json``/``jsonl``/``parquet`` files or dataset
directories, or a ``datasets`` builder class such as this project's CommitPackFT builder), each
with an optional split, column mapping, fraction and mixture weight; :func:`build_dataset` loads
them, maps every row to TRL's prompt/completion shape with the shared format from
:mod:`octo_trainer.formats`, and mixes them.

A builder source is prepared the datasets >= 4 way (no loading scripts)::

    datasets:
      - builder: commitpackft          # or commitpack, or my_package.module.MyBuilder
        name: python                   # the builder config, as load_dataset's ``name``
        builder_kwargs:                # fields of the builder's config class
          repositories: [path/to/repo, https://host/owner/name.git]
          license_policy: drop-unknown
        cache_dir: ~/.cache/octopack/commitpackft

is ``CommitPackFT(config_name="python", cache_dir=..., repositories=..., ...)``, then
``download_and_prepare()`` and ``as_dataset("train")``. The short names in :data:`BUILDERS` bring
the role mapping of their rows (:data:`COMMIT_ROWS`), so no ``columns`` are needed.

Heavy imports (``datasets``, the builders' packages) happen inside the functions.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octo_trainer.formats import get_format

#: The roles a source's columns can be mapped to.
ROLES = ("instruction", "response", "context")
_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}
#: Builder arguments set on the source itself, never in ``builder_kwargs``.
_SOURCE_LEVEL = ("name", "data_dir", "data_files", "cache_dir")


@dataclass(frozen=True)
class KnownBuilder:
    """A builder reachable by a short name, and how its rows map to roles.

    ``target`` is the import path of a ``datasets.DatasetBuilder`` subclass; ``columns`` maps
    roles to the builder's columns; ``response_template`` (with ``{response}``) wraps the
    response column.
    """

    target: str
    columns: dict[str, str]
    response_template: str | None = None


#: CommitPack(FT) rows as OctoCoder trained on them (reference C.1, octopack issue #9): with the
#: ``octocoder`` format a row renders
#: ``Question: {subject}\n{old_contents}\n\nAnswer: \n{new_contents}`` (prompt up to
#: ``Answer: ``, completion from the newline on, so no token straddles the boundary). Only
#: ``subject`` is used, never ``message``. An empty ``old_contents`` counts as no context.
COMMIT_ROWS = {"instruction": "subject", "context": "old_contents", "response": "new_contents"}
COMMIT_RESPONSE_TEMPLATE = "\n{response}"

#: Short builder names a recipe can use as ``builder:``.
BUILDERS: dict[str, KnownBuilder] = {
    "commitpack": KnownBuilder(
        "commitpack_dataset.builders.CommitPack", COMMIT_ROWS, COMMIT_RESPONSE_TEMPLATE
    ),
    "commitpackft": KnownBuilder(
        "commitpack_dataset.builders.CommitPackFT", COMMIT_ROWS, COMMIT_RESPONSE_TEMPLATE
    ),
}


def _available_builders() -> str:
    return f"{', '.join(BUILDERS)} or the import path of a datasets.DatasetBuilder (pkg.mod.Class)"


@dataclass
class DataSource:
    """One source of the mixture: a dataset to load (``path``) or a builder to run (``builder``).

    ``path`` is a Hub dataset id, a local dataset directory, or a local ``.json``/``.jsonl``/
    ``.parquet`` file (then loaded with the matching builder). ``name``, ``data_dir``,
    ``data_files``, ``split`` and ``cache_dir`` go to ``datasets.load_dataset``.

    ``builder`` is a short name from :data:`BUILDERS` (``commitpack``, ``commitpackft``) or the
    import path of a ``datasets.DatasetBuilder`` subclass; it is instantiated with
    ``config_name=name``, ``cache_dir``, ``data_dir``, ``data_files`` and ``builder_kwargs``
    (fields of its config class, e.g. CommitPackFT's ``repositories``, ``languages``,
    ``license_policy``), prepared with ``num_proc`` processes, and ``split`` is read.

    ``columns`` maps roles (``instruction``, ``response``, ``context``) to this source's column
    names and overrides the defaults (a short-named builder's mapping, else those of
    :class:`DataArguments`). ``fraction`` keeps that share of the source's rows (after a seeded
    shuffle); ``weight`` is the source's share of the mixture (see :func:`mix`).
    ``instruction_template`` (with ``{instruction}``) wraps the raw instruction column, e.g.
    Magicoder's ``"Write a solution to the following coding problem:\n{instruction}"``;
    ``response_template`` (with ``{response}``) wraps the response column.
    """

    path: str | None = None
    name: str | None = None
    data_dir: str | None = None
    data_files: str | list[str] | dict[str, str] | None = None
    split: str = "train"
    columns: dict[str, str] | None = None
    fraction: float = 1.0
    weight: float | None = None
    instruction_template: str | None = None
    response_template: str | None = None
    builder: str | None = None
    builder_kwargs: dict[str, Any] | None = None
    cache_dir: str | None = None
    num_proc: int | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.builder is None):
            raise ValueError(
                "a data source needs exactly one of `path` (Hub id, local file or directory) and "
                f"`builder` ({_available_builders()}); got path={self.path!r}, "
                f"builder={self.builder!r}"
            )
        label = self.label
        if self.builder is not None and "." not in self.builder and self.builder not in BUILDERS:
            raise ValueError(f"unknown builder {self.builder!r}: use {_available_builders()}")
        if self.builder_kwargs is not None and self.builder is None:
            raise ValueError(f"builder_kwargs apply to a `builder` source only, not to {label}")
        if self.builder_kwargs is not None and not isinstance(self.builder_kwargs, dict):
            raise ValueError(f"builder_kwargs of {label} must be a mapping of config fields")
        for key, template in (("instruction", self.instruction_template),
                              ("response", self.response_template)):
            if template is not None and "{" + key + "}" not in template:
                raise ValueError(f"{key}_template must contain '{{{key}}}' ({label})")
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction} for {label}")
        if self.weight is not None and self.weight < 0:
            raise ValueError(f"weight must be >= 0, got {self.weight} for {label}")
        unknown = set(self.columns or {}) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown column roles {sorted(unknown)} for {label}: use {ROLES}")

    @property
    def label(self) -> str:
        """How messages name this source."""
        return self.path if self.builder is None else f"builder {self.builder}"

    @property
    def known_builder(self) -> KnownBuilder | None:
        """The :data:`BUILDERS` entry of a short-named builder source, else ``None``."""
        return BUILDERS.get(self.builder) if self.builder is not None else None

    @property
    def effective_response_template(self) -> str | None:
        """``response_template``, else the short-named builder's, else ``None``."""
        if self.response_template is not None:
            return self.response_template
        known = self.known_builder
        return known.response_template if known is not None else None

    @classmethod
    def coerce(cls, value: Any) -> DataSource:
        """A source from a recipe entry: a mapping of fields, a path string, or a DataSource."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls(path=value)
        if not isinstance(value, dict):
            raise ValueError(f"a data source is a mapping or a path, got {value!r}")
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ValueError(f"unknown data source keys {unknown} in {value!r}: use {fields}")
        return cls(**value)


@dataclass
class DataArguments:
    """Octopack's recipe fields: the data, its prompt format and loss masking (plus one switch).

    ``loss_on_prompt: false`` trains on the response only (TRL's ``completion_only_loss``);
    ``true`` trains on the full sequence, as OctoCoder did. ``merge_adapter`` additionally writes
    the LoRA adapter merged into the base model to ``<output_dir>/merged``.
    """

    datasets: list[DataSource] = field(
        default_factory=list, metadata={"help": "Sources of the mixture (YAML list of mappings)."}
    )
    prompt_format: str = field(
        default="magicoder", metadata={"help": "Prompt format name from octo_trainer.formats."}
    )
    instruction_column: str = field(default="instruction", metadata={"help": "Default column."})
    response_column: str = field(default="response", metadata={"help": "Default column."})
    context_column: str | None = field(
        default=None, metadata={"help": "Default context column (e.g. Alpaca's 'input')."}
    )
    loss_on_prompt: bool = field(
        default=False, metadata={"help": "Train on prompt tokens too (full-sequence loss)."}
    )
    mixture_seed: int = field(default=42, metadata={"help": "Seed for fractions and shuffling."})
    merge_adapter: bool = field(
        default=False, metadata={"help": "Also save the LoRA adapter merged into the base model."}
    )

    def __post_init__(self) -> None:
        self.datasets = [DataSource.coerce(source) for source in self.datasets]
        get_format(self.prompt_format)  # fail early on an unknown name

    def columns_for(self, source: DataSource) -> dict[str, str | None]:
        """The role → column mapping of ``source``: its own ``columns`` over its builder's
        mapping (short-named builders) over the defaults of these arguments."""
        mapping: dict[str, str | None] = {
            "instruction": self.instruction_column,
            "response": self.response_column,
            "context": self.context_column,
        }
        known = source.known_builder
        mapping.update(known.columns if known is not None else {})
        mapping.update(source.columns or {})
        return mapping


def load_source(source: DataSource):
    """Load one source as a ``datasets.Dataset``."""
    import datasets

    if source.builder is not None:
        return load_builder_source(source)
    cache_dir = _expand(source.cache_dir)
    local = Path(os.path.expanduser(source.path))
    if local.is_file():
        builder = _FILE_BUILDERS.get(local.suffix.lower())
        if builder is None:
            raise ValueError(f"cannot load {local}: use one of {sorted(_FILE_BUILDERS)}")
        return datasets.load_dataset(
            builder, data_files=str(local), split=source.split, cache_dir=cache_dir
        )
    return datasets.load_dataset(
        str(local) if local.is_dir() else source.path,
        name=source.name,
        data_dir=source.data_dir,
        data_files=source.data_files,
        split=source.split,
        cache_dir=cache_dir,
        num_proc=source.num_proc,
    )


def builder_class(name: str) -> type:
    """The ``datasets.DatasetBuilder`` subclass for a short name or an import path."""
    import datasets

    target = BUILDERS[name].target if name in BUILDERS else name
    module_name, _, class_name = target.rpartition(".")
    try:
        module = importlib.import_module(module_name) if module_name else None
    except ImportError as error:
        raise ValueError(
            f"cannot import builder {name!r} ({error}): use {_available_builders()}"
        ) from error
    found = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, datasets.DatasetBuilder)):
        raise ValueError(f"{name!r} is not a datasets builder: use {_available_builders()}")
    return found


def check_builder_options(cls: type, source: DataSource) -> None:
    """Refuse a config name or ``builder_kwargs`` the builder lacks, naming the valid ones."""
    configs = cls.builder_configs
    if source.name is not None and configs and source.name not in configs:
        raise ValueError(
            f"builder {source.builder} has no config {source.name!r}: set `name` to one of "
            f"{', '.join(configs)}"
        )
    config_class = cls.BUILDER_CONFIG_CLASS
    fields = [f.name for f in dataclasses.fields(config_class) if f.name not in _SOURCE_LEVEL]
    unknown = sorted(set(source.builder_kwargs or {}) - set(fields))
    if unknown:
        raise ValueError(
            f"unknown builder_kwargs {unknown} for builder {source.builder} "
            f"({config_class.__name__}): use {', '.join(fields)}; set "
            f"{', '.join(_SOURCE_LEVEL)} on the source itself"
        )


def load_builder_source(source: DataSource):
    """Instantiate, prepare and read a builder source (``Builder(config_name=..., **kwargs)``)."""
    cls = builder_class(source.builder)
    check_builder_options(cls, source)
    given = {
        "cache_dir": _expand(source.cache_dir),
        "data_dir": source.data_dir,
        "data_files": source.data_files,
    }
    builder = cls(
        config_name=source.name,
        **{key: value for key, value in given.items() if value is not None},
        **(source.builder_kwargs or {}),
    )
    builder.download_and_prepare(num_proc=source.num_proc)
    return builder.as_dataset(split=source.split)


def _expand(path: str | None) -> str | None:
    return None if path is None else os.path.expanduser(path)


def to_prompt_completion(
    dataset,
    format_name: str,
    columns: dict[str, str | None],
    instruction_template: str | None = None,
    response_template: str | None = None,
):
    """Map rows to ``prompt``/``completion`` columns with the named format; drop the rest."""
    fmt = get_format(format_name)
    present = dataset.column_names
    missing = [columns[role] for role in ("instruction", "response") if columns[role] not in present]
    if missing:
        raise KeyError(f"columns {missing} not in the dataset (has {present})")
    context = columns.get("context")
    if context is not None and context not in present:
        raise KeyError(f"context column {context!r} not in the dataset (has {present})")

    def render(row: dict[str, Any]) -> dict[str, str]:
        instruction = row[columns["instruction"]]
        if instruction_template is not None:
            instruction = instruction_template.format(instruction=instruction)
        response = row[columns["response"]]
        if response_template is not None:
            response = response_template.format(response=response)
        prompt, completion = fmt.split(
            instruction,
            response,
            row[context] if context is not None else None,
        )
        return {"prompt": prompt, "completion": completion}

    return dataset.map(render, remove_columns=dataset.column_names)


def mix(parts: list, weights: list[float | None], seed: int):
    """Concatenate ``parts`` and shuffle; with weights, subsample to the weighted shares.

    Weights must be set for all sources or none. They are normalised, and the mixture is the
    largest one in which no source is repeated: source *i* contributes ``round(w_i * N)`` rows,
    ``N = min(len_i / w_i)``.
    """
    import datasets

    if not parts:
        raise ValueError("the recipe lists no datasets")
    if any(w is not None for w in weights):
        if any(w is None for w in weights):
            raise ValueError("set `weight` for every source of the mixture or for none")
        total_weight = sum(weights)
        if total_weight <= 0:
            raise ValueError("mixture weights sum to zero")
        shares = [w / total_weight for w in weights]
        size = min(len(part) / share for part, share in zip(parts, shares) if share > 0)
        parts = [
            part.select(range(min(len(part), round(share * size))))
            for part, share in zip(parts, shares)
        ]
    return datasets.concatenate_datasets(parts).shuffle(seed=seed)


def build_dataset(args: DataArguments):
    """Load, subsample, render and mix every source of ``args`` into one prompt/completion set."""
    parts = []
    for source in args.datasets:
        part = load_source(source)
        if source.fraction < 1.0:
            keep = max(1, round(source.fraction * len(part)))
            part = part.shuffle(seed=args.mixture_seed).select(range(keep))
        parts.append(
            to_prompt_completion(
                part,
                args.prompt_format,
                args.columns_for(source),
                source.instruction_template,
                source.effective_response_template,
            )
        )
    return mix(parts, [source.weight for source in args.datasets], args.mixture_seed)

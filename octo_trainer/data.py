"""The data side of a training recipe: sources, their row formats, and their mixture.

:class:`DataArguments` is the one dataclass octopack adds to TRL's own (``SFTConfig``,
``ModelConfig``); ``trl.TrlParser`` fills it from the recipe YAML and the command line. A recipe
lists its ``datasets`` (Hub ids, local ``json``/``jsonl``/``parquet`` files or dataset
directories, or a ``datasets`` builder class such as this project's CommitPackFT builder), each
with an optional split, column map, subsample and mixture weight; :func:`build_dataset` loads
them, turns each into rows of one of TRL's dataset formats (:mod:`octo_trainer.row_formats`:
``text``, ``prompt``/``completion``, ``messages``, or octopack's instruction/response roles
rendered with the shared prompt format of :mod:`octo_trainer.formats`), and mixes them.

On the command line a source is ``PATH[:KEY=VALUE,...]``, each key a role or TRL column of the
column map or one of :data:`~octo_trainer.source_specs.SPEC_OPTIONS`, e.g. ``--datasets rows.jsonl:instruction=question,
response=answer other.jsonl:weight=2``; or a JSON object of :class:`DataSource` fields.

A builder source is prepared the datasets >= 4 way (no loading scripts)::

    datasets:
      - builder: commitpackft          # a short name: commitpack, commitpackft, octocoder-mix;
                                       # or an import path: my_package.module.MyBuilder
        name: python                   # the builder config, as load_dataset's ``name``
        builder_kwargs:                # fields of the builder's config class
          repositories: [path/to/repo, https://host/owner/name.git]
          license_policy: drop-unknown
        cache_dir: ~/.cache/octopack/commitpackft

is ``CommitPackFT(config_name="python", cache_dir=..., repositories=..., ...)``, then
``download_and_prepare()`` and ``as_dataset("train")``. The short names are the table
:data:`octo_trainer.builder_sources.BUILDERS` (a test keeps this list equal to it); each brings the
role mapping of its rows (CommitPack(FT): :data:`~octo_trainer.builder_sources.COMMIT_ROWS`; the
OctoCoder mix: ``prompt``/``completion``), so no ``column_map`` is needed.

Names follow TRL's ``DatasetConfig``: ``columns`` lists the columns to keep; ``weight`` is what
TRL calls ``fraction`` (the source's share of the mixture). Deprecated for one release, with a
``FutureWarning``: ``columns`` as a role mapping (now ``column_map``) and ``fraction`` as the
share of a source's rows to keep (now ``subsample``).

Heavy imports (``datasets``, the builders' packages) happen inside the functions.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octo_trainer.builder_sources import (
    BUILDERS,
    KnownBuilder,
    available_builders,
    expand_path,
    load_builder_source,
)
from octo_trainer.errors import RecipeError, did_you_mean
from octo_trainer.formats import FORMATS
from octo_trainer.row_formats import MAP_KEYS, resolve_row_format, to_training_rows, unify
from octo_trainer.source_specs import DATASETS_HELP, parse_spec

_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}
_LOG = logging.getLogger(__name__)
_DEFAULT_ROLE_COLUMNS = {"instruction": "instruction", "response": "response", "context": None}


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

    ``columns`` (TRL's ``DatasetConfig.columns``) lists the columns to keep, before anything
    else. ``column_map`` maps octopack roles (``instruction``, ``response``, ``context``:
    rendered with the recipe's prompt format) or TRL's columns (``prompt``, ``completion``,
    ``messages``, ``text``: taken as they are) to this source's columns; without one the rows'
    own columns decide (:mod:`octo_trainer.row_formats`). ``subsample`` keeps that share of the
    source's rows (after a seeded shuffle); ``weight`` is the source's share of the mixture
    (TRL's ``fraction``; see :func:`mix`). ``instruction_template`` (with ``{instruction}``)
    wraps the raw instruction column, e.g. Magicoder's
    ``"Write a solution to the following coding problem:\n{instruction}"``;
    ``response_template`` (with ``{response}``) wraps the response column.

    Deprecated (one release, ``FutureWarning``): ``columns`` as a mapping (-> ``column_map``),
    ``fraction`` (-> ``subsample``).
    """

    path: str | None = None
    name: str | None = None
    data_dir: str | None = None
    data_files: str | list[str] | dict[str, str] | None = None
    split: str = "train"
    columns: list[str] | dict[str, str] | None = None
    column_map: dict[str, str] | None = None
    subsample: float = 1.0
    weight: float | None = None
    instruction_template: str | None = None
    response_template: str | None = None
    builder: str | None = None
    builder_kwargs: dict[str, Any] | None = None
    cache_dir: str | None = None
    num_proc: int | None = None
    fraction: float | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.builder is None):
            raise RecipeError(
                "a data source needs exactly one of `path` (Hub id, local file or directory) and "
                f"`builder` ({available_builders()}); got path={self.path!r}, "
                f"builder={self.builder!r}"
            )
        label = self.label
        self._upgrade_deprecated(label)
        if self.builder is not None and "." not in self.builder and self.builder not in BUILDERS:
            raise RecipeError(f"unknown builder {self.builder!r}{did_you_mean(self.builder, BUILDERS)}: "
                              f"use {available_builders()}")
        if self.builder_kwargs is not None and self.builder is None:
            raise RecipeError(f"builder_kwargs apply to a `builder` source only, not to {label}")
        if self.builder_kwargs is not None and not isinstance(self.builder_kwargs, dict):
            raise RecipeError(f"builder_kwargs of {label} must be a mapping of config fields")
        for key, template in (("instruction", self.instruction_template),
                              ("response", self.response_template)):
            if template is not None and "{" + key + "}" not in template:
                raise RecipeError(f"{key}_template must contain '{{{key}}}' ({label})")
        if not isinstance(self.subsample, (int, float)) or not 0.0 < self.subsample <= 1.0:
            raise RecipeError(f"subsample must be in (0, 1], got {self.subsample!r} for {label}")
        if self.weight is not None and (not isinstance(self.weight, (int, float)) or self.weight < 0):
            raise RecipeError(f"weight must be a number >= 0, got {self.weight!r} for {label}")
        if self.columns is not None and (
            not isinstance(self.columns, list) or not all(isinstance(c, str) for c in self.columns)
        ):
            raise RecipeError(f"columns of {label} must be a list of column names to keep")
        if self.column_map is not None and not isinstance(self.column_map, dict):
            raise RecipeError(f"column_map of {label} must be a mapping of role: column, e.g. "
                              "{instruction: question, response: answer}")
        for key in self.column_map or {}:
            if key not in MAP_KEYS:
                raise RecipeError(
                    f"unknown column_map key {key!r}{did_you_mean(key, MAP_KEYS)} for {label}: "
                    f"use {', '.join(MAP_KEYS)}"
                )

    def _upgrade_deprecated(self, label: str) -> None:
        """``columns`` as a mapping -> ``column_map``; ``fraction`` -> ``subsample``."""
        if isinstance(self.columns, dict):
            if self.column_map is not None:
                raise RecipeError(f"{label} sets both column_map and columns as a mapping: "
                                  "keep column_map")
            warnings.warn(
                f"{label}: `columns` as a role mapping is deprecated and will be removed in the "
                f"next release: write `column_map: {self.columns}` (in TRL's DatasetConfig, and "
                "here from then on, `columns` lists the columns to keep)",
                FutureWarning, stacklevel=4,
            )
            self.column_map, self.columns = self.columns, None
        if self.fraction is not None:
            if self.subsample != 1.0:
                raise RecipeError(f"{label} sets both subsample and the deprecated fraction: "
                                  "keep subsample")
            warnings.warn(
                f"{label}: `fraction` is deprecated and will be removed in the next release: write "
                f"`subsample: {self.fraction}` (the share of this source's rows to keep; TRL's "
                "DatasetConfig uses `fraction` for the share of the mixture, which is `weight` "
                "here)",
                FutureWarning, stacklevel=4,
            )
            self.subsample, self.fraction = self.fraction, None

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
        """A source from a recipe entry: a mapping of fields, a spec string, or a DataSource."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls.from_spec(value)
        if not isinstance(value, dict):
            raise RecipeError(f"a data source is a mapping or a path, got {value!r}")
        fields = [f.name for f in dataclasses.fields(cls)]
        for key in value:
            if key not in fields:
                raise RecipeError(
                    f"unknown data source key {key!r}{did_you_mean(key, fields)} in {value!r}: "
                    f"use {', '.join(fields)}"
                )
        return cls(**value)

    @classmethod
    def from_spec(cls, text: str) -> DataSource:
        """A source from its command-line form (:func:`octo_trainer.source_specs.parse_spec`):
        ``PATH[:KEY=VALUE,...]`` or a JSON object of fields."""
        return cls.coerce(parse_spec(text))

    @classmethod
    def from_cli(cls, text: str) -> DataSource:
        """:meth:`from_spec` for argparse (a bad spec is an argparse error naming the fix)."""
        try:
            return cls.from_spec(text)
        except RecipeError as error:
            raise argparse.ArgumentTypeError(str(error)) from None


@dataclass
class DataArguments:
    """Octopack's recipe fields: the data, its prompt format and loss masking (plus one switch).

    ``loss_on_prompt: false`` trains on the response only (TRL's ``completion_only_loss``);
    ``true`` trains on the full sequence, as OctoCoder did. ``merge_adapter`` additionally writes
    the LoRA adapter merged into the base model to ``<output_dir>/merged``.
    """

    datasets: list[DataSource] = field(default_factory=list, metadata={"help": DATASETS_HELP})
    prompt_format: str = field(
        default="magicoder",
        metadata={"help": "Prompt format (octo_trainer.formats) for instruction/response rows."},
    )
    instruction_column: str = field(default="instruction", metadata={"help": "Default column."})
    response_column: str = field(default="response", metadata={"help": "Default column."})
    context_column: str | None = field(
        default=None, metadata={"help": "Default context column (e.g. Alpaca's 'input')."}
    )
    loss_on_prompt: bool = field(
        default=False, metadata={"help": "Train on prompt tokens too (full-sequence loss)."}
    )
    mixture_seed: int = field(default=42, metadata={"help": "Seed for subsamples and shuffling."})
    merge_adapter: bool = field(
        default=False, metadata={"help": "Also save the LoRA adapter merged into the base model."}
    )

    def __post_init__(self) -> None:
        self.datasets = [DataSource.coerce(source) for source in self.datasets]
        if self.prompt_format not in FORMATS:
            raise RecipeError(
                f"unknown prompt_format {self.prompt_format!r}"
                f"{did_you_mean(self.prompt_format, FORMATS)}: use one of {', '.join(FORMATS)}"
            )

    def role_columns(self, source: DataSource) -> dict[str, str | None]:
        """The role -> column mapping of ``source`` before its own ``column_map``: its builder's
        mapping (short-named builders) over the ``*_column`` defaults of these arguments."""
        mapping: dict[str, str | None] = {
            "instruction": self.instruction_column,
            "response": self.response_column,
            "context": self.context_column,
        }
        known = source.known_builder
        mapping.update(known.columns if known is not None else {})
        return mapping

    def roles_asked_for(self, source: DataSource) -> bool:
        """Whether ``source``'s rows must be instruction/response rows: a short-named builder,
        or recipe-level role columns other than the defaults."""
        return source.known_builder is not None or any(
            self.role_columns(source)[role] != column
            for role, column in _DEFAULT_ROLE_COLUMNS.items()
        )


def load_source(source: DataSource):
    """Load one source as a ``datasets.Dataset``."""
    import datasets

    if source.builder is not None:
        return load_builder_source(source)
    cache_dir = expand_path(source.cache_dir)
    local = Path(os.path.expanduser(source.path))
    if local.is_file():
        builder = _FILE_BUILDERS.get(local.suffix.lower())
        if builder is None:
            raise RecipeError(f"cannot load {local}: use one of {sorted(_FILE_BUILDERS)}")
        return datasets.load_dataset(
            builder, data_files=str(local), split=source.split, cache_dir=cache_dir
        )
    if not local.is_dir() and (local.suffix.lower() in _FILE_BUILDERS or source.path.startswith(
            (".", "/", "~"))):
        raise RecipeError(f"{source.path}: no such file or directory (from {os.getcwd()}): point "
                          "the source's path, or --datasets PATH, at your data")
    try:
        return datasets.load_dataset(
            str(local) if local.is_dir() else source.path,
            name=source.name,
            data_dir=source.data_dir,
            data_files=source.data_files,
            split=source.split,
            cache_dir=cache_dir,
            num_proc=source.num_proc,
        )
    except (FileNotFoundError, ConnectionError) as error:  # DatasetNotFoundError, offline Hub
        raise RecipeError(f"cannot load dataset {source.path!r}: {_first_line(error)}: check the "
                          "Hub id and your connection, or point at a local file") from error


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@dataclass
class PreparedSource:
    """A source loaded and turned into training rows: ``row_format`` says how it was read (for
    the model card), ``kind`` is the format of ``dataset``'s rows."""

    source: DataSource
    row_format: str
    kind: str
    dataset: Any


def prepare_source(source: DataSource, args: DataArguments, *, text_field: str = "text",
                   assistant_only_loss: bool = False) -> PreparedSource:
    """Load, subsample and turn one source into training rows (:mod:`octo_trainer.row_formats`)."""
    part = load_source(source)
    if source.columns is not None:
        missing = [column for column in source.columns if column not in part.column_names]
        if missing:
            raise RecipeError(
                f"{source.label}: columns to keep {missing} are not in the dataset; its columns "
                f"are {', '.join(part.column_names)}"
            )
        part = part.select_columns(source.columns)
    row_format = resolve_row_format(
        part.column_names, part[0] if len(part) else None, source.column_map,
        args.role_columns(source), explicit_roles=args.roles_asked_for(source),
        label=source.label, text_field=text_field,
    )
    if source.subsample < 1.0:
        keep = max(1, round(source.subsample * len(part)))
        part = part.shuffle(seed=args.mixture_seed).select(range(keep))
    rows, kind = to_training_rows(
        part, row_format, prompt_format=args.prompt_format,
        instruction_template=source.instruction_template,
        response_template=source.effective_response_template,
        last_turn=not args.loss_on_prompt and not assistant_only_loss,
        text_field=text_field, label=source.label,
    )
    described = row_format.describe(args.prompt_format)
    _LOG.info("%s: %d rows, read as %s", source.label, len(rows), described)
    return PreparedSource(source, described, kind, rows)


def mix(parts: list, weights: list[float | None], seed: int):
    """Concatenate ``parts`` and shuffle; with weights, subsample to the weighted shares.

    Weights must be set for all sources or none. They are normalised, and the mixture is the
    largest one in which no source is repeated: source *i* contributes ``round(w_i * N)`` rows,
    ``N = min(len_i / w_i)``.
    """
    import datasets

    if not parts:
        raise RecipeError("the recipe lists no datasets: add `datasets` to it or pass --datasets PATH")
    if any(w is not None for w in weights):
        if any(w is None for w in weights):
            raise RecipeError("set `weight` for every source of the mixture or for none")
        total_weight = sum(weights)
        if total_weight <= 0:
            raise RecipeError("mixture weights sum to zero: give at least one source a weight > 0")
        shares = [w / total_weight for w in weights]
        size = min(len(part) / share for part, share in zip(parts, shares) if share > 0)
        parts = [
            part.select(range(min(len(part), round(share * size))))
            for part, share in zip(parts, shares)
        ]
    return datasets.concatenate_datasets(parts).shuffle(seed=seed)


def prepare_sources(args: DataArguments, *, text_field: str = "text",
                    assistant_only_loss: bool = False) -> tuple[Any, list[str]]:
    """The mixed training set of ``args`` and, per source, the row format it was read in.

    ``text_field`` is SFTConfig's ``dataset_text_field``; ``assistant_only_loss`` keeps
    ``messages`` rows whole (TRL masks them by the chat template's generation markers).
    """
    prepared = [prepare_source(source, args, text_field=text_field,
                               assistant_only_loss=assistant_only_loss) for source in args.datasets]
    parts = unify([(p.source.label, p.kind, p.dataset) for p in prepared])
    mixed = mix(parts, [source.weight for source in args.datasets], args.mixture_seed)
    return mixed, [p.row_format for p in prepared]


def build_dataset(args: DataArguments, **options: Any):
    """Load, subsample, turn into training rows and mix every source of ``args`` (see
    :func:`prepare_sources` for ``options``)."""
    return prepare_sources(args, **options)[0]

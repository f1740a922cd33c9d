"""The data side of a training recipe: sources, their mixture, and rows in a prompt format.

:class:`DataArguments` is the one dataclass octopack adds to TRL's own (``SFTConfig``,
``ModelConfig``); ``trl.TrlParser`` fills it from the recipe YAML and the command line. A recipe
lists its ``datasets`` (Hub ids, local ``json``/``jsonl``/``parquet`` files or dataset
directories), each with an optional split, column mapping, fraction and mixture weight;
:func:`build_dataset` loads them, maps every row to TRL's prompt/completion shape with the shared
format from :mod:`octo_trainer.formats`, and mixes them.

Heavy imports (``datasets``) happen inside the functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octo_trainer.formats import get_format

#: The roles a source's columns can be mapped to.
ROLES = ("instruction", "response", "context")
_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}


@dataclass
class DataSource:
    """One source of the mixture.

    ``path`` is a Hub dataset id, a local dataset directory, or a local ``.json``/``.jsonl``/
    ``.parquet`` file (then loaded with the matching builder). ``name``, ``data_dir``,
    ``data_files`` and ``split`` go to ``datasets.load_dataset``. ``columns`` maps roles
    (``instruction``, ``response``, ``context``) to this source's column names and overrides the
    defaults of :class:`DataArguments`. ``fraction`` keeps that share of the source's rows (after a
    seeded shuffle); ``weight`` is the source's share of the mixture (see :func:`mix`).
    ``instruction_template`` (with ``{instruction}``) wraps the raw instruction column, e.g.
    Magicoder's ``"Write a solution to the following coding problem:\n{instruction}"``.
    """

    path: str
    name: str | None = None
    data_dir: str | None = None
    data_files: str | list[str] | dict[str, str] | None = None
    split: str = "train"
    columns: dict[str, str] | None = None
    fraction: float = 1.0
    weight: float | None = None
    instruction_template: str | None = None

    def __post_init__(self) -> None:
        template = self.instruction_template
        if template is not None and "{instruction}" not in template:
            raise ValueError("instruction_template must contain '{instruction}'")
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction} for {self.path}")
        if self.weight is not None and self.weight < 0:
            raise ValueError(f"weight must be >= 0, got {self.weight} for {self.path}")
        unknown = set(self.columns or {}) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown column roles {sorted(unknown)} for {self.path}: use {ROLES}")


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
        self.datasets = [
            DataSource(**source) if isinstance(source, dict) else source
            for source in self.datasets
        ]
        get_format(self.prompt_format)  # fail early on an unknown name

    def columns_for(self, source: DataSource) -> dict[str, str | None]:
        """The role → column mapping of ``source``, defaults filled in."""
        mapping: dict[str, str | None] = {
            "instruction": self.instruction_column,
            "response": self.response_column,
            "context": self.context_column,
        }
        mapping.update(source.columns or {})
        return mapping


def load_source(source: DataSource):
    """Load one source as a ``datasets.Dataset``."""
    import datasets

    local = Path(os.path.expanduser(source.path))
    if local.is_file():
        builder = _FILE_BUILDERS.get(local.suffix.lower())
        if builder is None:
            raise ValueError(f"cannot load {local}: use one of {sorted(_FILE_BUILDERS)}")
        return datasets.load_dataset(builder, data_files=str(local), split=source.split)
    return datasets.load_dataset(
        str(local) if local.is_dir() else source.path,
        name=source.name,
        data_dir=source.data_dir,
        data_files=source.data_files,
        split=source.split,
    )


def to_prompt_completion(
    dataset,
    format_name: str,
    columns: dict[str, str | None],
    instruction_template: str | None = None,
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
        prompt, completion = fmt.split(
            instruction,
            row[columns["response"]],
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
                part, args.prompt_format, args.columns_for(source), source.instruction_template
            )
        )
    return mix(parts, [source.weight for source in args.datasets], args.mixture_seed)

"""Data sources that are ``datasets`` builder classes, run the datasets >= 4 way (no scripts).

A source ``builder: commitpackft`` (a short name from :data:`BUILDERS`) or
``builder: my_package.module.MyBuilder`` (any ``datasets.DatasetBuilder`` subclass) is
``Builder(config_name=name, cache_dir=..., data_dir=..., data_files=..., **builder_kwargs)``,
then ``download_and_prepare(num_proc=...)`` and ``as_dataset(split)``. The short names bring the
role mapping of their rows (:data:`COMMIT_ROWS`), so no ``column_map`` is needed.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from dataclasses import dataclass

from octo_trainer.errors import RecipeError

#: Builder arguments set on the source itself, never in ``builder_kwargs``.
SOURCE_LEVEL = ("name", "data_dir", "data_files", "cache_dir")


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
    # OctoCoder's mix rebuilt (bigcode/guanaco-commits' form): `prompt` is the bare question, rendered
    # with the recipe's format, as the octocoder recipes render the Hub copy.
    "octocoder-mix": KnownBuilder(
        "commitpack_dataset.octocoder_mix.OctoCoderMix",
        {"instruction": "prompt", "response": "completion"},
    ),
}


def available_builders() -> str:
    return f"{', '.join(BUILDERS)} or the import path of a datasets.DatasetBuilder (pkg.mod.Class)"


def builder_class(name: str) -> type:
    """The ``datasets.DatasetBuilder`` subclass for a short name or an import path."""
    import datasets

    target = BUILDERS[name].target if name in BUILDERS else name
    module_name, _, class_name = target.rpartition(".")
    try:
        module = importlib.import_module(module_name) if module_name else None
    except ImportError as error:
        raise RecipeError(
            f"cannot import builder {name!r} ({error}): use {available_builders()}"
        ) from error
    found = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, datasets.DatasetBuilder)):
        raise RecipeError(f"{name!r} is not a datasets builder: use {available_builders()}")
    return found


def check_builder_options(cls: type, source) -> None:
    """Refuse a config name or ``builder_kwargs`` the builder lacks, naming the valid ones."""
    configs = cls.builder_configs
    if source.name is not None and configs and source.name not in configs:
        raise RecipeError(
            f"builder {source.builder} has no config {source.name!r}: set `name` to one of "
            f"{', '.join(configs)}"
        )
    config_class = cls.BUILDER_CONFIG_CLASS
    fields = [f.name for f in dataclasses.fields(config_class) if f.name not in SOURCE_LEVEL]
    unknown = sorted(set(source.builder_kwargs or {}) - set(fields))
    if unknown:
        raise RecipeError(
            f"unknown builder_kwargs {unknown} for builder {source.builder} "
            f"({config_class.__name__}): use {', '.join(fields)}; set "
            f"{', '.join(SOURCE_LEVEL)} on the source itself"
        )


def load_builder_source(source):
    """Instantiate, prepare and read a builder source (``Builder(config_name=..., **kwargs)``)."""
    cls = builder_class(source.builder)
    check_builder_options(cls, source)
    given = {
        "cache_dir": expand_path(source.cache_dir),
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


def expand_path(path: str | None) -> str | None:
    """``path`` with ``~`` expanded (``None`` stays ``None``)."""
    return None if path is None else os.path.expanduser(path)

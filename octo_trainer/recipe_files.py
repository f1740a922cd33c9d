"""Recipe files: finding the one ``--config`` names, and writing the resolved one a run used.

``--config`` takes a YAML path, the name of a shipped recipe (``magicoder/lora``, ``.yaml``
optional; :func:`list_recipes` lists them; the YAML lives in the package data directory
``octo_trainer/recipes/``) or a Hub URL ``hf://owner/repo[@revision]/path.yaml``, pulled with
:func:`hub_cards.pull_recipe` (``HF_ENDPOINT``/``HF_TOKEN`` apply) and named by its URL pinned to
the commit it came from. :func:`resolve_config_arg` turns the value in an argument list into a
local file before ``trl.TrlParser`` reads it.

Every run writes ``recipe.yaml`` (:func:`save_resolved_recipe`): each field that differs from its
dataclass default, which parses back with ``--config`` to the same configuration.
"""

from __future__ import annotations

import dataclasses
import enum
from importlib import metadata
from pathlib import Path
from typing import Any

from hub_cards import is_recipe_url, pull_recipe
from octo_trainer.errors import UnknownRecipeError, did_you_mean

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
RESOLVED_RECIPE = "recipe.yaml"
#: Never written into the resolved recipe: secrets, and deprecated aliases of other fields
#: (``gradient_checkpointing`` mirrors ``activation_checkpointing`` and warns when given).
_SKIPPED_FIELDS = frozenset(
    {"hub_token", "gradient_checkpointing", "gradient_checkpointing_kwargs"}
)


def list_recipes() -> list[str]:
    """Names of the shipped recipes, e.g. ``["magicoder/full", ...]``."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in RECIPES_DIR.glob("*/*.yaml"))


def recipe_path(name: str) -> Path:
    """A shipped recipe by name (``"magicoder/lora"``, ``.yaml`` optional), or ``name`` as a path.

    An existing file wins over a shipped recipe of the same name.
    """
    path = Path(name)
    if path.is_file():
        return path
    shipped = RECIPES_DIR / (name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    if shipped.is_file():
        return shipped
    names = list_recipes()
    stem = name.removesuffix(".yaml").removesuffix(".yml")
    raise UnknownRecipeError(
        f"--config {name!r} is neither a recipe file nor a shipped recipe{did_you_mean(stem, names)}: "
        f"give a YAML path, hf://owner/repo/path.yaml or one of {', '.join(names)}"
    )


def resolve_config(value: str) -> tuple[Path, str]:
    """The local file for a ``--config`` value, and the recipe's name for the model card.

    ``hf://...`` (or the Hub web URL of a file) is pulled with :func:`hub_cards.pull_recipe` and
    named by its URL pinned to the commit it came from; anything else goes through
    :func:`recipe_path` and keeps the name it was given.
    """
    if is_recipe_url(value):
        pulled = pull_recipe(value)
        return pulled.path, pulled.pinned_url
    return recipe_path(value), value


def resolve_config_arg(args: list[str]) -> str | None:
    """Replace the value after ``--config`` in ``args`` by a local file; return the recipe's name."""
    if "--config" not in args:
        return None
    index = args.index("--config") + 1
    if index >= len(args):
        return None
    path, source = resolve_config(args[index])
    args[index] = str(path)
    return source


def resolved_recipe(*configs: Any) -> dict[str, Any]:
    """One flat mapping of every field that differs from its dataclass default.

    It parses back with ``--config`` to the same configuration. Secrets (``hub_token``) and
    deprecated aliases are left out.
    """
    recipe: dict[str, Any] = {}
    for config in configs:
        for f in dataclasses.fields(config):
            if not f.init or f.name in _SKIPPED_FIELDS:
                continue
            value = plain(getattr(config, f.name))
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = dataclasses.MISSING
            if default is dataclasses.MISSING or value != plain(default):
                recipe[f.name] = value
    return recipe


def save_resolved_recipe(path: Path, *configs: Any) -> Path:
    """Write :func:`resolved_recipe` as YAML with a header naming the library versions."""
    import yaml

    from octopack_common import write_text_atomic

    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("trl", "transformers", "peft", "torch")
    )
    header = f"# Resolved octopack SFT recipe (re-run with --config); {versions}\n"
    body = yaml.safe_dump(resolved_recipe(*configs), sort_keys=False, allow_unicode=True)
    write_text_atomic(path, header + body)
    return path


def plain(value: Any) -> Any:
    """Make ``value`` YAML-safe: dataclasses to dicts, enums to values, tuples to lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    return value

"""``trl.TrlParser`` for octopack recipes: ``--config`` by name or Hub URL, and one-line errors.

:class:`RecipeParser` is ``TrlParser`` (recipe YAML plus command-line overrides, unknown keys
refused) with three differences a user sees:

* ``--config`` also takes a shipped recipe's name or an ``hf://`` URL
  (:func:`octo_trainer.recipe_files.resolve_config_arg`); what it resolved to is kept in
  :attr:`RecipeParser.recipe_source` for the model card.
* Every mistake is a :class:`~octo_trainer.errors.RecipeError` naming the fix: an unknown key in
  the recipe or on the command line names the closest valid key, a bad value the field, a
  recipe that is not a YAML mapping its file.
* ``argparse`` errors print one line (``prog: error: ...``), not the usage of several hundred
  options.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from trl import TrlParser

from octo_trainer.data import DataSource
from octo_trainer.errors import RecipeError, did_you_mean
from octo_trainer.recipe_files import resolve_config_arg


class RecipeParser(TrlParser):
    """``TrlParser`` with shipped-name/``hf://`` ``--config`` values and one-line errors."""

    def __init__(self, dataclass_types=None, **kwargs):
        super().__init__(dataclass_types, **kwargs)
        #: What ``--config`` named (a shipped name, a path, or an ``hf://`` URL pinned to its
        #: commit), after :meth:`parse_args_and_config`; ``None`` without ``--config``.
        self.recipe_source: str | None = None

    @staticmethod
    def use_source_specs(parser: argparse.ArgumentParser) -> None:
        """Parse ``--datasets`` values with :meth:`DataSource.from_cli` (``PATH:KEY=VALUE,...``
        or JSON) instead of ``DataSource(path)``."""
        for action in parser._actions:
            if action.dest == "datasets":
                action.type, action.metavar = DataSource.from_cli, "SOURCE"

    def parse_args_and_config(self, args: Iterable[str] | None = None,
                              return_remaining_strings: bool = False,
                              fail_with_unknown_args: bool = True,
                              separate_remaining_strings: bool = False):
        """As ``TrlParser.parse_args_and_config``; mistakes raise :class:`RecipeError`."""
        import sys

        import yaml

        args = list(sys.argv[1:] if args is None else args)
        self.recipe_source = resolve_config_arg(args)
        try:
            *parsed, from_config, from_cli = super().parse_args_and_config(
                args, return_remaining_strings=True, separate_remaining_strings=True
            )
        except RecipeError:
            raise
        except yaml.YAMLError as error:
            raise RecipeError(f"recipe {self.recipe_source!r} is not valid YAML: "
                              f"{' '.join(str(error).split())}") from error
        except (ValueError, TypeError) as error:
            where = f" (recipe {self.recipe_source})" if self.recipe_source else ""
            raise RecipeError(f"{' '.join(str(error).split())}{where}") from error
        if return_remaining_strings:
            remaining = (from_config, from_cli) if separate_remaining_strings else (from_config + from_cli,)
            return (*parsed, *remaining)
        if fail_with_unknown_args:
            self._refuse_unknown(from_config, from_cli)
        return tuple(parsed)

    def _refuse_unknown(self, from_config: list[str], from_cli: list[str]) -> None:
        keys = [action.dest for action in self._actions if action.dest != "help"]
        for key in from_config[::2]:  # "--key", "value" pairs built from the YAML
            name = key.removeprefix("--")
            raise RecipeError(
                f"unknown recipe key {name!r}{did_you_mean(name, keys)} in {self.recipe_source}: "
                f"keys are fields of TRL's SFTConfig and ModelConfig or octopack's DataArguments "
                f"({self.prog} --help lists them)"
            )
        for item in from_cli:
            if item.startswith("--"):
                name = item.removeprefix("--").partition("=")[0]
                raise RecipeError(
                    f"unknown option --{name}{did_you_mean(name, keys, shown='--{}')}: "
                    f"{self.prog} --help lists the options"
                )
            raise RecipeError(f"unexpected argument {item!r}: options are --key value pairs "
                              f"({self.prog} --help lists them)")

    def error(self, message: str):
        """One line, not the usage of every option."""
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help lists the options)\n")

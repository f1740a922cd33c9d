"""User errors of a training recipe, and the "did you mean" hint they carry.

A :class:`RecipeError` is a mistake in what the user wrote (a recipe key, a value, a data source,
a column map), never a bug: ``octopack sft`` prints its message as one line and exits with status
2, without a traceback. Each message names the problem and the fix. It is a ``ValueError``, so
code that called the trainer's functions directly and caught ``ValueError`` keeps working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RecipeError(ValueError):
    """A mistake in a recipe, a command-line flag or a data source, with the fix in its message."""


class UnknownRecipeError(RecipeError, FileNotFoundError):
    """``--config`` names neither a file nor a shipped recipe."""


def did_you_mean(name: str, choices: Iterable[str], *, shown: str = "'{}'") -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices`` to ``name``, else ``""``;
    ``shown`` formats the choice (e.g. ``"--{}"``)."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {shown.format(close[0])}?)" if close else ""

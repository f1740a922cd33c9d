"""The command-line form of a data source: ``--datasets PATH[:KEY=VALUE,...]`` or JSON.

``PATH[:KEY=VALUE,...]``: each ``KEY`` is a column-map key -- an octopack role (``instruction``,
``response``, ``context``: rendered with the prompt format) or a TRL column (``prompt``,
``completion``, ``messages``, ``text``: taken as they are) -- or one of :data:`SPEC_OPTIONS`;
e.g. ``rows.jsonl:instruction=question,response=answer,weight=2``. The options start after the
last ``:`` that is followed by ``key=value`` pairs only, so ``hf://...`` and ``C:\\...`` paths
without options stay whole. A value holding ``,`` or ``=`` needs the JSON form, an object of
:class:`~octo_trainer.data.DataSource` fields: ``{"path": "rows.jsonl", "column_map": {...}}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from octo_trainer.errors import RecipeError, did_you_mean
from octo_trainer.row_formats import MAP_KEYS

#: Source fields a command-line spec ``PATH:KEY=VALUE,...`` may set, with their value types.
SPEC_OPTIONS = {"split": str, "name": str, "data_dir": str, "cache_dir": str, "subsample": float,
                "weight": float, "num_proc": int}
_SPEC = re.compile(r"^(?P<path>.+?):(?P<options>\w+=[^,=]*(?:,\w+=[^,=]*)*)$")

DATASETS_HELP = (
    "Sources of the mixture. In a recipe: a YAML list of mappings (path or builder, split, "
    "columns, column_map, subsample, weight, ...). On the command line: PATH[:KEY=VALUE,...], "
    "each KEY a column-map key (instruction, response, context: rendered with the prompt "
    "format; prompt, completion, messages, text: TRL's formats, taken as they are) or one of "
    f"{', '.join(SPEC_OPTIONS)}, e.g. rows.jsonl:instruction=question,response=answer; or a "
    "JSON object of source fields. Without a column map, rows with prompt/completion, messages "
    "or text train as TRL's SFTTrainer trains them, and instruction/response rows are rendered "
    "with the prompt format."
)


def parse_spec(text: str) -> dict[str, Any]:
    """The source fields (a mapping for ``DataSource``) that ``text`` describes."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise RecipeError(f"data source {text!r} is not valid JSON ({error})") from None
        return value
    match = _SPEC.match(text)
    if match is None:
        return {"path": text}
    path, options, column_map = match["path"], {}, {}
    for item in match["options"].split(","):
        key, _, value = item.partition("=")
        if key in MAP_KEYS:
            column_map[key] = value
        elif key in SPEC_OPTIONS:
            try:
                options[key] = SPEC_OPTIONS[key](value)
            except ValueError:
                raise RecipeError(f"data source {text!r}: {key} must be a "
                                  f"{SPEC_OPTIONS[key].__name__}, got {value!r}") from None
        else:
            keys = (*MAP_KEYS, *SPEC_OPTIONS)
            raise RecipeError(
                f"data source {text!r}: unknown key {key!r}{did_you_mean(key, keys)}; use "
                f"{', '.join(keys)}, or a JSON object of source fields"
            )
    return {"path": path, **({"column_map": column_map} if column_map else {}), **options}


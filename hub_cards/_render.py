"""Render a card from a Jinja template shipped in ``hub_cards/templates/``.

Like ``huggingface_hub.RepoCard.from_template`` (the YAML of the card data goes into ``card_data``,
the card data's fields and the keyword arguments are the template's variables), but with
``StrictUndefined``: a misspelt variable is an error instead of an empty string in a published card.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def template_path(name: str) -> Path:
    path = TEMPLATES_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"hub_cards template {name} is missing from {TEMPLATES_DIR}")
    return path


def environment():
    """The Jinja environment of the shipped templates (they may ``extends``/``include`` each other)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False,
    )
    env.filters["fence"] = fence
    env.filters["code_literal"] = code_literal
    env.filters["cell"] = table_cell
    env.filters["percent"] = percent
    return env


def render_text(template: str, **variables: Any) -> str:
    """A shipped template (or a part of one) rendered to text."""
    template_path(template)
    return environment().get_template(template).render(**variables)


def render_card(card_class, card_data, template: str, **variables: Any):
    """``card_class`` (``ModelCard``, ``DatasetCard``...) rendered from ``templates/<template>``."""
    values = card_data.to_dict()
    values.update(variables)
    return card_class(render_text(template, card_data=card_data.to_yaml(), **values))


def fence(text: str, language: str = "") -> str:
    """``text`` in a Markdown code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{language}\n{text.rstrip(chr(10))}\n{marks}"


def code_literal(text: str) -> str:
    """Inline Markdown code for ``text`` (backticks inside are handled)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{marks}{pad}{text}{pad}{marks}"


def percent(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage, e.g. ``0.3125 -> "31.2"`` (``-`` when missing)."""
    if value is None:
        return "-"
    return f"{100 * float(value):.{digits}f}"


def table_cell(value: Any) -> str:
    """``value`` as one Markdown table cell: pipes escaped, newlines as spaces, ``-`` when empty."""
    if value is None or value == "":
        return "-"
    return str(value).replace("|", "\\|").replace("\n", " ")

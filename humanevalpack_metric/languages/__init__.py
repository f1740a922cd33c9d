"""The six HumanEvalPack execution languages, one module each, behind one interface.

The registry is built from the classes themselves: each answers to its ``name`` (the config name
in ``bigcode/humanevalpack``) and its ``aliases``, case-insensitively.
"""

from __future__ import annotations

from .base import Language, Tool, ToolchainMissing
from .compiled import CompiledLanguage
from .cpp import Cpp
from .go import Go
from .java import Java
from .javascript import JavaScript
from .python import Python
from .rust import Rust

_CLASSES: tuple[type[Language], ...] = (Python, JavaScript, Java, Go, Cpp, Rust)
LANGUAGES = tuple(cls.name for cls in _CLASSES)
_BY_NAME = {key.lower(): cls for cls in _CLASSES for key in (cls.name, *cls.aliases)}


def language_class(name: str) -> type[Language]:
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        aliases = sorted(key for key in _BY_NAME if key not in LANGUAGES)
        raise ValueError(f"unknown language {name!r}: use one of {', '.join(LANGUAGES)} "
                         f"(aliases: {', '.join(aliases)})") from None


def get_language(name: str, corrected: bool = False) -> Language:
    return language_class(name)(corrected=corrected)


__all__ = ["LANGUAGES", "CompiledLanguage", "Language", "Tool", "ToolchainMissing",
           "get_language", "language_class"]

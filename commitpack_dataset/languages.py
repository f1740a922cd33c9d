"""The CommitPack language map: file path -> language display name -> Hub config name.

The map ships as package data (``data/programming_languages.json``: display name -> list of
suffixes). Lookup follows reference A.3:

- suffixes carry their leading dot (``.py``); the lookup key is the dotted suffix;
- multi-dot suffixes (``.cmake.in``) are tried longest first, before the last extension;
- bare filenames (``Dockerfile``, ``Makefile``) are matched against the whole basename;
- matching is case-sensitive (``.C`` is C++, ``.c`` is C).
"""

from __future__ import annotations

import functools
import json
import posixpath
from importlib import resources
from typing import Dict, List, Optional

# Hub config names that cannot be derived by lowercasing + space replacement alone (A.4).
_CONFIG_NAME_RENAMES = {
    "cap'n-proto": "capn-proto",
    "graphviz-(dot)": "graphviz-dot",
    "ren'py": "renpy",
}


@functools.lru_cache(maxsize=1)
def language_extensions() -> Dict[str, List[str]]:
    """Return the shipped map: language display name -> list of suffixes / bare filenames."""
    text = resources.files("commitpack_dataset").joinpath("data/programming_languages.json").read_text("utf-8")
    return json.loads(text)


class LanguageMap:
    """Resolves a file path to a language display name with the A.3 rules."""

    def __init__(self, extensions: Optional[Dict[str, List[str]]] = None):
        extensions = language_extensions() if extensions is None else extensions
        self.suffix_to_language: Dict[str, str] = {}
        self.filename_to_language: Dict[str, str] = {}
        for language, suffixes in extensions.items():
            for suffix in suffixes:
                target = self.suffix_to_language if suffix.startswith(".") else self.filename_to_language
                target[suffix] = language
        self.max_dots = max((s.count(".") for s in self.suffix_to_language), default=1)

    def language_of(self, path: str) -> Optional[str]:
        """Return the display name for ``path`` or ``None`` when no rule matches."""
        basename = posixpath.basename(path)
        if basename in self.filename_to_language:
            return self.filename_to_language[basename]
        parts = basename.split(".")
        # Longest candidate suffix first: ".a.b.c", then ".b.c", then ".c".
        # parts[0] is the stem (empty for dotfiles: ".bashrc" -> suffix ".bashrc").
        for n_parts in range(min(self.max_dots, len(parts) - 1), 0, -1):
            suffix = "." + ".".join(parts[-n_parts:])
            language = self.suffix_to_language.get(suffix)
            if language is not None:
                return language
        return None


@functools.lru_cache(maxsize=1)
def default_language_map() -> LanguageMap:
    """The shared LanguageMap built from the shipped JSON."""
    return LanguageMap()


def language_of(path: str) -> Optional[str]:
    """Language display name for ``path`` (e.g. ``"Python"``), or ``None`` if unmatched."""
    return default_language_map().language_of(path)


def config_name(display_name: str) -> str:
    """Hub config/directory name of a language: lowercase, spaces -> ``-``, three renames (A.4)."""
    name = display_name.lower().replace(" ", "-")
    return _CONFIG_NAME_RENAMES.get(name, name)


def all_config_names() -> Dict[str, str]:
    """Map config name -> display name for every language in the shipped map."""
    return {config_name(language): language for language in language_extensions()}

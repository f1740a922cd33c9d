"""The six HumanEvalPack execution languages, one module each, behind one interface."""

from __future__ import annotations

import importlib

from .base import Language, Tool, ToolchainMissing

# config name -> "module:Class"; modules import lazily so a missing one does not break the rest
_REGISTRY = {
    "python": "python:Python",
    "js": "javascript:JavaScript",
    "java": "java:Java",
    "go": "go:Go",
    "cpp": "cpp:Cpp",
    "rust": "rust:Rust",
}
LANGUAGES = tuple(_REGISTRY)
_ALIASES = {"javascript": "js", "c++": "cpp", "py": "python", "golang": "go", "rs": "rust"}


def language_class(name: str) -> type[Language]:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        raise ValueError(
            f"unknown language {name!r}: use one of {', '.join(LANGUAGES)} "
            f"(aliases: {', '.join(sorted(_ALIASES))})"
        )
    module_name, class_name = _REGISTRY[key].split(":")
    module = importlib.import_module(f".{module_name}", __name__)
    return getattr(module, class_name)


def get_language(name: str, corrected: bool = False) -> Language:
    return language_class(name)(corrected=corrected)


__all__ = ["LANGUAGES", "Language", "Tool", "ToolchainMissing", "get_language", "language_class"]

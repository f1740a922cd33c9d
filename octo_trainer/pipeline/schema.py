"""Typed YAML for the pipeline config: a dataclass tree built from nested mappings, with one-line
errors that name the bad key, its section and the valid keys (close matches first).

:func:`build` turns ``{"sft": {"recipe": ...}}`` into ``PipelineConfig(sft=SFTStage(...))``,
checking every value against the field's annotation (``str``, ``int``, ``float``, ``bool``,
``X | None``, ``list[X]``, ``dict[str, Any]``, a nested dataclass) and ``metadata["choices"]``.
:func:`apply_override` sets one ``section.key=value`` (the value read as YAML), as the command
line's ``--set`` does. :func:`to_plain` is the inverse of :func:`build`.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any


class ConfigError(ValueError):
    """A pipeline config mistake; the message names the key and how to fix it."""


def did_you_mean(name: str, valid: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest valid names (those nearly as close as the best)."""
    scored = sorted(((difflib.SequenceMatcher(None, name, v).ratio(), v) for v in valid), reverse=True)
    close = [v for score, v in scored if score >= 0.5 and score >= scored[0][0] - 0.15][:3] if scored else []
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _field_types(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _describe(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(_describe(a) for a in parts) + " or null"
    if origin is list:
        return f"a list of {_describe(typing.get_args(annotation)[0])}"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(annotation):
        return "a mapping"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        annotation, getattr(annotation, "__name__", str(annotation)))


def _coerce(value: Any, annotation, where: str):
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError as error:
                errors.append(error)
        raise ConfigError(f"{where}: expected {_describe(annotation)}, got {value!r}")
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping of {', '.join(field_names(annotation))}, "
                              f"got {value!r}")
        return build(annotation, value, where)
    if origin is list:
        (item,) = typing.get_args(annotation)
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected {_describe(annotation)}, got {value!r} "
                              f"(write a YAML list: [{value!r}])")
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise TypeError(f"unsupported annotation {annotation!r} at {where}")


def field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def build(cls, mapping: Mapping[str, Any], where: str = ""):
    """``cls(**mapping)`` with every key and value checked (see the module docstring)."""
    hints = _field_types(cls)
    names = field_names(cls)
    kwargs = {}
    for key, value in mapping.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in names:
            section = f"section {where!r}" if where else "the top level"
            raise ConfigError(f"unknown key {path!r}{did_you_mean(str(key), names)} "
                              f"(valid keys of {section}: {', '.join(names)})")
        spec = next(f for f in dataclasses.fields(cls) if f.name == key)
        coerced = _coerce(value, hints[key], path)
        if isinstance(coerced, dict) and not dataclasses.is_dataclass(hints[key]) \
                and spec.default_factory is not dataclasses.MISSING:
            coerced = {**spec.default_factory(), **coerced}  # a mapping's default keys stay unless set
        choices = spec.metadata.get("choices")
        if choices and coerced is not None:
            for item in coerced if isinstance(coerced, list) else [coerced]:
                if item not in choices:
                    raise ConfigError(f"{path}: {item!r} is not one of {', '.join(map(str, choices))}"
                                      f"{did_you_mean(str(item), [str(c) for c in choices])}")
        kwargs[key] = coerced
    try:
        return cls(**kwargs)
    except ConfigError as error:
        raise ConfigError(f"{where + ': ' if where else ''}{error}") from None


def to_plain(config) -> dict[str, Any]:
    """The config as plain YAML-able values (the inverse of :func:`build`)."""
    return dataclasses.asdict(config)


def apply_override(plain: dict[str, Any], assignment: str, root_cls) -> None:
    """Set ``a.b.c=value`` in ``plain`` (``value`` parsed as YAML); unknown keys are errors."""
    import yaml

    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: write KEY=VALUE, e.g. --set eval.limit=5")
    key, text = assignment.split("=", 1)
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {assignment!r}: the value is not YAML ({error})") from None
    parts = key.strip().split(".")
    cls, node, path = root_cls, plain, []
    for part in parts[:-1]:
        path.append(part)
        names = field_names(cls) if cls is not None else None
        if names is not None and part not in names:
            where = ".".join(path[:-1]) or "the top level"
            raise ConfigError(f"--set {key}: unknown key {'.'.join(path)!r}{did_you_mean(part, names)} "
                              f"(valid keys of {where}: {', '.join(names)})")
        hint = _field_types(cls).get(part) if cls is not None else None
        cls = hint if dataclasses.is_dataclass(hint) else None
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value

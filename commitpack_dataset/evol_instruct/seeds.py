"""Evol-Instruct seeds from any dataset: Code Alpaca rows, ``messages`` conversations, or columns
named by a mapping.

A seed is an instruction and (optionally) its answer. How a row becomes one (``seed_format``):

* ``alpaca``: ``instruction``, optional ``input``, ``output`` (or ``response``). The instruction is
  the stripped ``instruction``, plus a line break and the stripped ``input`` when there is one (as
  evol-teacher converts Code Alpaca; WizardLM joins the two the same way, E.6);
* ``messages``: the first ``user`` message is the instruction, the ``assistant`` message right
  after it the answer (a ``system`` message is ignored);
* ``prompt_completion``: ``prompt`` and ``completion`` (TRL's form);
* ``columns``: ``seed_columns`` maps ``instruction`` (required), ``input`` and ``output`` to the
  dataset's column names, e.g. ``{"instruction": "question", "output": "answer"}``;
* ``auto`` (default): ``columns`` when a mapping is given, else the first of ``messages``,
  ``alpaca`` (an ``instruction`` column) and ``prompt_completion`` the columns allow.

``seed_start`` / ``max_seeds`` slice the rows before anything else; a row whose instruction is
empty is skipped and counted (``seed_empty_instruction``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

SEED_FORMATS = ("auto", "alpaca", "messages", "prompt_completion", "columns")


@dataclasses.dataclass(frozen=True)
class Seed:
    index: int  # position among the considered rows
    instruction: str
    response: str  # "" when the seed data has no answer
    source: str  # "<dataset>:<row>"

    @property
    def fingerprint(self) -> str:
        return row_fingerprint("", 0, "seed", self.instruction, self.response)


def row_fingerprint(parent: str, round_number: int, method: str, instruction: str, response: str = "") -> str:
    """The lineage fingerprint of a row: SHA-256 over its parent, round, method and texts."""
    text = "\0".join(["evol-instruct-row", parent, str(round_number), method, instruction, response])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolve_format(columns: Sequence[str], seed_format: str = "auto",
                   seed_columns: Mapping[str, str] | None = None) -> str:
    """The seed format to read rows with these ``columns`` (see the module docstring)."""
    if seed_format not in SEED_FORMATS:
        raise ValueError(f"unknown seed_format {seed_format!r}: use one of {', '.join(SEED_FORMATS)}")
    columns = list(columns)
    if seed_format == "auto":
        if seed_columns:
            seed_format = "columns"
        elif "messages" in columns:
            seed_format = "messages"
        elif "instruction" in columns:
            seed_format = "alpaca"
        elif "prompt" in columns:
            seed_format = "prompt_completion"
        else:
            raise ValueError(f"cannot tell how to read seeds with columns {columns}: pass seed_columns="
                             "{'instruction': ..., 'input': ..., 'output': ...} (or seed_format=)")
    needed = {"alpaca": ["instruction"], "messages": ["messages"], "prompt_completion": ["prompt"],
              "columns": [c for c in (seed_columns or {}).values() if c]}[seed_format]
    if seed_format == "columns" and not (seed_columns or {}).get("instruction"):
        raise ValueError("seed_columns must map 'instruction' to a column (also 'input', 'output' if any)")
    if seed_format == "columns":
        unknown = sorted(set(seed_columns) - {"instruction", "input", "output"})
        if unknown:
            raise ValueError(f"unknown seed_columns keys {unknown}: use instruction, input, output")
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ValueError(f"the seed data has no column(s) {missing} for seed_format={seed_format!r} "
                         f"(its columns: {', '.join(columns)})")
    return seed_format


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def seed_texts(row: Mapping[str, Any], seed_format: str, seed_columns: Mapping[str, str] | None = None
               ) -> tuple[str, str]:
    """``(instruction, response)`` of one row in a resolved format."""
    if seed_format == "messages":
        messages = list(row.get("messages") or [])
        for position, message in enumerate(messages):
            if message.get("role") == "user":
                following = messages[position + 1] if position + 1 < len(messages) else {}
                answer = following.get("content") if following.get("role") == "assistant" else ""
                return _text(message.get("content")).strip(), _text(answer).strip()
        return "", ""
    if seed_format == "prompt_completion":
        return _text(row.get("prompt")).strip(), _text(row.get("completion")).strip()
    names = dict(seed_columns or {}) if seed_format == "columns" else {
        "instruction": "instruction", "input": "input",
        "output": "output" if "output" in row else "response"}
    instruction = _text(row.get(names["instruction"])).strip()
    extra = _text(row.get(names["input"])).strip() if names.get("input") else ""
    if instruction and extra:
        instruction = f"{instruction}\n{extra}"
    response = _text(row.get(names["output"])).strip() if names.get("output") else ""
    return instruction, response


def make_seeds(rows: Any, *, seed_format: str = "auto", seed_columns: Mapping[str, str] | None = None,
               seed_start: int = 0, max_seeds: int | None = None, source: str = "seeds",
               drops: Counter | None = None) -> list[Seed]:
    """Seeds from a ``datasets.Dataset`` or a sequence of dicts."""
    names = getattr(rows, "column_names", None)
    if names is None:
        rows = list(rows)
        names = list(rows[0]) if rows else []
    total = len(rows)
    if total == 0:
        return []
    resolved = resolve_format(names, seed_format, seed_columns)
    end = total if max_seeds is None else min(total, seed_start + max_seeds)
    seeds = []
    for index in range(seed_start, end):
        instruction, response = seed_texts(rows[index], resolved, seed_columns)
        if not instruction:
            if drops is not None:
                drops["seed_empty_instruction"] += 1
            continue
        seeds.append(Seed(index, instruction, response, f"{source}:{index}"))
    return seeds

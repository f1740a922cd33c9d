"""Any instruction dataset as instructions and responses: what the figures are computed on.

**Sources**: a ``datasets.Dataset``, a list of dicts, a local ``.json``/``.jsonl``(``.gz``)/``.parquet``
file, a directory (its ``data/`` folder when it has one -- the layout every octopack command
writes -- else its data files), or a Hub id (``load_dataset``).

**Columns** (the first that fits, or an explicit ``columns`` mapping of ``instruction``,
``input`` and ``response`` to column names), each the SFT view the row trains as:

=====================================  ==========================================================
rows of                                instruction / response
=====================================  ==========================================================
OSS-Instruct (``problem``, ``solution``)  problem / solution (Magicoder's analysis reads these)
``instruction``, ``response``          as they are (Evol-Instruct, Magicoder-Evol-Instruct-110K)
Code Alpaca (``instruction``,          instruction, plus ``\\nInput: {input}`` when there is one
``input``, ``output``)                 (Magicoder's SFT view, C.4) / output
``prompt``, ``completion``             as they are (the OctoCoder mix)
``messages``                           the first user turn / the assistant turn after it
CommitPackFT (``subject``,             subject + newline + old_contents (OctoCoder's prompt) /
``old_contents``, ``new_contents``)    new_contents
=====================================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DATA_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet")


@dataclasses.dataclass
class InstructionView:
    """One dataset's rows as instructions and responses (``rows`` are the source rows' indices)."""

    label: str
    source: str
    kind: str
    instructions: list[str]
    responses: list[str]
    rows: list[int]
    total_rows: int

    def __len__(self) -> int:
        return len(self.instructions)

    def texts(self) -> list[str]:
        """``instruction + " " + response`` of each row (the TF-IDF text of Magicoder's analysis)."""
        return [f"{i} {r}" for i, r in zip(self.instructions, self.responses)]


def _data_files(path: Path) -> list[str]:
    root = path / "data" if (path / "data").is_dir() else path
    files = sorted(str(p) for p in root.rglob("*") if p.is_file() and p.name.endswith(DATA_SUFFIXES))
    if not files:
        raise FileNotFoundError(f"no .jsonl/.json/.parquet files under {root}")
    return files


def load_rows(source: Any, split: str = "train"):
    """A ``datasets.Dataset`` (or the list given) of ``source`` (see the module docstring)."""
    import datasets

    if isinstance(source, (list, tuple)) or hasattr(source, "column_names"):
        return source
    path = Path(os.path.expanduser(str(source)))
    if path.exists():
        files = [str(path)] if path.is_file() else _data_files(path)
        kinds = {"parquet" if f.endswith(".parquet") else "json" for f in files}
        if len(kinds) > 1:
            raise ValueError(f"{source}: mixes Parquet and JSON files; point at one kind")
        return datasets.load_dataset(kinds.pop(), data_files=files, split="train")
    if str(source).startswith((".", "/", "~")) or str(source).endswith(DATA_SUFFIXES):
        raise FileNotFoundError(f"dataset not found: {source}")
    return datasets.load_dataset(str(source), split=split)


def _columns_of(rows: Any) -> list[str]:
    names = getattr(rows, "column_names", None)
    if names is not None:
        return list(names)
    return list(rows[0]) if rows else []


def resolve_kind(columns: Sequence[str], mapping: Mapping[str, str] | None = None) -> str:
    """Which of the row kinds of the module docstring ``columns`` are (``"columns"`` for a mapping)."""
    present = set(columns)
    if mapping:
        unknown = sorted(set(mapping) - {"instruction", "input", "response"})
        missing = [c for c in mapping.values() if c not in present]
        if unknown or "instruction" not in mapping or "response" not in mapping:
            raise ValueError(f"columns must map instruction and response (and optionally input), got {dict(mapping)}")
        if missing:
            raise ValueError(f"the dataset has no column(s) {missing} (its columns: {', '.join(columns)})")
        return "columns"
    for kind, needed in (("oss-instruct", {"problem", "solution"}), ("instruction-response", {"instruction", "response"}),
                         ("code-alpaca", {"instruction", "output"}), ("prompt-completion", {"prompt", "completion"}),
                         ("messages", {"messages"}), ("commitpackft", {"subject", "old_contents", "new_contents"})):
        if needed <= present:
            return kind
    raise ValueError(f"cannot tell the instruction and the response of rows with columns {', '.join(columns)}: "
                     "give a column map, e.g. LABEL=PATH:instruction=question,response=answer")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def row_pair(row: Mapping[str, Any], kind: str, mapping: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(instruction, response)`` of one row of ``kind``."""
    if kind == "columns":
        instruction = _text(row[mapping["instruction"]])
        extra = _text(row[mapping["input"]]).strip() if mapping.get("input") else ""
        return (f"{instruction}\n{extra}" if extra else instruction), _text(row[mapping["response"]])
    if kind == "oss-instruct":
        return _text(row["problem"]), _text(row["solution"])
    if kind == "instruction-response":
        return _text(row["instruction"]), _text(row["response"])
    if kind == "code-alpaca":
        extra = _text(row.get("input")).strip()
        instruction = _text(row["instruction"])
        return (f"{instruction}\nInput: {extra}" if extra else instruction), _text(row["output"])
    if kind == "prompt-completion":
        return _text(row["prompt"]), _text(row["completion"])
    if kind == "messages":
        messages = list(row["messages"] or [])
        for position, message in enumerate(messages):
            if message.get("role") == "user":
                after = messages[position + 1] if position + 1 < len(messages) else {}
                return _text(message.get("content")), _text(after.get("content") if after.get("role") == "assistant" else "")
        return "", ""
    if kind == "commitpackft":
        return f"{_text(row['subject'])}\n{_text(row['old_contents'])}", _text(row["new_contents"])
    raise ValueError(f"unknown row kind {kind!r}")


def instruction_view(label: str, source: Any, *, columns: Mapping[str, str] | None = None, split: str = "train",
                     max_rows: int | None = None, seed: int = 0) -> InstructionView:
    """The instructions and responses of ``source``; with ``max_rows``, a seeded sample of that many
    rows (kept in source order)."""
    rows = load_rows(source, split)
    kind = resolve_kind(_columns_of(rows), columns)
    total = len(rows)
    chosen = list(range(total))
    if max_rows is not None and total > max_rows:
        chosen = sorted(random.Random(seed).sample(chosen, max_rows))
    subset = rows.select(chosen) if hasattr(rows, "select") else [rows[i] for i in chosen]
    pairs = [row_pair(row, kind, columns) for row in subset]
    name = source if isinstance(source, (str, os.PathLike)) else type(source).__name__
    return InstructionView(label, str(name), kind, [p[0] for p in pairs], [p[1] for p in pairs], chosen, total)

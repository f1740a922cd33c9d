"""Read the published CommitPack / CommitPackFT files (reference A.4) instead of mining.

Layout, on the Hub or in a local directory laid out like the Hub repository::

    data/<config>/<config>-0001.jsonl ...   # bigcode/commitpack
    data/<config>/data.jsonl                 # bigcode/commitpackft

``data_dir`` is the repository root: a local path or ``hf://datasets/bigcode/commitpackft``. Rows
keep the ten CommitPack fields; CommitPack's extra ``returncode``/``stderr`` are dropped.
"""

from __future__ import annotations

import json
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

ALL_LANGUAGES_PATTERN = "*"


def published_pattern(config: Optional[str]) -> str:
    """Glob, relative to the repository root, of the JSONL files of one config (``None``: every language)."""
    return f"data/{config or ALL_LANGUAGES_PATTERN}/*.jsonl"


def published_files(data_dir: str, config: Optional[str]) -> List[str]:
    """Sorted JSONL files of ``config`` under ``data_dir`` (local or ``hf://``); FileNotFoundError if none."""
    from datasets.data_files import resolve_pattern

    return sorted(resolve_pattern(published_pattern(config), base_path=data_dir))


def published_records(files: Sequence[str], fields: Sequence[str]) -> Iterator[Tuple[str, Dict[str, str]]]:
    """Yield ``(file:line key, record)`` for every row; missing fields raise ValueError naming the file."""
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                missing = [name for name in fields if name not in row]
                if missing:
                    raise ValueError(f"{path}:{number}: missing CommitPack fields {missing}")
                yield f"{path}:{number}", {name: row[name] for name in fields}

"""Read the released CommitPack / CommitPackFT files (reference A.4) instead of mining.

Layout, on the Hub or in a local directory laid out like the Hub repository::

    data/<config>/<config>-0001.jsonl ...   # bigcode/commitpack (12 fields: the 10 + returncode, stderr)
    data/<config>/data.jsonl                 # bigcode/commitpackft (10 fields)

``data_dir`` is the repository root: a local path or ``hf://datasets/bigcode/commitpackft``.
"""

from __future__ import annotations

import json
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from hub_cards.dataset_push import config_data_dir

ALL_LANGUAGES_PATTERN = "*"


def released_pattern(config: Optional[str]) -> str:
    """Glob, relative to the repository root, of the JSONL files of one config (``None``: every language)."""
    return f"{config_data_dir(config or ALL_LANGUAGES_PATTERN)}/*.jsonl"


def released_files(data_dir: str, config: Optional[str]) -> List[str]:
    """Sorted JSONL files of ``config`` under ``data_dir`` (local or ``hf://``); FileNotFoundError if none."""
    from datasets.data_files import resolve_pattern

    return sorted(resolve_pattern(released_pattern(config), base_path=data_dir))


def released_records(files: Sequence[str], fields: Sequence[str],
                     optional: Sequence[str] = ()) -> Iterator[Tuple[str, Dict[str, object]]]:
    """Yield ``(file:line key, record)`` for every row: ``fields`` (missing ones raise ValueError naming
    the file and line), then ``optional`` fields (``None`` when a row lacks them)."""
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                missing = [name for name in fields if name not in row]
                if missing:
                    raise ValueError(f"{path}:{number}: missing CommitPack fields {missing}")
                record = {name: row[name] for name in fields}
                record.update((name, row.get(name)) for name in optional)
                yield f"{path}:{number}", record

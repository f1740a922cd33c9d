"""D.5 cleaning: shuffle with seed 666, then drop a row when its seed, problem or solution --
with all whitespace removed -- was already seen in an earlier row."""

from __future__ import annotations

import random
from collections.abc import Sequence


def whitespace_free(text: str) -> str:
    return "".join(text.split())


def shuffle_and_dedup(rows: Sequence[dict], seed: int = 666) -> tuple[list[dict], list[tuple[dict, str]]]:
    """``(kept, [(row, reason), ...])`` with reasons ``duplicate_seed``, ``duplicate_problem``,
    ``duplicate_solution`` (the first that applies, as in the released script). A dropped row
    adds nothing to the seen sets."""
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    seen = {"seed": set(), "problem": set(), "solution": set()}
    kept, dropped = [], []
    for row in rows:
        keys = {field: whitespace_free(row[field]) for field in seen}
        duplicate = next((field for field in seen if keys[field] in seen[field]), None)
        if duplicate is not None:
            dropped.append((row, f"duplicate_{duplicate}"))
            continue
        for field, key in keys.items():
            seen[field].add(key)
        kept.append(row)
    return kept, dropped

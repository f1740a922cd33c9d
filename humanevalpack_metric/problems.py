"""HumanEvalPack problems: from the Hub dataset ``bigcode/humanevalpack`` or a local directory.

A local directory holds one JSONL file per language (``python.jsonl``, ``js.jsonl``, ...), as in
the octopack repository. Rows are normalised to the 15 Hub features: a missing ``import`` or
``test_setup`` becomes ``""`` and the extra ``text`` field is dropped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .languages import LANGUAGES, get_language

HUB_DATASET = "bigcode/humanevalpack"
FEATURES = (
    "task_id", "prompt", "declaration", "canonical_solution", "buggy_solution", "bug_type",
    "failure_symptoms", "entry_point", "import", "test_setup", "test", "example_test",
    "signature", "docstring", "instruction",
)


def _normalise(row: dict) -> dict:
    return {name: row.get(name) or "" for name in FEATURES}


def _task_number(task_id: str) -> int:
    return int(task_id.rsplit("/", 1)[1])


def load_problems(language: str, data_dir: str | os.PathLike | None = None,
                  revision: str | None = None) -> list[dict]:
    """All 164 problems of one language, ordered by task number.

    ``data_dir=None`` loads the Hub dataset (needs network or a warm ``datasets`` cache);
    a directory loads ``<data_dir>/<language>.jsonl``.
    """
    lang = get_language(language)
    if data_dir is None:
        import datasets  # heavy import, only on this path

        rows = datasets.load_dataset(HUB_DATASET, lang.name, split="test", revision=revision)
    else:
        path = Path(data_dir) / f"{lang.name}.jsonl"
        if not path.is_file():
            raise FileNotFoundError(
                f"no HumanEvalPack file for {lang.name!r} at {path}: the directory must hold "
                f"one JSONL per language ({', '.join(f'{n}.jsonl' for n in LANGUAGES)}); "
                "omit data_dir to load the Hub dataset bigcode/humanevalpack"
            )
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    problems = [_normalise(row) for row in rows]
    problems.sort(key=lambda p: _task_number(p["task_id"]))
    return problems


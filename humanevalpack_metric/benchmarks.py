"""HumanEval and MBPP as plain dicts: from the Hub by default, from a local JSONL file when told.

    from humanevalpack_metric.benchmarks import load_humaneval, load_mbpp, humaneval_docstring
    problems = load_humaneval()                        # Hub dataset openai/openai_humaneval
    problems = load_humaneval("HumanEval.jsonl.gz")    # the openai/human-eval release file
    mbpp = load_mbpp()                                 # the 500 test problems, task_id 11-510
    mbpp = load_mbpp("mbpp.jsonl", split=None)         # all 974 rows of the original file

``source`` is ``None`` (the default Hub dataset), a local file (``.jsonl`` or ``.jsonl.gz``), or
another Hub dataset id (the legacy ids ``openai_humaneval`` and ``mbpp`` redirect to the ones
used here). Rows come back in task order with exactly the documented fields, values as stored:

* HumanEval: ``task_id`` (``"HumanEval/0"``...), ``prompt``, ``canonical_solution``, ``test``,
  ``entry_point``.
* MBPP (the ``full`` config): ``task_id`` (int), ``text``, ``code``, ``test_list``,
  ``test_setup_code``, ``challenge_test_list``. MBPP's ``code`` keeps its ``\\r\\n`` line ends, as
  upstream and on the Hub; a copy serialised with CRLF line ends or ASCII escapes reads the same.

:func:`humaneval_docstring` extracts the docstring of a HumanEval prompt the way BigCode's and
Magicoder's decontamination does (the last triple-quoted block), also stripping the stray quote
of HumanEval/142's ``\"\"\"\"``.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

HUMANEVAL_HUB = "openai/openai_humaneval"
MBPP_HUB = "google-research-datasets/mbpp"
MBPP_CONFIG = "full"

HUMANEVAL_FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")
MBPP_FIELDS = ("task_id", "text", "code", "test_list", "test_setup_code", "challenge_test_list")

#: task_id ranges of MBPP's splits (the Hub's ``full`` config; the original paper's split).
MBPP_SPLITS = {
    "prompt": range(1, 11),
    "test": range(11, 511),
    "validation": range(511, 601),
    "train": range(601, 975),
}

def _is_local(source: str | os.PathLike[str]) -> bool:
    return isinstance(source, os.PathLike) or os.path.exists(source) or str(source).endswith(
        (".jsonl", ".jsonl.gz", ".json"))


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a JSONL file (gzipped when its name ends in ``.gz``); blank lines are skipped,
    CRLF line ends and a missing final newline are fine."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no benchmark file at {path}: pass the path of a .jsonl or "
                                ".jsonl.gz file, or None to load the Hub dataset")
    opener = gzip.open if path.name.endswith(".gz") else open
    rows = []
    with opener(path, "rt", encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not a JSON line ({error.msg}); the file must "
                                 "hold one JSON object per line") from error
    return rows


def _load_hub(repo_id: str, config: str | None, split: str, revision: str | None) -> list[dict]:
    import datasets  # heavy import, only on this path

    dataset = datasets.load_dataset(repo_id, config, split=split, revision=revision)
    return [dict(row) for row in dataset]


def _select(rows: list[dict], fields: tuple[str, ...], where: str) -> list[dict]:
    missing = [name for name in fields if rows and name not in rows[0]]
    if missing:
        raise ValueError(f"{where} lacks the field(s) {', '.join(missing)}: expected "
                         f"{', '.join(fields)}")
    return [{name: row[name] for name in fields} for row in rows]


def load_humaneval(source: str | os.PathLike[str] | None = None,
                   revision: str | None = None) -> list[dict[str, Any]]:
    """The 164 HumanEval problems, ordered by task number."""
    if source is not None and _is_local(source):
        rows, where = read_jsonl(source), str(source)
    else:
        repo_id = HUMANEVAL_HUB if source is None else str(source)
        rows, where = _load_hub(repo_id, None, "test", revision), repo_id
    problems = _select(rows, HUMANEVAL_FIELDS, where)
    problems.sort(key=lambda p: int(str(p["task_id"]).rsplit("/", 1)[1]))
    return problems


def load_mbpp(source: str | os.PathLike[str] | None = None, split: str | None = "test",
              revision: str | None = None) -> list[dict[str, Any]]:
    """MBPP problems (``full`` config) of one split, ordered by task_id; ``split=None`` keeps all.

    The default ``test`` split is the 500 problems task_id 11-510 that evaluation and
    decontamination use. A local file holding every split is cut by task_id (``MBPP_SPLITS``)."""
    if split is not None and split not in MBPP_SPLITS:
        raise ValueError(f"unknown MBPP split {split!r}: choose one of "
                         f"{', '.join(MBPP_SPLITS)} or None for every row")
    if source is not None and _is_local(source):
        rows, where = read_jsonl(source), str(source)
    else:
        repo_id = MBPP_HUB if source is None else str(source)
        splits = list(MBPP_SPLITS) if split is None else [split]
        rows = [row for name in splits for row in _load_hub(repo_id, MBPP_CONFIG, name, revision)]
        where = repo_id
    problems = _select(rows, MBPP_FIELDS, where)
    for problem in problems:
        problem["task_id"] = int(problem["task_id"])
    if split is not None:
        wanted = MBPP_SPLITS[split]
        problems = [p for p in problems if p["task_id"] in wanted]
        if len(problems) != len(wanted):
            raise ValueError(f"{where}: expected {len(wanted)} MBPP {split} problems (task_id "
                             f"{wanted.start}-{wanted.stop - 1}), found {len(problems)}")
    problems.sort(key=lambda p: p["task_id"])
    return problems


def humaneval_docstring(prompt: str) -> str:
    """The docstring of a HumanEval prompt: the text of the last triple-quoted block (``\"\"\"``,
    else ``'''``), stripped of whitespace and of a stray leading quote (HumanEval/142's ``\"\"\"\"``)."""
    for quote in ('"""', "'''"):
        count = prompt.count(quote)
        if count == 0:
            continue
        if count % 2:
            raise ValueError(f"unbalanced {quote} in the prompt: cannot extract its docstring")
        docstring = prompt.split(quote)[count - 1].strip()
        return docstring.lstrip(quote[0]).lstrip() if docstring.startswith(quote[0]) else docstring
    raise ValueError("the prompt has no triple-quoted docstring")

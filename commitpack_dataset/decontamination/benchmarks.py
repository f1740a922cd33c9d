"""The benchmark strings a data set is checked against, with where each one comes from.

A :class:`Benchmark` is a name and a list of :class:`BenchmarkString` (item id, field, kind,
text). ``kind`` is ``"text"`` for a natural-language problem statement and ``"code"`` for code
(prompts with signatures, reference solutions); the n-gram matcher uses the ``text`` strings by
default (see ``matching.py``). ``problem`` names the underlying problem: HumanEval/12 and
HumanEvalPack's Python/12 ... Rust/12 are all ``humaneval/12``, so that an n-gram seen in several
*problems* can be told from one seen in the six translations of one problem.

Built in (reference D.6, F, G.1):

* ``humaneval`` -- the docstring extracted from each ``prompt`` (text) and ``canonical_solution``
  (code), except the whitelisted trivial bodies;
* ``mbpp`` -- ``text`` (text) and ``code`` (code) of the 500 test problems, task_id 11-510;
* ``humanevalpack`` -- all six languages: ``docstring`` (text), ``prompt`` and
  ``canonical_solution`` (code); the solutions of the tasks whose bodies are whitelisted in
  Python (23, 28, 41, 53) are skipped in every language.

Any other benchmark: :meth:`Benchmark.from_dataset` (a ``datasets`` dataset, Hub id or local
path, and its fields) or :meth:`Benchmark.from_jsonl`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from humanevalpack_metric.benchmarks import humaneval_docstring, load_humaneval, load_mbpp, read_jsonl

#: HumanEval bodies generic enough to keep in training data (BigCode / Magicoder). The original
#: list spells the last entry ``"return " ".join(strings)"`` -- Python joins the two literals into
#: ``return .join(strings)``, which never matches; the intended body is HumanEval/28's.
TRIVIAL_SOLUTIONS = ("return x + y", "return len(string)", "return n**2", "return ''.join(strings)")
#: The HumanEval tasks whose Python bodies are the ones above (add, strlen, car_race_collision,
#: concatenate): their HumanEvalPack solutions are skipped in every language.
TRIVIAL_TASKS = frozenset({23, 28, 41, 53})

BUILTIN = ("humaneval", "mbpp", "humanevalpack")
KINDS = ("text", "code")


@dataclasses.dataclass(frozen=True)
class BenchmarkString:
    benchmark: str
    item: str  # the benchmark's own id of the row (task_id)
    field: str
    kind: str  # "text" (problem statement) or "code"
    text: str
    problem: str = ""  # the underlying problem; defaults to "<benchmark>/<item>"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if not self.problem:
            object.__setattr__(self, "problem", f"{self.benchmark}/{self.item}")

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Benchmark:
    name: str
    strings: list[BenchmarkString]

    def __len__(self) -> int:
        return len(self.strings)

    @classmethod
    def from_rows(cls, name: str, rows: Iterable[Mapping[str, Any]], text_fields: Sequence[str] = (),
                  code_fields: Sequence[str] = (), id_field: str | None = None) -> "Benchmark":
        """Strings from plain rows: each non-empty value of ``text_fields`` / ``code_fields``;
        items are ``row[id_field]`` (or the row number)."""
        fields = [(f, "text") for f in text_fields] + [(f, "code") for f in code_fields]
        if not fields:
            raise ValueError(f"benchmark {name!r}: name at least one field (text_fields= for "
                             "problem statements, code_fields= for code)")
        strings = []
        for number, row in enumerate(rows):
            missing = [f for f, _ in fields if f not in row] + (
                [id_field] if id_field is not None and id_field not in row else [])
            if missing:
                raise ValueError(f"benchmark {name!r}: row {number} has no field(s) "
                                 f"{', '.join(missing)} (it has {', '.join(row)})")
            item = str(row[id_field]) if id_field is not None else str(number)
            for field, kind in fields:
                value = row[field]
                values = value if isinstance(value, list) else [value]  # e.g. a list of solutions
                strings += [BenchmarkString(name, item, field, kind, v) for v in values
                            if isinstance(v, str) and v.strip()]
        return cls(name, strings)

    @classmethod
    def from_jsonl(cls, name: str, path: str | os.PathLike[str], text_fields: Sequence[str] = (),
                   code_fields: Sequence[str] = (), id_field: str | None = None) -> "Benchmark":
        return cls.from_rows(name, read_jsonl(path), text_fields, code_fields, id_field)

    @classmethod
    def from_dataset(cls, name: str, dataset: Any, text_fields: Sequence[str] = (),
                     code_fields: Sequence[str] = (), id_field: str | None = None,
                     split: str = "test", config: str | None = None) -> "Benchmark":
        """``dataset``: a ``datasets.Dataset``, or a Hub id / local path for ``load_dataset``
        (``split`` and ``config`` then choose what is loaded)."""
        if isinstance(dataset, (str, os.PathLike)):
            import datasets

            dataset = datasets.load_dataset(str(dataset), config, split=split)
        columns = [*text_fields, *code_fields] + ([id_field] if id_field else [])
        missing = [c for c in columns if c not in dataset.column_names]
        if missing:
            raise ValueError(f"benchmark {name!r} has no column(s) {', '.join(missing)}: its "
                             f"columns are {', '.join(dataset.column_names)}")
        return cls.from_rows(name, dataset.select_columns(columns), text_fields, code_fields, id_field)


def _task_number(task_id: str) -> int:
    return int(str(task_id).rsplit("/", 1)[1])


def humaneval(source: str | os.PathLike[str] | None = None) -> Benchmark:
    """HumanEval docstrings and canonical solutions (``source`` as in ``load_humaneval``)."""
    strings = []
    for problem in load_humaneval(source):
        task, key = problem["task_id"], f"humaneval/{_task_number(problem['task_id'])}"
        strings.append(BenchmarkString("humaneval", task, "docstring", "text",
                                       humaneval_docstring(problem["prompt"]), key))
        solution = problem["canonical_solution"]
        if solution.strip() not in TRIVIAL_SOLUTIONS:
            strings.append(BenchmarkString("humaneval", task, "canonical_solution", "code", solution, key))
    return Benchmark("humaneval", strings)


def mbpp(source: str | os.PathLike[str] | None = None) -> Benchmark:
    """MBPP ``text`` and ``code`` of the test problems, task_id 11-510."""
    strings = []
    for problem in load_mbpp(source, split="test"):
        item = str(problem["task_id"])
        strings.append(BenchmarkString("mbpp", item, "text", "text", problem["text"]))
        strings.append(BenchmarkString("mbpp", item, "code", "code", problem["code"]))
    return Benchmark("mbpp", strings)


def humanevalpack(data_dir: str | os.PathLike[str] | None = None,
                  languages: Sequence[str] | None = None) -> Benchmark:
    """HumanEvalPack docstrings, prompts and canonical solutions of every language (or the
    given ones), loaded with ``humanevalpack_metric.problems`` (Hub, or ``data_dir``)."""
    from humanevalpack_metric.languages import LANGUAGES
    from humanevalpack_metric.problems import load_problems

    strings = []
    for language in languages or LANGUAGES:
        for problem in load_problems(language, data_dir):
            task, number = problem["task_id"], _task_number(problem["task_id"])
            key = f"humaneval/{number}"
            strings.append(BenchmarkString("humanevalpack", task, "docstring", "text", problem["docstring"], key))
            strings.append(BenchmarkString("humanevalpack", task, "prompt", "code", problem["prompt"], key))
            if number not in TRIVIAL_TASKS:
                strings.append(BenchmarkString("humanevalpack", task, "canonical_solution", "code",
                                               problem["canonical_solution"], key))
    return Benchmark("humanevalpack", strings)


def builtin_benchmarks(names: Sequence[str] = BUILTIN, *, humaneval_source=None, mbpp_source=None,
                       humanevalpack_dir=None) -> list[Benchmark]:
    """The built-in benchmarks by name (all three by default); each loads from the Hub unless its
    local source is given."""
    loaders = {"humaneval": lambda: humaneval(humaneval_source), "mbpp": lambda: mbpp(mbpp_source),
               "humanevalpack": lambda: humanevalpack(humanevalpack_dir)}
    unknown = [name for name in names if name not in loaders]
    if unknown:
        raise ValueError(f"unknown built-in benchmark(s) {', '.join(unknown)}: choose from "
                         f"{', '.join(BUILTIN)}, or pass your own with Benchmark.from_dataset / from_jsonl")
    return [loaders[name]() for name in names]

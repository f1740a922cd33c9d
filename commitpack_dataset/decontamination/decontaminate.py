"""``Decontaminator``: check texts and rows against benchmarks, remove contaminated rows, report.

A row's text is its ``columns`` joined by a blank line (D.6: ``problem`` and ``solution``). A row
is contaminated when any benchmark string is a substring of it (``"substring"``) or it shares an
n-gram with a benchmark string (``"ngram"``; by default only with the problem statements, see
``ngram_kinds``). Its drop reason is ``contamination_<benchmark>`` of the first benchmark (in the
order given) that it matches; every match is kept in the report.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from commitpack_dataset.decontamination.benchmarks import Benchmark, BenchmarkString, builtin_benchmarks
from commitpack_dataset.decontamination.matching import NgramMatcher, SubstringMatcher, normalise

METHODS = ("substring", "ngram")
REASON_PREFIX = "contamination_"
MATCHES_COLUMN = "__decontamination_matches"
REPORT_FILE, REMOVED_FILE, BENCHMARKS_FILE = "report.json", "removed.jsonl", "benchmarks.json"


@dataclasses.dataclass(frozen=True)
class Match:
    """One benchmark string found in a row."""

    benchmark: str
    item: str
    field: str
    method: str  # "substring" or "ngram"
    matched: str  # the (normalised) benchmark string, or the first shared n-gram
    count: int = 1  # shared n-grams of that string (1 for a substring)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Decontaminator:
    """Benchmarks plus the matching settings; build once, then check texts, rows or data sets.

    Args:
        benchmarks: the :class:`Benchmark` objects to check against; ``None`` loads the built-in
            ones (HumanEval, MBPP test, HumanEvalPack) from the Hub or the local sources below.
        methods: any of ``"substring"`` and ``"ngram"``.
        ngram_size: ``n`` of the n-gram matcher (10).
        ngram_kinds: which benchmark strings give n-grams: ``("text",)`` (problem statements:
            docstrings, MBPP ``text``) or ``("text", "code")`` (also prompts and solutions --
            code n-grams of 10 word tokens are often generic loops: on Code Alpaca 2k about 2 % of
            rows share one with a benchmark solution).
        ngram_max_problems: an n-gram found in more distinct benchmark problems is ignored.
        whitespace: ``"collapse"`` (substring matching ignores whitespace differences) or
            ``"exact"``.
        humaneval_source, mbpp_source, humanevalpack_dir: local sources of the built-ins.
    """

    def __init__(self, benchmarks: Sequence[Benchmark] | None = None, *,
                 methods: Sequence[str] = METHODS, ngram_size: int = 10,
                 ngram_kinds: Sequence[str] = ("text",), ngram_max_problems: int = 1,
                 whitespace: str = "collapse", humaneval_source=None, mbpp_source=None,
                 humanevalpack_dir=None):
        unknown = [m for m in methods if m not in METHODS]
        if unknown or not methods:
            raise ValueError(f"methods must be a non-empty subset of {METHODS}, got {tuple(methods)}")
        if benchmarks is None:
            benchmarks = builtin_benchmarks(humaneval_source=humaneval_source, mbpp_source=mbpp_source,
                                            humanevalpack_dir=humanevalpack_dir)
        names = [b.name for b in benchmarks]
        if len(set(names)) != len(names):
            raise ValueError(f"benchmark names must be distinct, got {names}")
        self.benchmarks = list(benchmarks)
        self.methods = tuple(methods)
        self.settings = {"methods": list(self.methods), "ngram_size": ngram_size,
                         "ngram_kinds": list(ngram_kinds), "ngram_max_problems": ngram_max_problems,
                         "whitespace": whitespace}
        self.strings: list[BenchmarkString] = [s for b in self.benchmarks for s in b.strings]
        self._order = {name: rank for rank, name in enumerate(names)}
        self.whitespace = whitespace
        self.substrings = SubstringMatcher(self.strings, whitespace) if "substring" in methods else None
        self.ngrams = None
        if "ngram" in methods:
            chosen = [i for i, s in enumerate(self.strings) if s.kind in ngram_kinds]
            matcher = NgramMatcher([self.strings[i] for i in chosen], ngram_size, ngram_max_problems)
            matcher.owners = [[chosen[i] for i in owners] for owners in matcher.owners]
            self.ngrams = matcher

    # -- texts ---------------------------------------------------------------------------------
    def match_texts(self, texts: Sequence[str]) -> list[list[Match]]:
        """The matches of each text, ordered by benchmark (as given), item and method."""
        hits: list[list] = [[] for _ in texts]
        if self.substrings is not None:
            for found, text in zip(hits, texts):
                found += self.substrings.find(normalise(text, self.whitespace))
        if self.ngrams is not None:
            for found, extra in zip(hits, self.ngrams.find_batch(texts)):
                found += extra
        return [self._matches(found) for found in hits]

    def matches(self, text: str) -> list[Match]:
        """The matches of one text."""
        return self.match_texts([text])[0]

    def _matches(self, hits) -> list[Match]:
        matches = []
        for hit in hits:
            string = self.strings[hit.string]
            matches.append(Match(string.benchmark, string.item, string.field, hit.method, hit.matched, hit.count))
        matches.sort(key=lambda m: (self._order[m.benchmark], m.item, m.field, m.method))
        return matches

    def reason(self, matches: Sequence[Match]) -> str:
        """The drop reason of a row with these matches (``""`` for none)."""
        return f"{REASON_PREFIX}{matches[0].benchmark}" if matches else ""

    # -- rows ----------------------------------------------------------------------------------
    @staticmethod
    def row_text(row: Mapping[str, Any], columns: Sequence[str]) -> str:
        missing = [c for c in columns if c not in row]
        if missing:
            raise KeyError(f"rows have no column(s) {', '.join(missing)} (they have "
                           f"{', '.join(row)}): pass columns= naming the text to check")
        return "\n\n".join(str(row[c] or "") for c in columns)

    def __call__(self, row: Mapping[str, Any], columns: Sequence[str] = ("problem", "solution")) -> tuple[bool, str]:
        """``(keep, reason)`` for one row, as a filter step."""
        matches = self.matches(self.row_text(row, columns))
        return not matches, self.reason(matches)

    def _annotate(self, *arguments):
        *values, _ = arguments  # the columns' values, then the row indices
        texts = ["\n\n".join(str(v or "") for v in parts) for parts in zip(*values)]
        return {MATCHES_COLUMN: [json.dumps([m.to_json() for m in found]) if found else ""
                                 for found in self.match_texts(texts)]}

    def decontaminate(self, data: Any, columns: Sequence[str] = ("problem", "solution"), *,
                      num_proc: int | None = None, batch_size: int = 1000,
                      group_column: str | None = "lang", id_column: str | None = None) -> "DecontaminationResult":
        """Remove contaminated rows from a ``datasets.Dataset`` (``map`` with ``num_proc``) or from
        plain rows (a list or iterable of dicts). ``group_column`` (when present) splits the drop
        counts, e.g. per language; ``id_column`` names the removed rows in the report."""
        columns = list(columns)
        if hasattr(data, "map") and hasattr(data, "column_names"):
            missing = [c for c in columns if c not in data.column_names]
            if missing:
                raise KeyError(f"the dataset has no column(s) {', '.join(missing)} (it has "
                               f"{', '.join(data.column_names)}): pass columns= naming the text to check")
            annotated = data.map(self._annotate, batched=True, batch_size=batch_size, with_indices=True,
                                 input_columns=columns, num_proc=num_proc, remove_columns=data.column_names,
                                 desc="decontaminating")
            flags = annotated[MATCHES_COLUMN]
            removed_indices = [i for i, value in enumerate(flags) if value]
            removed_set = set(removed_indices)
            kept = data.select([i for i in range(len(flags)) if i not in removed_set])
            removed_rows = data.select(removed_indices).to_list() if removed_indices else []
            found = [[Match(**m) for m in json.loads(flags[i])] for i in removed_indices]
            total = len(flags)
        else:
            rows = list(data)
            kept, removed_indices, removed_rows, found = [], [], [], []
            for start in range(0, len(rows), batch_size):
                batch = rows[start:start + batch_size]
                for offset, (row, matches) in enumerate(zip(batch, self.match_texts(
                        [self.row_text(row, columns) for row in batch]))):
                    if matches:
                        removed_indices.append(start + offset)
                        removed_rows.append(row)
                        found.append(matches)
                    else:
                        kept.append(row)
            total = len(rows)
        removed = [RemovedRow(index, self.reason(matches), matches, row,
                              row.get(group_column) if group_column else None,
                              row.get(id_column) if id_column else None)
                   for index, matches, row in zip(removed_indices, found, removed_rows)]
        return DecontaminationResult(kept, removed, total, self)

    def benchmark_strings(self) -> list[dict[str, str]]:
        return [s.to_json() for s in self.strings]


@dataclasses.dataclass
class RemovedRow:
    index: int  # position in the input
    reason: str
    matches: list[Match]
    row: dict[str, Any]
    group: Any = None
    id: Any = None

    def to_json(self) -> dict[str, Any]:
        record = {"index": self.index, "reason": self.reason, "matches": [m.to_json() for m in self.matches]}
        if self.id is not None:
            record["id"] = self.id
        if self.group is not None:
            record["group"] = self.group
        record["row"] = self.row
        return record


@dataclasses.dataclass
class DecontaminationResult:
    """The kept data (same type as the input), the removed rows with their matches, and the
    counts. :meth:`save` writes the report, the removed rows and the benchmark strings used."""

    kept: Any
    removed: list[RemovedRow]
    total: int
    decontaminator: Decontaminator

    def drop_counts(self) -> Counter:
        """Removed rows per reason (``contamination_<benchmark>``)."""
        return Counter(r.reason for r in self.removed)

    def report(self) -> dict[str, Any]:
        by_group: dict[str, Counter] = defaultdict(Counter)
        rows_matching: Counter = Counter()
        by_field: Counter = Counter()
        by_method: Counter = Counter()
        for removed in self.removed:
            if removed.group is not None:
                by_group[str(removed.group)][removed.reason] += 1
            rows_matching.update({m.benchmark for m in removed.matches})
            by_field.update({f"{m.benchmark}/{m.field}" for m in removed.matches})
            by_method.update({m.method for m in removed.matches})
        decontaminator = self.decontaminator
        return {
            "settings": decontaminator.settings,
            "benchmarks": {b.name: len(b) for b in decontaminator.benchmarks},
            "ngrams": None if decontaminator.ngrams is None else {
                "indexed": len(decontaminator.ngrams), "dropped_as_common": decontaminator.ngrams.dropped_common},
            "rows": self.total,
            "kept": self.total - len(self.removed),
            "removed": len(self.removed),
            "removed_by_reason": dict(self.drop_counts().most_common()),
            "removed_by_group": {g: dict(c.most_common()) for g, c in sorted(by_group.items())},
            "rows_matching_benchmark": dict(rows_matching.most_common()),
            "rows_matching_field": dict(by_field.most_common()),
            "rows_matching_method": dict(by_method.most_common()),
        }

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``report.json``, ``removed.jsonl`` and ``benchmarks.json`` (atomically) into
        ``directory``; returns it."""
        from octopack_common import atomic_open, write_json_atomic

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_json_atomic(directory / REPORT_FILE, self.report())
        with atomic_open(directory / REMOVED_FILE) as handle:
            for removed in self.removed:
                handle.write(json.dumps(removed.to_json(), ensure_ascii=False, default=str) + "\n")
        write_json_atomic(directory / BENCHMARKS_FILE, self.decontaminator.benchmark_strings())
        return directory


def decontaminate(data: Any, columns: Sequence[str] = ("problem", "solution"),
                  benchmarks: Sequence[Benchmark] | None = None, **options: Any) -> DecontaminationResult:
    """One-call form: ``Decontaminator(benchmarks, **matcher options).decontaminate(data, columns,
    **run options)``."""
    run_options = {k: options.pop(k) for k in ("num_proc", "batch_size", "group_column", "id_column")
                   if k in options}
    return Decontaminator(benchmarks, **options).decontaminate(data, columns, **run_options)


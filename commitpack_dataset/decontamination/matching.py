"""The two matchers: benchmark strings as substrings, and benchmark n-grams.

**Normalisation** (both sides, benchmark strings and row text): ``\\r\\n`` and ``\\r`` become
``\\n`` and everything is lowercased (D.6: case-insensitive). With ``whitespace="collapse"`` (the
default) every run of whitespace also becomes one space and strings are stripped, so a re-indented
or re-wrapped copy still matches (MBPP's code uses CRLF and tabs: without this its code strings
could never match LF-indented text); ``whitespace="exact"`` keeps whitespace as it is (D.6's
released behaviour, apart from the newline fix).

**Substrings** (:class:`SubstringMatcher`): one Aho-Corasick automaton (``ahocorasick-rs``) over
all patterns; one pass over a row finds every benchmark string it contains.

**N-grams** (:class:`NgramMatcher`). Tokenisation: the lowercased text's maximal runs of Unicode
word characters (``\\w+``: letters, digits, underscore); punctuation and whitespace only separate
tokens, so re-indentation, re-wrapping and re-spacing do not change the tokens. Each benchmark
string with at least ``n`` tokens contributes all its ``n``-token windows; an n-gram that occurs
in more than ``max_problems`` distinct benchmark problems (a shared phrase such as "write a python
function to find the ...", or a boilerplate header) is dropped as a common idiom. A row matches
when one of its windows equals a benchmark n-gram. Tokens are mapped to ids of the benchmark
vocabulary (an unknown token can be in no benchmark n-gram, so it breaks windows), each window of
ids is hashed to 64 bits with numpy over a whole batch of rows at once, looked up in the sorted
benchmark hashes, and every hash hit is confirmed token by token (no false match from a hash
collision).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from commitpack_dataset.decontamination.benchmarks import BenchmarkString

WHITESPACE_MODES = ("collapse", "exact")
_TOKEN = re.compile(r"\w+")


def normalise(text: str, whitespace: str = "collapse") -> str:
    """The matching form of a text: LF newlines, lowercased, whitespace collapsed (or kept)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lower()
    if whitespace == "collapse":
        text = " ".join(text.split())
    return text


def tokenize(text: str) -> list[str]:
    """The n-gram tokens of a text (see the module docstring)."""
    return _TOKEN.findall(text.lower())


@dataclasses.dataclass(frozen=True)
class Hit:
    """One benchmark string found in one text. ``matched`` is the normalised benchmark string
    (substring) or the first matching n-gram (tokens joined by spaces); ``count`` is how many
    distinct benchmark n-grams of that string the text holds (1 for substrings)."""

    string: int  # index into the matcher's benchmark strings
    method: str  # "substring" or "ngram"
    matched: str
    count: int = 1


class SubstringMatcher:
    """Every benchmark string (normalised) that occurs in a text, in one automaton pass."""

    method = "substring"

    def __init__(self, strings: Sequence[BenchmarkString], whitespace: str = "collapse"):
        if whitespace not in WHITESPACE_MODES:
            raise ValueError(f"whitespace must be one of {WHITESPACE_MODES}, got {whitespace!r}")
        self.whitespace = whitespace
        owners: dict[str, list[int]] = defaultdict(list)
        for index, string in enumerate(strings):
            pattern = normalise(string.text, whitespace)
            if pattern.strip():
                owners[pattern].append(index)
        self.patterns = list(owners)
        self.owners = [owners[p] for p in self.patterns]
        self._automaton = None

    def __getstate__(self):  # the automaton is rebuilt in a worker process, not pickled
        state = dict(self.__dict__)
        state["_automaton"] = None
        return state

    @property
    def automaton(self):
        if self._automaton is None and self.patterns:
            import ahocorasick_rs

            self._automaton = ahocorasick_rs.AhoCorasick(self.patterns)
        return self._automaton

    def find(self, normalised_text: str) -> list[Hit]:
        """Hits in a text already passed through :func:`normalise` with this ``whitespace``."""
        if not self.patterns:
            return []
        found = {index for index, _, _ in self.automaton.find_matches_as_indexes(normalised_text, overlapping=True)}
        return [Hit(string, self.method, self.patterns[p]) for p in sorted(found) for string in self.owners[p]]


class NgramMatcher:
    """Benchmark strings sharing at least one ``n``-token window with a text."""

    method = "ngram"

    def __init__(self, strings: Sequence[BenchmarkString], n: int = 10, max_problems: int = 1):
        if n < 1:
            raise ValueError(f"the n-gram size must be >= 1, got {n}")
        self.n = n
        self.vocabulary: dict[str, int] = {}
        grams: dict[tuple[int, ...], set[int]] = defaultdict(set)
        for index, string in enumerate(strings):
            ids = [self.vocabulary.setdefault(t, len(self.vocabulary) + 1) for t in tokenize(string.text)]
            for start in range(len(ids) - n + 1):
                grams[tuple(ids[start:start + n])].add(index)
        problems = {key: {strings[i].problem for i in owners} for key, owners in grams.items()}
        kept = [key for key in grams if len(problems[key]) <= max_problems]
        self.dropped_common = len(grams) - len(kept)
        self.words = {i: t for t, i in self.vocabulary.items()}
        rng = np.random.default_rng(20240607)
        self.multipliers = rng.integers(1, 2**63, size=n, dtype=np.uint64) | np.uint64(1)
        windows = np.array(kept, dtype=np.int64).reshape(len(kept), n)
        hashes = self._hash(windows.reshape(-1), len(kept) * n)[::n] if kept else np.zeros(0, np.uint64)
        order = np.argsort(hashes, kind="stable")
        self.hashes = hashes[order]
        self.windows = windows[order]
        self.owners = [sorted(grams[kept[i]]) for i in order]

    def __len__(self) -> int:
        return len(self.hashes)

    def _hash(self, ids: np.ndarray, length: int) -> np.ndarray:
        """64-bit hash of every window ``ids[i:i+n]`` (wrapping multiply-add, uint64)."""
        count = length - self.n + 1
        if count <= 0:
            return np.zeros(0, np.uint64)
        values = ids.astype(np.uint64)
        hashes = np.zeros(count, np.uint64)
        for k in range(self.n):
            hashes += values[k:k + count] * self.multipliers[k]
        return hashes

    def find_batch(self, texts: Sequence[str]) -> list[list[Hit]]:
        """Hits of each text of a batch (one vectorised pass over all their windows)."""
        results: list[list[Hit]] = [[] for _ in texts]
        if not len(self.hashes) or not texts:
            return results
        tokens: list[str] = []
        starts = []
        for text in texts:
            starts.append(len(tokens))
            tokens.extend(tokenize(text))
            tokens.append("")  # a separator no benchmark n-gram contains
        get = self.vocabulary.get
        ids = np.fromiter(map(get, tokens, itertools.repeat(0)), dtype=np.int64, count=len(tokens))
        hashes = self._hash(ids, len(ids))
        if not len(hashes):
            return results
        unknown = np.concatenate(([0], np.cumsum(ids == 0)))
        valid = (unknown[self.n:] - unknown[:len(hashes)]) == 0
        positions = np.nonzero(valid)[0]
        found = np.searchsorted(self.hashes, hashes[positions])
        found[found == len(self.hashes)] = 0
        candidate = self.hashes[found] == hashes[positions]
        positions, found = positions[candidate], found[candidate]
        if not len(positions):
            return results
        view = np.lib.stride_tricks.sliding_window_view(ids, self.n)
        confirmed = (view[positions] == self.windows[found]).all(axis=1)
        positions, found = positions[confirmed], found[confirmed]
        rows = np.searchsorted(np.asarray(starts), positions, side="right") - 1
        per_row: dict[int, dict[int, list]] = defaultdict(dict)
        for row, position, gram in zip(rows.tolist(), positions.tolist(), found.tolist()):
            for string in self.owners[gram]:
                entry = per_row[row].setdefault(string, [position, set()])
                entry[1].add(gram)
        for row, strings in per_row.items():
            results[row] = [Hit(string, self.method, " ".join(tokens[pos:pos + self.n]), len(grams))
                            for string, (pos, grams) in sorted(strings.items())]
        return results

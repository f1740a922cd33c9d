"""Decontamination speed: ``Decontaminator`` on 100,000 rows against every built-in benchmark, vs a
straightforward Python implementation measured on a sample in the same run.

- **ours**: ``Decontaminator(...).decontaminate(dataset, num_proc=--num-proc)`` on a
  ``datasets.Dataset`` (the way the builders call it), and the same on plain rows in one process;
  both methods on (substrings with one Aho-Corasick automaton; hashed 10-gram overlap vectorised
  per batch);
- **naive**: the same normalisation and the same benchmark strings and n-grams, matched the
  obvious way -- ``pattern in text`` for every benchmark string, and a Python set lookup per
  n-gram window of every row -- on the first ``--naive-sample`` rows; its matches must equal ours.

Rows look like OSS-Instruct rows (~1.7 kB): a Code Alpaca 2k instruction and answer plus 40 lines
of the running Python's standard library (deterministic for a Python version), split into
``problem`` and ``solution``; ``--planted`` rows carry a copy of a benchmark string (docstring,
solution, MBPP text, re-cased, or an indexed 10-token fragment), and all of them must be found.

    python benchmarks/decontamination_benchmark.py                       # 100,000 rows
    python benchmarks/decontamination_benchmark.py --rows 2000 --naive-sample 200
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from commitpack_dataset.decontamination import Decontaminator, tokenize  # noqa: E402
from commitpack_dataset.decontamination.matching import normalise  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("OCTOPACK_TEST_DATA", REPO.parent / "shared" / "data"))


def stdlib_lines(limit_files: int = 400) -> list[str]:
    lines: list[str] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))[:limit_files]:
        lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def make_rows(count: int, planted: int, data_dir: Path, decontaminator: Decontaminator, seed: int = 0):
    """``count`` rows, ``planted`` of them (evenly spread) carrying a benchmark string."""
    alpaca = json.loads((data_dir / "seeds" / "code_alpaca_2k.json").read_text(encoding="utf-8"))
    lines = stdlib_lines()
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        start = rng.randrange(len(lines) - 40)
        example = alpaca[rng.randrange(len(alpaca))]
        rows.append({"problem": example["instruction"] + "\n" + "\n".join(lines[start:start + 8]),
                     "solution": example["output"] + "\n" + "\n".join(lines[start + 8:start + 40]),
                     "lang": "python"})
    strings = [s for s in decontaminator.strings if len(tokenize(s.text)) >= 20]
    ngrams = decontaminator.ngrams
    planted_at = sorted(rng.sample(range(count), planted)) if planted else []
    for number, index in enumerate(planted_at):
        string = strings[rng.randrange(len(strings))]
        text = string.text
        if number % 4 == 3:  # an indexed 10-token fragment of a problem statement
            window = ngrams.windows[rng.randrange(len(ngrams.windows))]
            text = " ".join(ngrams.words[int(i)] for i in window)
        elif number % 4 == 1:
            text = text.upper()
        rows[index]["solution"] += "\n" + text
    return rows, planted_at


def naive_matches(decontaminator: Decontaminator, texts: list[str]) -> list[set]:
    """The same matches, found the straightforward way."""
    substrings, ngrams = decontaminator.substrings, decontaminator.ngrams
    patterns = list(zip(substrings.patterns, substrings.owners))
    words = ngrams.words
    table = {tuple(words[int(i)] for i in window): owners for window, owners in zip(ngrams.windows, ngrams.owners)}
    n = ngrams.n
    results = []
    for text in texts:
        found = set()
        normalised = normalise(text, decontaminator.whitespace)
        for pattern, owners in patterns:
            if pattern in normalised:
                found.update((owner, "substring") for owner in owners)
        tokens = tokenize(text)
        for start in range(len(tokens) - n + 1):
            owners = table.get(tuple(tokens[start:start + n]))
            if owners:
                found.update((owner, "ngram") for owner in owners)
        results.append(found)
    return results


def as_keys(decontaminator: Decontaminator, matches) -> set:
    index = {(s.benchmark, s.item, s.field): i for i, s in enumerate(decontaminator.strings)}
    return {(index[(m.benchmark, m.item, m.field)], m.method) for m in matches}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--planted", type=int, default=100)
    parser.add_argument("--naive-sample", type=int, default=1000)
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA,
                        help="holds benchmarks/, humanevalpack/ and seeds/ (default: $OCTOPACK_TEST_DATA)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    import datasets

    datasets.disable_progress_bars()
    started = time.perf_counter()
    decontaminator = Decontaminator(humaneval_source=args.data_dir / "benchmarks" / "HumanEval.jsonl.gz",
                                    mbpp_source=args.data_dir / "benchmarks" / "mbpp.jsonl",
                                    humanevalpack_dir=args.data_dir / "humanevalpack")
    build = time.perf_counter() - started
    rows, planted_at = make_rows(args.rows, args.planted, args.data_dir, decontaminator)
    dataset = datasets.Dataset.from_list(rows)
    megabytes = sum(len(r["problem"]) + len(r["solution"]) for r in rows) / 1e6

    started = time.perf_counter()
    result = decontaminator.decontaminate(dataset, num_proc=args.num_proc if args.num_proc > 1 else None)
    ours_dataset = time.perf_counter() - started
    started = time.perf_counter()
    plain = decontaminator.decontaminate(rows)
    ours_plain = time.perf_counter() - started
    removed = [r.index for r in result.removed]
    assert removed == [r.index for r in plain.removed], "Dataset and plain-row runs disagree"
    missed = sorted(set(planted_at) - set(removed))

    sample = rows[:args.naive_sample]
    texts = [decontaminator.row_text(r, ("problem", "solution")) for r in sample]
    started = time.perf_counter()
    naive = naive_matches(decontaminator, texts)
    naive_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fast = decontaminator.match_texts(texts)
    fast_sample_seconds = time.perf_counter() - started
    disagreements = sum(as_keys(decontaminator, f) != n for f, n in zip(fast, naive))

    per_row_naive = naive_seconds / max(1, len(sample))
    per_row_ours = ours_plain / len(rows)
    figures = {
        "rows": len(rows), "megabytes": round(megabytes, 1), "benchmark_strings": len(decontaminator.strings),
        "substring_patterns": len(decontaminator.substrings.patterns), "ngrams": len(decontaminator.ngrams),
        "build_seconds": round(build, 2),
        "ours_dataset_seconds": round(ours_dataset, 2), "ours_dataset_rows_per_s": round(len(rows) / ours_dataset),
        "num_proc": args.num_proc,
        "ours_plain_seconds": round(ours_plain, 2), "ours_plain_rows_per_s": round(len(rows) / ours_plain),
        "naive_sample_rows": len(sample), "naive_sample_seconds": round(naive_seconds, 2),
        "naive_rows_per_s": round(1 / per_row_naive) if per_row_naive else None,
        "naive_projected_seconds": round(per_row_naive * len(rows), 1),
        "ratio_plain_vs_naive": round(per_row_naive / per_row_ours, 1),
        "ratio_dataset_vs_naive": round(per_row_naive * len(rows) / ours_dataset, 1),
        "ours_on_sample_seconds": round(fast_sample_seconds, 3),
        "sample_disagreements": disagreements,
        "removed": len(removed), "planted": len(planted_at), "planted_missed": len(missed),
        "target_met": ours_dataset < 60,
    }
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if disagreements or missed:
        print(f"FAILED: {disagreements} sample rows disagree with the naive matcher, "
              f"{len(missed)} planted rows missed", file=sys.stderr)
        raise SystemExit(1)
    return figures


if __name__ == "__main__":
    main()

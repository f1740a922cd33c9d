"""Benchmark octopack's executor against the reference recipe on HumanEvalPack's own solutions.

For every language, the 164 canonical and 164 buggy solutions are assembled exactly as a
Synthesize generation would be (``prompt + solution``) and run:

1. by :class:`humanevalpack_metric.executor.Executor` (sandboxed, all cores);
2. by the reference recipe (``reference_recipe.py``: fresh process per program, the reference
   commands, workers and timeouts, no sandbox);
3. by the same executor again: the cache-hit path a re-evaluation of duplicates takes;
4. all languages at once by a fresh executor (``Executor.run_many``: one pool, the longest
   timeouts first), as ``humanevalpack-eval`` runs a file that holds several languages.

It prints wall times and speed-ups per language, the programs whose verdicts differ, the
solutions that do not behave as expected (canonical failing, buggy passing), and a Markdown
table; it writes all figures to ``benchmarks/results/executor_benchmark.json`` and a bar chart.

    HF_ALLOW_CODE_EVAL=1 python benchmarks/executor_benchmark.py --data-dir DIR [--limit 5]

Toolchain warm-up (octopack's ``prepare``, the baseline's cargo/Go caches) is timed separately
and not included in the run times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from octopack_common import cache_dir

from humanevalpack_metric import settings
from humanevalpack_metric.executor import Executor
from humanevalpack_metric.languages import LANGUAGES, ToolchainMissing, get_language
from humanevalpack_metric.problems import load_problems
from humanevalpack_metric.sandbox import Sandbox
from humanevalpack_metric.tasks import reference

if __package__:
    from .reference_recipe import WORKERS, BaselineUnavailable, ReferenceRecipe
else:
    from reference_recipe import WORKERS, BaselineUnavailable, ReferenceRecipe

RESULTS_DIR = Path(__file__).resolve().parent / "results"
VERSION_COMMANDS = {
    "python": [sys.executable, "--version"], "js": ["node", "--version"],
    "java": ["javac", "-version"], "go": [str(Path(sys.executable).parent / "go"), "version"],
    "cpp": ["g++", "--version"], "rust": ["rustc", "--version"],
}


@dataclass
class Case:
    """One program: a problem's canonical or buggy solution, assembled and joined to its test."""

    task_id: str
    kind: str  # "canonical" (expected to pass) or "buggy" (expected to fail)
    program: str

    @property
    def label(self) -> str:
        return f"{self.task_id} {self.kind}"


@dataclass
class LanguageFigures:
    """Everything measured for one language."""

    language: str
    programs: int
    unique: int = 0
    ours_prepare_seconds: float = 0.0
    ours_seconds: float = 0.0
    rerun_seconds: float | None = None
    rerun_executed: int | None = None
    baseline_warmup_seconds: float | None = None
    baseline_seconds: float | None = None
    baseline_skipped: str | None = None
    ours_status: dict = field(default_factory=dict)
    baseline_status: dict = field(default_factory=dict)
    ours_unexpected: list = field(default_factory=list)
    baseline_unexpected: list = field(default_factory=list)
    disagreements: list = field(default_factory=list)
    ours_slowest: list = field(default_factory=list)
    baseline_slowest: list = field(default_factory=list)
    first_outcomes: list = field(default_factory=list, repr=False)  # not saved

    @property
    def speedup(self) -> float | None:
        return _ratio(self.baseline_seconds, self.ours_seconds)

    @property
    def rerun_speedup(self) -> float | None:
        return _ratio(self.ours_seconds, self.rerun_seconds)

    def to_dict(self) -> dict:
        saved = {k: v for k, v in self.__dict__.items() if k != "first_outcomes"}
        return {**saved, "speedup": self.speedup, "rerun_speedup": self.rerun_speedup}


def _ratio(slow: float | None, fast: float | None) -> float | None:
    return slow / fast if slow is not None and fast else None


def build_cases(language: str, data_dir: str | None, limit: int | None) -> list[Case]:
    """Canonical then buggy solution of the first ``limit`` problems, as Synthesize builds them.

    The generation is ``prompt + solution`` for every language (Go must use ``prompt``: its
    ``declaration`` lacks the helper functions of tasks 10, 32, 38 and 50).
    """
    lang = get_language(language)
    cases = []
    for problem in load_problems(language, data_dir)[:limit]:
        for kind in ("canonical", "buggy"):
            generation = problem["prompt"] + problem[f"{kind}_solution"]
            candidate = lang.assemble(generation, problem, "synthesize")
            cases.append(Case(problem["task_id"], kind,
                              lang.program(candidate, reference(problem))))
    return cases


def _unexpected(cases: list[Case], outcomes) -> list[str]:
    return [f"{case.label}: {outcome.result[:160]}" for case, outcome in zip(cases, outcomes)
            if outcome.passed != (case.kind == "canonical")]


def _slowest(cases: list[Case], outcomes, count: int = 5) -> list[str]:
    ranked = sorted(zip(cases, outcomes), key=lambda pair: pair[1].duration, reverse=True)
    return [f"{case.label}: {outcome.duration:.2f} s ({outcome.status.value})"
            for case, outcome in ranked[:count]]


def _status_counts(outcomes) -> dict:
    counts: dict = {}
    for outcome in outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    return counts


def benchmark_language(language: str, cases: list[Case], executor: Executor,
                       recipe: ReferenceRecipe | None) -> LanguageFigures:
    """Our executor, then the reference recipe, on the same programs."""
    programs = [case.program for case in cases]
    figures = LanguageFigures(language, programs=len(programs))

    start = time.monotonic()
    executor.language(language)  # toolchain check + one-time prepare, timed on its own
    figures.ours_prepare_seconds = time.monotonic() - start
    start = time.monotonic()
    ours, stats = executor.run(language, programs)
    figures.ours_seconds = time.monotonic() - start
    figures.unique = stats.unique
    figures.ours_status = _status_counts(ours)
    figures.ours_unexpected = _unexpected(cases, ours)
    figures.ours_slowest = _slowest(cases, ours)
    figures.first_outcomes = ours

    if recipe is None:
        figures.baseline_skipped = "--skip-baseline"
        return figures
    try:
        start = time.monotonic()
        recipe.warm(language)
        figures.baseline_warmup_seconds = time.monotonic() - start
    except BaselineUnavailable as missing:
        figures.baseline_skipped = str(missing)
        return figures
    start = time.monotonic()
    baseline = recipe.run(language, programs)
    figures.baseline_seconds = time.monotonic() - start
    figures.baseline_status = _status_counts(baseline)
    figures.baseline_unexpected = _unexpected(cases, baseline)
    figures.baseline_slowest = _slowest(cases, baseline)
    figures.disagreements = [
        {"program": case.label, "ours": ours_outcome.result[:300],
         "baseline": base_outcome.result[:300]}
        for case, ours_outcome, base_outcome in zip(cases, ours, baseline)
        if ours_outcome.passed != base_outcome.passed
    ]
    return figures


def combined(cases: dict[str, list[Case]], workers: int, progress: bool,
             results: list[LanguageFigures]) -> dict:
    """All languages through one fresh executor's :meth:`Executor.run_many` (one pool, the
    longest timeouts first), as ``humanevalpack-eval`` runs a file holding several languages."""
    with Executor(num_workers=workers, progress=progress) as executor:
        start = time.monotonic()
        for name in cases:
            executor.language(name)
        prepare = time.monotonic() - start
        start = time.monotonic()
        ran = executor.run_many({name: [case.program for case in cases[name]] for name in cases})
        seconds = time.monotonic() - start
    per_language = {r.language: r for r in results}
    differing = []
    for name, (outcomes, _) in ran.items():
        again = {case.label: outcome for case, outcome in zip(cases[name], outcomes)}
        first = dict(zip((case.label for case in cases[name]),
                         per_language[name].first_outcomes))
        differing += [f"{label}: {first[label].result[:80]} / {again[label].result[:80]}"
                      for label in again if again[label].passed != first[label].passed]
    return {"seconds": seconds, "prepare_seconds": prepare,
            "language_seconds": {name: stats.wall_seconds for name, (_, stats) in ran.items()},
            "differing_from_per_language_runs": differing}


def rerun(language: str, cases: list[Case], executor: Executor, figures: LanguageFigures) -> None:
    """The same programs through the same executor: every one is a cache hit."""
    start = time.monotonic()
    _, stats = executor.run(language, [case.program for case in cases])
    figures.rerun_seconds = time.monotonic() - start
    figures.rerun_executed = stats.executed


# -- reporting -------------------------------------------------------------------------------
def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value >= 10 else f"{value:.2f} s" if value >= 0.1 else \
        f"{1000 * value:.2f} ms"


def _one_line(text: str, limit: int) -> str:
    return " | ".join(part for part in text.splitlines() if part.strip())[:limit]


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def totals(results: list[LanguageFigures], together: dict | None = None) -> dict:
    """Summed times; the total speed-up counts only languages that have a baseline time.
    ``together``: the one-pool run of every language (:func:`combined`), compared with the
    reference only when every language has a baseline."""
    compared = [r for r in results if r.baseline_seconds is not None]
    ours_compared = sum(r.ours_seconds for r in compared)
    baseline = sum(r.baseline_seconds for r in compared)
    ours = sum(r.ours_seconds for r in results)
    rerun_total = sum(r.rerun_seconds or 0.0 for r in results)
    return {
        "programs": sum(r.programs for r in results),
        "ours_seconds": ours,
        "baseline_seconds": baseline if compared else None,
        "ours_seconds_compared": ours_compared,
        "speedup": _ratio(baseline, ours_compared) if compared else None,
        "rerun_seconds": rerun_total,
        "rerun_speedup": _ratio(ours, rerun_total),
        "disagreements": sum(len(r.disagreements) for r in results),
        "one_pool_seconds": together["seconds"] if together else None,
        "one_pool_speedup": (_ratio(baseline, together["seconds"])
                             if together and compared and len(compared) == len(results) else None),
    }


def markdown_table(results: list[LanguageFigures], total: dict) -> str:
    lines = ["| language | programs | octopack | reference recipe | speed-up | re-run (cached) "
             "| re-run speed-up | verdicts differing |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        differing = "-" if r.baseline_seconds is None else str(len(r.disagreements))
        lines.append(f"| {r.language} | {r.programs} | {_seconds(r.ours_seconds)} | "
                     f"{_seconds(r.baseline_seconds)} | {_times(r.speedup)} | "
                     f"{_seconds(r.rerun_seconds)} | {_times(r.rerun_speedup)} | {differing} |")
    lines.append(f"| **total** | {total['programs']} | {_seconds(total['ours_seconds'])} | "
                 f"{_seconds(total['baseline_seconds'])} | {_times(total['speedup'])} | "
                 f"{_seconds(total['rerun_seconds'])} | {_times(total['rerun_speedup'])} | "
                 f"{total['disagreements']} |")
    if total.get("one_pool_seconds") is not None:
        lines.append(f"| **total, one pool** | {total['programs']} | "
                     f"{_seconds(total['one_pool_seconds'])} | "
                     f"{_seconds(total['baseline_seconds'])} | {_times(total['one_pool_speedup'])} "
                     "| - | - | - |")
    return "\n".join(lines)


def print_report(results: list[LanguageFigures], total: dict, environment: dict) -> None:
    print("\n== Wall time per language (toolchain warm-up excluded) ==")
    header = (f"{'language':<8} {'programs':>8} {'octopack':>10} {'reference':>10} "
              f"{'speed-up':>9}   {'prepare/warm-up (octopack | reference)'}")
    print(header)
    for r in results:
        print(f"{r.language:<8} {r.programs:>8} {_seconds(r.ours_seconds):>10} "
              f"{_seconds(r.baseline_seconds):>10} {_times(r.speedup):>9}   "
              f"{_seconds(r.ours_prepare_seconds)} | {_seconds(r.baseline_warmup_seconds)}"
              + (f"   baseline skipped: {r.baseline_skipped}" if r.baseline_skipped else ""))
    print(f"{'total':<8} {total['programs']:>8} {_seconds(total['ours_seconds']):>10} "
          f"{_seconds(total['baseline_seconds']):>10} {_times(total['speedup']):>9}")
    if total["baseline_seconds"] is not None:
        print(f"(total speed-up over the languages with a baseline: reference "
              f"{total['baseline_seconds']:.1f} s / octopack {total['ours_seconds_compared']:.1f} s)")
    if total["one_pool_seconds"] is not None:
        print(f"all languages in one pool (Executor.run_many, as humanevalpack-eval runs a file of "
              f"several languages): {_seconds(total['one_pool_seconds'])}, "
              f"{_times(total['one_pool_speedup'])} faster than the reference recipe")

    print("\n== Verdict agreement (pass/fail) ==")
    if total["baseline_seconds"] is None:
        print("no baseline ran")
    else:
        print(f"{total['disagreements']} program(s) differ")
        for r in results:
            for row in r.disagreements:
                print(f"  {r.language:<6} {row['program']}\n"
                      f"           octopack:  {_one_line(row['ours'], 200)}\n"
                      f"           reference: {_one_line(row['baseline'], 200)}")

    print("\n== Solutions not behaving as expected (canonical failing / buggy passing) ==")
    for r in results:
        for who, rows in (("octopack", r.ours_unexpected), ("reference", r.baseline_unexpected)):
            for row in rows:
                print(f"  {r.language:<6} {who:<9} {_one_line(row, 200)}")
    print("  (known: CPP/23 buggy passes; Rust/32 uses unseeded randomness and may time out)")

    print("\n== Re-evaluation of duplicates (same programs, same executor: cache hits) ==")
    for r in results:
        print(f"{r.language:<8} {_seconds(r.rerun_seconds):>10}  executed {r.rerun_executed}  "
              f"{_times(r.rerun_speedup)} faster than the first run")
    print(f"{'total':<8} {_seconds(total['rerun_seconds']):>10}  "
          f"{_times(total['rerun_speedup'])} faster than the first run")

    print(f"\noctopack executor: {environment['workers']} workers, sandbox "
          f"{environment['sandbox']}; reference recipe: workers {WORKERS}, NO sandbox "
          "(as in the reference metric)")
    print(f"machine: {environment['cpus']} CPUs, {environment['platform']}")
    for note in environment.get("notes", []):
        print(f"note: {note}")
    for name, reason in environment.get("skipped_languages", {}).items():
        print(f"skipped {name}: {reason}")
    print("\n" + markdown_table(results, total))


def save_chart(results: list[LanguageFigures], path: Path) -> Path | None:
    """Grouped bars of the per-language times; None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [r.language for r in results]
    series = [("octopack", [r.ours_seconds for r in results]),
              ("reference recipe", [r.baseline_seconds or 0.0 for r in results]),
              ("octopack re-run (cached)", [r.rerun_seconds or 0.0 for r in results])]
    width = 0.27
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for index, (label, values) in enumerate(series):
        positions = [i + (index - 1) * width for i in range(len(names))]
        bars = axes.bar(positions, values, width, label=label)
        axes.bar_label(bars, labels=[_seconds(v) if v else "" for v in values], fontsize=7)
    axes.set_xticks(range(len(names)), names)
    axes.set_ylabel("wall time (s)")
    axes.set_title(f"HumanEvalPack canonical + buggy programs ({sum(r.programs for r in results)})")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _rounded(value):
    """``value`` with every float rounded to 4 decimals (JSON readability)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _tool_version(language: str) -> str:
    try:
        done = subprocess.run(VERSION_COMMANDS[language], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    return ((done.stdout or done.stderr).strip().splitlines() or ["unknown"])[0]


# -- command line ----------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", nargs="+", default=list(LANGUAGES), choices=LANGUAGES,
                        help="languages to benchmark (default: all six)")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N problems per language (quick runs)")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="only time octopack's executor (first run and cached re-run)")
    parser.add_argument("--data-dir", default=None,
                        help="directory with one HumanEvalPack JSONL per language "
                             "(default: the Hub dataset bigcode/humanevalpack)")
    parser.add_argument("--workers", type=int, default=None,
                        help="octopack executor workers (default: all cores); the baseline "
                             "always uses the reference worker counts")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR,
                        help=f"where the JSON and the chart go (default: {RESULTS_DIR})")
    parser.add_argument("--no-one-pool", action="store_true",
                        help="skip the extra run of every language in one executor pool")
    parser.add_argument("--yes", action="store_true",
                        help=f"allow executing code, same as {settings.ALLOW_CODE_EVAL}=1")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.yes:
        os.environ[settings.ALLOW_CODE_EVAL] = "1"
    try:
        settings.require_code_eval_opt_in()
    except settings.CodeEvalNotAllowed as refusal:
        print(refusal, "\n(or pass --yes to this benchmark)", file=sys.stderr)
        return 2
    progress = sys.stderr.isatty()
    workers = args.workers or os.cpu_count() or 1
    environment = {"workers": workers, "cpus": os.cpu_count(), "platform": platform.platform(),
                   "sandbox": Sandbox().mode, "limit": args.limit, "data_dir": args.data_dir,
                   "versions": {name: _tool_version(name) for name in args.languages}}

    cases, skipped = {}, {}
    for name in args.languages:
        try:
            cases[name] = build_cases(name, args.data_dir, args.limit)
        except (ImportError, NotImplementedError) as missing:  # a language module not there yet
            skipped[name] = f"{type(missing).__name__}: {missing}"
            print(f"{name}: skipped ({skipped[name]})", file=sys.stderr)
    environment["skipped_languages"] = skipped
    results = []
    with Executor(num_workers=workers, progress=progress) as executor:
        recipe = None if args.skip_baseline else ReferenceRecipe(
            cache_dir() / "benchmark-baseline", executor.cache_dir, progress)
        try:
            for name in list(cases):
                try:
                    figures = benchmark_language(name, cases[name], executor, recipe)
                except ToolchainMissing as missing:
                    skipped[name] = str(missing)
                    print(f"{name}: skipped ({missing})", file=sys.stderr)
                    del cases[name]
                    continue
                results.append(figures)
                print(f"{name}: {figures.programs} programs, octopack "
                      f"{figures.ours_seconds:.1f} s, reference "
                      f"{_seconds(figures.baseline_seconds)}", flush=True)
            for name, figures in zip(cases, results):
                rerun(name, cases[name], executor, figures)
        finally:
            if recipe is not None:
                environment["notes"] = recipe.notes
                recipe.close()

    together = None
    if not args.no_one_pool and results:
        together = combined({r.language: cases[r.language] for r in results}, workers, progress,
                            results)
        print(f"all languages in one pool: {together['seconds']:.1f} s", flush=True)
    total = totals(results, together)
    print_report(results, total, environment)
    if together and together["differing_from_per_language_runs"]:
        print("one-pool verdicts differing from the per-language runs (first / one pool):")
        for row in together["differing_from_per_language_runs"]:
            print(f"  {row}")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    report_path = args.output_dir / "executor_benchmark.json"
    report = {"environment": environment, "total": total, "one_pool": together,
              "languages": [r.to_dict() for r in results]}
    report_path.write_text(json.dumps(_rounded(report), indent=2), encoding="utf-8")
    chart = save_chart(results, args.output_dir / "executor_benchmark.png")
    print(f"\nwrote {report_path}" + (f" and {chart}" if chart else " (no matplotlib: no chart)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

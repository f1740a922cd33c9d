"""Score a file of generations: ``humanevalpack-eval GENERATIONS --task fixtests --language go``.

Accepted inputs:
- JSONL, one row per problem: ``{"task_id": "Go/0", "completions": ["...", ...]}``; without
  ``--language`` the task ids say the language, so one file may hold several languages (they
  run in one executor pool and get one row each in the table);
- JSONL, one row per sample: ``{"task_id": "Go/0", "completion": "..."}`` (grouped by task id);
- the harness' ``generations.json`` (a JSON list of lists aligned with the 164 problems; these
  are already post-processed, so ``--postprocessed`` is implied).

Writes ``<output-dir>/results.json`` (pass@k, per-candidate verdicts, timings) and
``results.md`` (a table); ``outcomes.jsonl`` caches verdicts so an interrupted run resumes.
Executing untrusted code needs ``HF_ALLOW_CODE_EVAL=1``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from octopack_common import write_json_atomic, write_text_atomic

from .settings import CodeEvalNotAllowed


class InputError(ValueError):
    pass


def read_generations(path: Path) -> tuple[dict | list, bool]:
    """-> (completions keyed by task id, or a list aligned with the problems; postprocessed?)"""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
            raise InputError(f"{path}: a .json file must be a list of lists of completions "
                             "(the harness' generations.json)")
        return data, True
    grouped: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{path}:{number}: not JSON ({error.msg})") from None
        if "task_id" not in row or not ({"completions", "completion"} & row.keys()):
            raise InputError(f"{path}:{number}: each row needs 'task_id' and 'completions' (a list) "
                             "or 'completion' (a string)")
        values = row["completions"] if "completions" in row else [row["completion"]]
        grouped.setdefault(row["task_id"], []).extend(values)
    if not grouped:
        raise InputError(f"{path}: no generations found")
    return grouped, False


def group_completions_by_language(completions: dict | list, language: str | None) -> tuple[dict, dict]:
    """-> ({language: completions}, {language: problem ids or None}). Without a ``language``,
    rows keyed by task id are grouped by its prefix (``CPP/3`` -> cpp), so one file can hold
    several languages, which then run in one executor pool."""
    if isinstance(completions, list):  # a harness list covers its first len(list) problems
        if language is None:
            raise InputError("a harness generations.json holds one language: pass --language "
                             "or a task such as humanevalsynthesize-python")
        return {language: completions}, {language: list(range(len(completions)))}
    if language is not None:
        return {language: completions}, {language: None}
    from .languages import get_language

    grouped: dict[str, dict] = {}
    for task_id, values in completions.items():
        prefix = str(task_id).split("/", 1)[0]
        try:
            name = get_language(prefix).name
        except ValueError:
            raise InputError(f"task id {task_id!r} does not say its language (Python/0, "
                             "JavaScript/0, Java/0, Go/0, CPP/0, Rust/0): pass --language") from None
        grouped.setdefault(name, {})[task_id] = values
    return grouped, {name: None for name in grouped}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="humanevalpack-eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("generations", type=Path)
    parser.add_argument("--task", required=True,
                        help="fixtests, fixdocs, explainsynthesize or synthesize (or a harness "
                             "name such as humanevalfixtests-python)")
    parser.add_argument("--language", default=None, help="python, js, java, go, cpp or rust")
    parser.add_argument("--data-dir", default=None,
                        help="local HumanEvalPack JSONL directory (default: Hub bigcode/humanevalpack)")
    parser.add_argument("--output-dir", type=Path, default=Path("humanevalpack_results"))
    parser.add_argument("--k", default="1,10,100", help="comma-separated k values")
    parser.add_argument("--postprocessed", action="store_true",
                        help="completions are already post-processed code (skip truncation)")
    parser.add_argument("--num-workers", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=None, help="seconds per program")
    parser.add_argument("--corrected", action="store_true",
                        help="fix documented reference-data bugs (see the metric card)")
    parser.add_argument("--sandbox", default="auto", choices=["auto", "bwrap", "rlimit"])
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from .evaluation import evaluate_languages, languages_table
    from .tasks import parse_task

    try:
        ks = [int(k) for k in args.k.split(",") if k.strip()]
    except ValueError:
        parser.error(f"--k must be comma-separated integers, got {args.k!r}")
    try:
        completions, implied = read_generations(args.generations)
        language = args.language or parse_task(args.task)[1]
        by_language, ids = group_completions_by_language(completions, language)
        args.output_dir.mkdir(parents=True, exist_ok=True)
        reports = evaluate_languages(
            by_language, args.task, problem_ids=ids, data_dir=args.data_dir, k=ks,
            postprocessed=args.postprocessed or implied, num_workers=args.num_workers,
            timeout=args.timeout, corrected=args.corrected, sandbox_mode=args.sandbox,
            results_path=args.output_dir / "outcomes.jsonl", progress=not args.no_progress,
        )
    except (InputError, ValueError, FileNotFoundError) as error:
        print(f"humanevalpack-eval: {error}", file=sys.stderr)
        return 2
    except CodeEvalNotAllowed as error:
        print(error, file=sys.stderr)
        return 3
    if len(reports) == 1:
        report = next(iter(reports.values()))
        report.save(args.output_dir / "results.json")
        table = report.table()
    else:
        write_json_atomic(args.output_dir / "results.json",
                          {"languages": {name: r.to_json() for name, r in reports.items()}},
                          sort_keys=False)
        table = languages_table(reports)
    write_text_atomic(args.output_dir / "results.md", table + "\n")
    print(table)
    print(f"\nwrote {args.output_dir / 'results.json'} and {args.output_dir / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

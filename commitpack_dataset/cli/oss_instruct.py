"""``oss-instruct`` command line: generate, decontaminate, stats, push.

- ``oss-instruct generate -o OUT --language python --seed-files src/ --model M --base-url URL``:
  build OSS-Instruct rows with the builder; write ``OUT/data/<lang>/data.<jsonl|parquet>``,
  ``OUT/drop_counts.json``, ``OUT/rejected.jsonl``, ``OUT/decontamination/`` and ``OUT/build.json``.
  Resumable: the builder and its teacher-response cache live in ``--cache-dir`` (default
  ``OUT/.build``), so re-running a killed command pays for no answered request twice.
- ``oss-instruct decontaminate INPUT... -o OUT [--columns problem solution]``: remove rows that
  contain benchmark strings (any JSONL/Parquet rows); ``OUT/data/<lang>/data.jsonl`` plus the
  report, the removed rows and the benchmark strings.
- ``oss-instruct stats OUT_OR_DROP_COUNTS... [--png chart.png]``: the drop table (and a chart).
- ``oss-instruct push OUT REPO_ID``: one config per language, with a dataset card, in one commit.

The API key is read from the environment variable ``--api-key-env`` names (``OPENAI_API_KEY``);
it is never an argument and never written anywhere. ``make_parser(subparsers)`` mounts these
commands under another parser (e.g. a future ``octopack generate``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from commitpack_dataset.cli.errors import CliError, run_cli
from commitpack_dataset.cli.files import prepare_output
from commitpack_dataset.cli.teacher import FORMATS, write_rows  # noqa: F401  (write_rows: public here too)
from commitpack_dataset.cli.teacher import add_benchmark_sources as _add_benchmark_sources
from commitpack_dataset.cli.teacher import (
    BUILD_FILE,
    add_push_parser,
    add_teacher_arguments,
    decontamination_facts,
    push_output,
    teacher_facts,
    teacher_kwargs,
)

WHY_LICENSE = ("the generated data's license depends on the seeds' (code from The Stack keeps its repositories' "
               "licenses) and on the teacher's terms of use (some providers restrict training models on their "
               "outputs), so octopack cannot choose it")


def make_parser(subparsers=None) -> argparse.ArgumentParser:
    """The ``oss-instruct`` parser, or its commands added to ``subparsers`` (returns the parser
    that holds them)."""
    if subparsers is None:
        parser = argparse.ArgumentParser(prog="oss-instruct", description="Build, clean and publish OSS-Instruct data.")
        commands = parser.add_subparsers(dest="command", required=True)
    else:
        parser = subparsers.add_parser("oss-instruct", help="OSS-Instruct data (Magicoder)")
        commands = parser.add_subparsers(dest="oss_instruct_command", required=True)

    gen = commands.add_parser("generate", help="generate problems and solutions from code seeds (resumable)")
    gen.add_argument("-o", "--output", required=True)
    gen.add_argument("--language", default="python", help="config name: python, cpp, csharp, go, ...")
    gen.add_argument("--seed-dataset", help="Hub id or local path of a dataset with a code column")
    gen.add_argument("--seed-data-dir")
    gen.add_argument("--seed-split", default="train")
    gen.add_argument("--seed-column", default="content")
    gen.add_argument("--seed-files", nargs="+", default=(), help="files, directories or globs")
    gen.add_argument("--repositories", nargs="+", default=(), help="git repositories (paths or URLs)")
    gen.add_argument("--revision", default="HEAD", help="revision of --repositories")
    gen.add_argument("--magicoder-seeds", action="store_true", help="Magicoder's corpus (starcoderdata)")
    gen.add_argument("--max-documents", type=int, default=150_000)
    gen.add_argument("--start-index", type=int, default=0)
    gen.add_argument("--max-new-data", type=int)
    add_teacher_arguments(gen, "gpt-3.5-turbo-1106")
    gen.add_argument("--max-new-tokens", type=int, default=2500)
    gen.add_argument("--model-max-tokens", type=int, default=8192)
    gen.add_argument("--tokenizer", help="tokenizer counting prompt tokens (default: 4 characters a token)")
    gen.add_argument("--no-decontaminate", action="store_true")
    _add_benchmark_sources(gen)
    gen.add_argument("--execution-check", action="store_true", help="teacher-written tests run in the sandbox")
    gen.add_argument("--format", choices=FORMATS, default="jsonl")
    gen.add_argument("--cache-dir", help="builder + response cache (default: OUT/.build; keep it to resume)")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing OUT/data")
    gen.set_defaults(handler=command_generate)

    dec = commands.add_parser("decontaminate", help="remove rows containing benchmark problems or solutions")
    dec.add_argument("inputs", nargs="+", help=".jsonl/.parquet files or directories of them")
    dec.add_argument("-o", "--output", required=True)
    dec.add_argument("--columns", nargs="+", default=["problem", "solution"])
    dec.add_argument("--benchmarks", nargs="+", default=["humaneval", "mbpp", "humanevalpack"])
    dec.add_argument("--extra", action="append", default=[], metavar="NAME=PATH:TEXT_FIELDS[:CODE_FIELDS]",
                     help="another benchmark from a JSONL file, e.g. gsm8k=test.jsonl:question")
    _add_benchmark_sources(dec)
    dec.add_argument("--methods", nargs="+", default=["substring", "ngram"], choices=("substring", "ngram"))
    dec.add_argument("--ngram-size", type=int, default=10)
    dec.add_argument("--ngram-code", action="store_true", help="n-grams of benchmark code too")
    dec.add_argument("--whitespace", choices=("collapse", "exact"), default="collapse")
    dec.add_argument("--num-proc", type=int)
    dec.add_argument("--overwrite", action="store_true")
    dec.set_defaults(handler=command_decontaminate)

    stats = commands.add_parser("stats", help="drop statistics as a table and a bar chart")
    stats.add_argument("paths", nargs="+", help="generate outputs or drop_counts.json files (summed)")
    stats.add_argument("--png")
    stats.set_defaults(handler=command_stats)

    push = add_push_parser(commands, "push to the Hub, one config per language, with a dataset card",
                           "a generate or decontaminate output directory")
    push.set_defaults(handler=command_push)
    return parser


# -- generate -------------------------------------------------------------------------------------
def _config_kwargs(args: argparse.Namespace) -> dict:
    kwargs = dict(seed_dataset=args.seed_dataset, seed_data_dir=args.seed_data_dir, seed_split=args.seed_split,
                  seed_column=args.seed_column, seed_files=tuple(args.seed_files),
                  seed_repositories=tuple(args.repositories), seed_revision=args.revision,
                  magicoder_seeds=args.magicoder_seeds, max_documents=args.max_documents,
                  start_index=args.start_index, max_new_data=args.max_new_data, max_new_tokens=args.max_new_tokens,
                  model_max_tokens=args.model_max_tokens, tokenizer=args.tokenizer,
                  decontaminate=not args.no_decontaminate, execution_check=args.execution_check,
                  **teacher_kwargs(args))
    return {key: value for key, value in kwargs.items() if value is not None}


def check_language(name: str) -> None:
    import difflib

    from commitpack_dataset.oss_instruct import language_configs

    configs = language_configs()
    if name not in configs:
        close = difflib.get_close_matches(name.lower(), list(configs), n=5, cutoff=0.6)
        hint = f"; did you mean: {', '.join(close)}" if close else ""
        raise CliError(f"unknown OSS-Instruct language {name!r}{hint} (config names such as python, cpp, "
                       "csharp, go, javascript)")


def command_generate(args: argparse.Namespace) -> int:
    from commitpack_dataset.builders import drop_table
    from commitpack_dataset.oss_instruct import OSSInstruct

    check_language(args.language)
    output = Path(args.output)
    prepare_output(str(output), args.overwrite)
    cache_dir = Path(args.cache_dir) if args.cache_dir else output / ".build"
    try:
        builder = OSSInstruct(config_name=args.language, cache_dir=str(cache_dir), **_config_kwargs(args))
    except ValueError as error:
        raise CliError(str(error)) from error
    if not builder.config.has_seeds():
        raise CliError("no seeds: pass --seed-dataset, --seed-files, --repositories or --magicoder-seeds")
    try:
        builder.download_and_prepare()
    except Exception as error:
        cause = error.__cause__ or error
        raise CliError(f"generation failed: {type(cause).__name__}: {cause}") from error
    dataset, counts = write_output(builder, output, args.format)
    print(f"kept {len(dataset)} rows -> {output / 'data' / builder.config.language}")
    print(drop_table(counts))
    return 0


def write_output(builder, output: Path, file_format: str = "jsonl"):
    """Write a prepared builder's ``generate`` output into ``output`` (rows, drop counts, rejected
    answers, decontamination report, ``build.json``); return ``(dataset, drop counts)``. The
    ``octopack run`` pipeline writes its OSS-Instruct stage with it."""
    from octopack_common import write_json_atomic

    from commitpack_dataset.oss_instruct.builder import DECONTAMINATION_DIR
    from commitpack_dataset.teacher_builder import REJECTED_FILE

    dataset = builder.as_dataset("train")
    counts = builder.drop_statistics()
    language = builder.config.language
    write_rows(dataset, output / "data" / language / f"data.{file_format}", file_format)
    prepared = Path(builder._output_dir)
    shutil.copyfile(prepared / REJECTED_FILE, output / REJECTED_FILE)
    if (prepared / DECONTAMINATION_DIR).is_dir():
        shutil.copytree(prepared / DECONTAMINATION_DIR, output / DECONTAMINATION_DIR, dirs_exist_ok=True)
    write_json_atomic(output / "drop_counts.json", {"kept": len(dataset), "rows_per_config": {language: len(dataset)},
                                                    "drop_counts": dict(counts)})
    write_json_atomic(output / BUILD_FILE, build_facts(builder, len(dataset), counts))
    return dataset, counts


def build_facts(builder, rows: int, counts) -> dict:
    """What the card needs, without secrets: teacher, sampling, seeds, drops."""
    from commitpack_dataset.oss_instruct.prompt import prompts_fingerprint

    config = builder.config
    stats = dict(builder.generation_stats)
    decontamination = None
    report_path = Path(builder._output_dir) / "decontamination" / "report.json"
    if report_path.is_file():
        decontamination = json.loads(report_path.read_text(encoding="utf-8"))
    return {"language": config.language, "rows": rows, "drop_counts": dict(counts),
            "teacher": teacher_facts(config, stats, prompts_fingerprint(), temperature=config.temperature,
                                     max_tokens=config.max_new_tokens, seed=config.seed),
            "generation": stats,
            "seeds": {"dataset": config.seed_source()[0], "files": list(config.seed_files),
                      "repositories": list(config.seed_repositories), "revision": config.seed_revision},
            "decontamination": decontamination}


# -- decontaminate --------------------------------------------------------------------------------
def _extra_benchmark(spec: str):
    from commitpack_dataset.decontamination import Benchmark

    try:
        name, rest = spec.split("=", 1)
        path, *fields = rest.split(":")
        text_fields = [f for f in fields[0].split(",") if f] if fields else []
        code_fields = [f for f in fields[1].split(",") if f] if len(fields) > 1 else []
    except ValueError:
        raise CliError(f"--extra {spec!r}: expected NAME=PATH:TEXT_FIELDS[:CODE_FIELDS]") from None
    try:
        return Benchmark.from_jsonl(name, path, text_fields, code_fields)
    except (OSError, ValueError) as error:
        raise CliError(f"--extra {spec!r}: {error}") from error


def command_decontaminate(args: argparse.Namespace) -> int:
    import datasets

    from commitpack_dataset.cli.files import input_files
    from commitpack_dataset.decontamination import Decontaminator, builtin_benchmarks

    files = input_files(args.inputs)
    output = Path(args.output)
    prepare_output(str(output), args.overwrite, files)
    try:
        benchmarks = builtin_benchmarks(args.benchmarks, humaneval_source=args.humaneval, mbpp_source=args.mbpp,
                                        humanevalpack_dir=args.humanevalpack_dir)
    except (OSError, ValueError) as error:
        raise CliError(str(error)) from error
    benchmarks += [_extra_benchmark(spec) for spec in args.extra]
    decontaminator = Decontaminator(benchmarks, methods=args.methods, ngram_size=args.ngram_size,
                                    ngram_kinds=("text", "code") if args.ngram_code else ("text",),
                                    whitespace=args.whitespace)
    kinds = {path.suffix for path in files}
    if len(kinds) > 1:
        raise CliError("mixing .parquet and .jsonl inputs: convert them to one format first")
    with tempfile.TemporaryDirectory(prefix="oss-instruct-decontaminate-") as cache:
        dataset = datasets.load_dataset("parquet" if ".parquet" in kinds else "json",
                                        data_files=[str(p) for p in files], split="train", cache_dir=cache)
        try:
            result = decontaminator.decontaminate(dataset, args.columns, num_proc=args.num_proc)
        except KeyError as error:
            raise CliError(str(error.args[0])) from error
        kept = result.kept
        languages = sorted(set(kept["lang"])) if "lang" in kept.column_names else [None]
        for language in languages:
            part = kept if language is None else kept.filter(lambda value: value == language, input_columns="lang")
            write_rows(part, output / "data" / (language or "default") / "data.jsonl", "jsonl")
    result.save(output)
    report = result.report()
    print(f"kept {report['kept']} of {report['rows']} rows; removed {report['removed']}: "
          f"{json.dumps(report['removed_by_reason'])}")
    return 0


# -- stats and push --------------------------------------------------------------------------------
def command_stats(args: argparse.Namespace) -> int:
    from commitpack_dataset.builders import drop_table
    from commitpack_dataset.cli.stats import bar_chart, load_drop_counts

    paths = [str(Path(p) / "drop_counts.json") if (Path(p) / "drop_counts.json").is_file() else p for p in args.paths]
    counts = load_drop_counts(paths)
    print(drop_table(counts))
    if args.png:
        bar_chart(counts, Path(args.png), title="OSS-Instruct: dropped seeds per reason")
        print(f"chart -> {args.png}")
    return 0


def command_push(args: argparse.Namespace) -> int:
    def card_facts(built: dict, configs: dict) -> dict:
        report = built.get("decontamination")
        return {"kind": "oss-instruct",
                "seeds": [{"dataset": (built.get("seeds") or {}).get("dataset") or "local files / repositories",
                           "note": "1-15 consecutive lines per seed (Magicoder's rule)"}],
                "teacher": {k: v for k, v in (built.get("teacher") or {}).items() if v is not None} or None,
                "decontamination": decontamination_facts([report] if report else [])}

    return push_output(args, "oss-instruct", "oss-instruct generate", WHY_LICENSE, card_facts, build_required=False)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``oss-instruct`` console script; returns the exit status."""
    return run_cli(make_parser(), argv, "oss-instruct")


if __name__ == "__main__":
    sys.exit(main())

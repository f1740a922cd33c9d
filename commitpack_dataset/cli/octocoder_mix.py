"""``octopack octocoder-mix``: build, inspect and publish the OctoCoder mix (``bigcode/guanaco-commits``
rebuilt: filtered OASST first pairs + a seeded sample of CommitPackFT commits).

- ``octocoder-mix build -o OUT [--oasst-dataset D] [--commit-source mine --repositories R...]``: write
  ``OUT/data/default/data.<jsonl|parquet>`` (``prompt``, ``completion``, ``source``, ``lang``,
  ``origin``), ``OUT/drop_counts.json`` (per reason and per unwanted phrase), ``OUT/components.json``,
  ``OUT/decontamination/`` and ``OUT/build.json``. Train on it with
  ``octopack sft --config octocoder/lora --datasets OUT/data/default/data.jsonl:instruction=prompt,response=completion``.
- ``octocoder-mix stats OUT... [--png chart.png]``: drops per reason and per phrase (summed).
- ``octocoder-mix push OUT REPO_ID``: the mix with its dataset card, in one commit.

``make_parser(subparsers)`` mounts the commands under ``octopack``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

from commitpack_dataset.cli.errors import CliError, run_cli
from commitpack_dataset.cli.files import prepare_output
from commitpack_dataset.cli.teacher import (
    BUILD_FILE,
    FORMATS,
    add_benchmark_sources,
    add_push_parser,
    decontamination_facts,
    push_output,
    read_reports,
    write_rows,
)

CONFIG = "default"
WHY_LICENSE = ("the mix keeps its parts' licenses -- OASST is apache-2.0, the commits keep their repositories' "
               "(CommitPackFT's license column) -- name each, e.g. --license apache-2.0 mit")


def make_parser(subparsers=None) -> argparse.ArgumentParser:
    """The ``octocoder-mix`` parser, or its commands added to ``subparsers``."""
    if subparsers is None:
        parser = argparse.ArgumentParser(prog="octocoder-mix", description="Build, inspect and publish the "
                                         "OctoCoder mix (filtered OASST + sampled CommitPackFT).")
        commands = parser.add_subparsers(dest="command", required=True)
    else:
        parser = subparsers.add_parser("octocoder-mix", help="the OctoCoder mix: build, stats, push")
        commands = parser.add_subparsers(dest="octocoder_mix_command", required=True)

    build = commands.add_parser("build", help="build the mix (OASST first pairs + sampled CommitPackFT commits)")
    build.add_argument("-o", "--output", required=True)
    build.add_argument("--oasst-dataset", default="HuggingFaceH4/oasst1_guanaco",
                       help="Hub id or local file/directory of conversations (messages, Guanaco text or "
                            "prompt/completion rows)")
    build.add_argument("--oasst-split", default="train")
    build.add_argument("--oasst-format", choices=("auto", "messages", "text", "prompt_completion"), default="auto")
    build.add_argument("--phrases-file", help="unwanted phrases (JSON list or {'phrases': [...]}; default: the "
                                              "octopack repository's 233)")
    build.add_argument("--extra-phrase", action="append", default=[], help="one more unwanted phrase (repeatable)")
    build.add_argument("--no-oasst", action="store_true", help="commits only")
    build.add_argument("--commit-source", choices=("published", "mine"), default="published")
    build.add_argument("--commit-data-dir", default="hf://datasets/bigcode/commitpackft",
                       help="released CommitPackFT files (local directory laid out like the Hub repository)")
    build.add_argument("--repositories", nargs="+", default=(), help="git repositories to mine (--commit-source mine)")
    build.add_argument("--tokenizer", help="CommitPackFT's token rule tokenizer when mining, or 'estimate'")
    build.add_argument("--license-policy", choices=("keep-unknown", "drop-unknown"))
    build.add_argument("--languages", nargs="+", default=["python", "javascript", "java", "go", "c++", "rust"])
    build.add_argument("--commit-samples", type=int, default=5000)
    build.add_argument("--commit-sampling", choices=("pooled", "per_language"), default="pooled")
    build.add_argument("--completion-newline", action="store_true",
                       help="start commit completions with a newline (issue #9's 'Answer: \\n{new_contents}')")
    build.add_argument("--seed", type=int, default=42)
    build.add_argument("--no-shuffle", action="store_true")
    build.add_argument("--no-decontaminate", action="store_true")
    add_benchmark_sources(build)
    build.add_argument("--format", choices=FORMATS, default="jsonl")
    build.add_argument("--cache-dir", help="builder cache (default: OUT/.build)")
    build.add_argument("--overwrite", action="store_true", help="replace an existing OUT/data")
    build.set_defaults(handler=command_build)

    stats = commands.add_parser("stats", help="drops per reason and per unwanted phrase")
    stats.add_argument("paths", nargs="+", help="build outputs or their drop_counts.json files (summed)")
    stats.add_argument("--png")
    stats.add_argument("--top", type=int, default=25, help="phrases shown (most frequent first)")
    stats.set_defaults(handler=command_stats)

    push = add_push_parser(commands, "push the mix to the Hub with a dataset card", "a build output directory",
                           several_licenses=True,
                           license_note=" (OASST: apache-2.0; the commits keep their repositories')")
    push.add_argument("--commit-dataset", metavar="REPO_ID",
                      help="the Hub data set the commits were published as (named in the card's components)")
    push.set_defaults(handler=command_push)
    return parser


def _config_kwargs(args: argparse.Namespace) -> dict:
    commit_options = {key: value for key, value in (("tokenizer", args.tokenizer),
                                                     ("license_policy", args.license_policy)) if value}
    kwargs = dict(oasst_dataset=args.oasst_dataset, oasst_split=args.oasst_split, oasst_format=args.oasst_format,
                  phrases_file=args.phrases_file, extra_phrases=tuple(args.extra_phrase),
                  include_oasst=not args.no_oasst, commit_source=args.commit_source,
                  commit_data_dir=args.commit_data_dir, commit_repositories=tuple(args.repositories),
                  commit_builder_kwargs=commit_options or None, languages=tuple(args.languages),
                  commit_samples=args.commit_samples, commit_sampling=args.commit_sampling,
                  completion_prefix="\n" if args.completion_newline else "", seed=args.seed,
                  shuffle=not args.no_shuffle, decontaminate=not args.no_decontaminate,
                  humaneval_source=args.humaneval, mbpp_source=args.mbpp, humanevalpack_dir=args.humanevalpack_dir)
    return {key: value for key, value in kwargs.items() if value is not None}


def command_build(args: argparse.Namespace) -> int:
    from commitpack_dataset.octocoder_mix import OctoCoderMix

    output = Path(args.output)
    prepare_output(str(output), args.overwrite)
    cache_dir = Path(args.cache_dir) if args.cache_dir else output / ".build"
    try:
        builder = OctoCoderMix(cache_dir=str(cache_dir), **_config_kwargs(args))
        builder.download_and_prepare()
    except (ValueError, FileNotFoundError) as error:
        raise CliError(str(error)) from error
    except Exception as error:
        cause = error.__cause__ or error
        raise CliError(f"building the mix failed: {type(cause).__name__}: {cause}") from error
    dataset, drops, phrases, components = write_output(builder, output, args.format)
    print(f"kept {len(dataset)} rows -> {output / 'data' / CONFIG}: {components['oasst']['rows']} OASST, "
          f"{components['commitpackft']['rows']} commits ({components['commitpackft']['rows_per_language']})")
    print(drop_report(drops, phrases, 10))
    return 0


def write_output(builder, output: Path, file_format: str = "jsonl"):
    """Write a prepared builder's ``build`` output into ``output`` (rows, drop counts per reason and
    phrase, components, decontamination report, ``build.json``); return ``(dataset, drops, phrases,
    components)``. The ``octopack run`` pipeline writes its mix stage with it."""
    from octopack_common import write_json_atomic

    from commitpack_dataset.octocoder_mix.builder import COMPONENTS_FILE, DECONTAMINATION_DIR

    dataset = builder.as_dataset("train")
    write_rows(dataset, output / "data" / CONFIG / f"data.{file_format}", file_format)
    prepared = Path(builder._output_dir)
    shutil.copyfile(prepared / COMPONENTS_FILE, output / COMPONENTS_FILE)
    if (prepared / DECONTAMINATION_DIR).is_dir():
        shutil.copytree(prepared / DECONTAMINATION_DIR, output / DECONTAMINATION_DIR, dirs_exist_ok=True)
    drops, phrases = builder.drop_statistics(), builder.phrase_statistics()
    write_json_atomic(output / "drop_counts.json", {"kept": len(dataset), "rows_per_config": {CONFIG: len(dataset)},
                                                    "drop_counts": dict(drops), "phrase_counts": dict(phrases)})
    components = builder.components()
    write_json_atomic(output / BUILD_FILE, {
        "components": components, "seed": builder.config.seed, "languages": list(builder.config.languages),
        "commit_samples": builder.config.commit_samples, "oasst_dataset": builder.config.oasst_dataset,
        "commit_data_dir": builder.config.commit_data_dir if builder.config.commit_source == "published" else None,
        "drop_counts": dict(drops), "decontamination": decontamination_facts(read_reports(prepared / DECONTAMINATION_DIR))})
    return dataset, drops, phrases, components


def drop_report(drops: Counter, phrases: Counter, top: int) -> str:
    from commitpack_dataset.construction import drop_table

    lines = [drop_table(drops)]
    if phrases:
        lines.append(f"dropped OASST conversations per unwanted phrase (first {top}):")
        lines += [f"  {count:>6}  {phrase!r}" for phrase, count in phrases.most_common(top)]
    return "\n".join(lines)


def _load(paths: Sequence[str]) -> tuple[Counter, Counter]:
    drops, phrases = Counter(), Counter()
    for raw in paths:
        path = Path(raw) / "drop_counts.json" if Path(raw).is_dir() else Path(raw)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            drops.update(payload["drop_counts"])
            phrases.update(payload.get("phrase_counts") or {})
        except FileNotFoundError as error:
            raise CliError(f"drop counts file not found: {path}") from error
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CliError(f"{path} is not an octocoder-mix drop counts file: {error!r}") from error
    return drops, phrases


def command_stats(args: argparse.Namespace) -> int:
    from commitpack_dataset.cli.stats import bar_chart

    drops, phrases = _load(args.paths)
    print(drop_report(drops, phrases, args.top))
    if args.png:
        shown = Counter({f"phrase {phrase!r}": count for phrase, count in phrases.most_common(args.top)})
        shown.update({reason: count for reason, count in drops.items() if reason != "oasst_unwanted_phrase"})
        bar_chart(shown, Path(args.png), title="OctoCoder mix: dropped rows per reason and unwanted phrase",
                  xlabel="dropped rows (OASST conversations by the first phrase they contain)")
        print(f"chart -> {args.png}")
    return 0


def command_push(args: argparse.Namespace) -> int:
    def card_facts(built: dict, configs: dict) -> dict:
        components = built["components"]
        parts = [{"dataset": components["oasst"]["dataset"] or "OASST conversations",
                  "rows": components["oasst"]["rows"], "config": "first question/answer pairs"}]
        commits = components["commitpackft"]
        commit_source = args.commit_dataset or built.get("commit_data_dir") or "CommitPackFT (mined by octopack)"
        parts += [{"dataset": commit_source, "config": language, "rows": rows}
                  for language, rows in commits["rows_per_language"].items()]
        rules = [{"name": reason, "dropped": count} for reason, count in sorted(built.get("drop_counts", {}).items())]
        return {"kind": "octocoder-mix", "components": parts, "rules": rules,
                "decontamination": built.get("decontamination"),
                "columns": {"prompt": "the question (OASST) or commit subject + newline + old contents",
                            "completion": "the answer (OASST) or the new contents",
                            "source": "oasst or commitpackft", "lang": "the commit's language",
                            "origin": "the OASST row or the commit SHA"}}

    return push_output(args, "octocoder-mix", "octocoder-mix build", WHY_LICENSE, card_facts)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``octocoder-mix`` on ``argv``; returns the exit status."""
    return run_cli(make_parser(), argv, "octocoder-mix")

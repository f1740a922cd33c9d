"""``evol-instruct`` command line: generate, stats, push.

- ``evol-instruct generate -o OUT --seed-dataset code_alpaca_2k.json --rounds 3 --model M --base-url URL``:
  evolve the seeds with the builder; write ``OUT/data/<mode>/data.<jsonl|parquet>`` (every round's
  rows, labelled ``round``/``method``/``parent``), ``OUT/drop_counts.json`` (per round and in
  total), ``OUT/rounds.json``, ``OUT/rejected.jsonl``, ``OUT/decontamination/round_<r>/`` and
  ``OUT/build.json``. Resumable: the builder and its response cache live in ``--cache-dir``
  (default ``OUT/.build``), so a killed command re-run pays for no answered request twice.
- ``evol-instruct stats OUT_OR_DROP_COUNTS... [--png chart.png]``: drops per reason and round (summed
  over the paths), as a table and a grouped bar chart.
- ``evol-instruct push OUT REPO_ID``: the rows with a dataset card (seeds, teacher, rounds, every
  drop reason, decontamination), in one commit.

The API key is read from the environment variable ``--api-key-env`` names; it is never an
argument and never written anywhere. ``make_parser(subparsers)`` mounts the commands elsewhere.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
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
    add_teacher_arguments,
    decontamination_facts,
    push_output,
    read_reports,
    teacher_facts,
    teacher_kwargs,
    write_rows,
)

WHY_LICENSE = ("the evolved data's license depends on the seeds' (Code Alpaca: cc-by-nc-4.0) and on the teacher's "
               "terms of use (some providers restrict training models on their outputs), so octopack cannot "
               "choose it")


def make_parser(subparsers=None) -> argparse.ArgumentParser:
    """The ``evol-instruct`` parser, or its commands added to ``subparsers`` (returns the parser that
    holds them)."""
    if subparsers is None:
        parser = argparse.ArgumentParser(prog="evol-instruct", description="Evolve, inspect and publish "
                                         "Evol-Instruct data (WizardCoder / WizardLM).")
        commands = parser.add_subparsers(dest="command", required=True)
    else:
        parser = subparsers.add_parser("evol-instruct", help="Evol-Instruct data (WizardCoder)")
        commands = parser.add_subparsers(dest="evol_instruct_command", required=True)

    gen = commands.add_parser("generate", help="evolve seed instructions round by round (resumable)")
    gen.add_argument("-o", "--output", required=True)
    gen.add_argument("--mode", choices=("code", "general"), default="code",
                     help="code: WizardCoder's five methods; general: WizardLM's in-depth/in-breadth prompts")
    gen.add_argument("--seed-dataset", required=True, help="Hub id or local file/directory of seed instructions")
    gen.add_argument("--seed-data-dir")
    gen.add_argument("--seed-split", default="train")
    gen.add_argument("--seed-format", choices=("auto", "alpaca", "messages", "prompt_completion", "columns"),
                     default="auto")
    gen.add_argument("--seed-column", action="append", default=[], metavar="ROLE=COLUMN",
                     help="column map, e.g. --seed-column instruction=question --seed-column output=answer")
    gen.add_argument("--seed-start", type=int, default=0)
    gen.add_argument("--max-seeds", type=int)
    gen.add_argument("--no-seed-rows", action="store_true", help="leave the seeds (round 0) out of the output")
    gen.add_argument("--rounds", type=int, default=3)
    gen.add_argument("--seed", type=int, default=42, help="method choice and request seeds")
    gen.add_argument("--failed-evolutions", choices=("drop", "pool"), default="drop",
                     help="drop: failed rows do not evolve further; pool: their parent is evolved again")
    add_teacher_arguments(gen, "gpt-3.5-turbo")
    gen.add_argument("--temperature", type=float, default=1.0)
    gen.add_argument("--top-p", type=float, default=0.9)
    gen.add_argument("--max-new-tokens", type=int, default=2048)
    gen.add_argument("--stop", nargs="*", default=[], help="stop strings (evol-teacher used '\\n20' '20.')")
    gen.add_argument("--system-message", help="a system message before each prompt (default: none)")
    gen.add_argument("--equality-judge", action="store_true", help="drop evolutions an LLM judges Equal")
    gen.add_argument("--judge-model", help="the judge's model (default: --model)")
    gen.add_argument("--no-evol-teacher-rules", action="store_true")
    gen.add_argument("--no-wizardlm-rules", action="store_true")
    gen.add_argument("--no-decontaminate", action="store_true")
    add_benchmark_sources(gen)
    gen.add_argument("--format", choices=FORMATS, default="jsonl")
    gen.add_argument("--cache-dir", help="builder + response cache (default: OUT/.build; keep it to resume)")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing OUT/data")
    gen.set_defaults(handler=command_generate)

    stats = commands.add_parser("stats", help="drops per reason and round as a table and a bar chart")
    stats.add_argument("paths", nargs="+", help="generate outputs or their drop_counts.json files (summed)")
    stats.add_argument("--png")
    stats.set_defaults(handler=command_stats)

    push = add_push_parser(commands, "push to the Hub with a dataset card", "a generate output directory")
    push.set_defaults(handler=command_push)
    return parser


# -- generate -------------------------------------------------------------------------------------
def _seed_columns(specs: Sequence[str]) -> Optional[dict]:
    mapping = {}
    for spec in specs:
        role, sep, column = spec.partition("=")
        if not sep or role not in ("instruction", "input", "output") or not column:
            raise CliError(f"--seed-column {spec!r}: expected ROLE=COLUMN with ROLE instruction, input or output")
        mapping[role] = column
    return mapping or None


def _config_kwargs(args: argparse.Namespace) -> dict:
    kwargs = dict(seed_dataset=args.seed_dataset, seed_data_dir=args.seed_data_dir, seed_split=args.seed_split,
                  seed_format=args.seed_format, seed_columns=_seed_columns(args.seed_column),
                  seed_start=args.seed_start, max_seeds=args.max_seeds, include_seeds=not args.no_seed_rows,
                  rounds=args.rounds, seed=args.seed, failed_evolutions=args.failed_evolutions,
                  temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                  stop=tuple(args.stop), system_message=args.system_message, equality_judge=args.equality_judge,
                  judge_model=args.judge_model, evol_teacher_rules=not args.no_evol_teacher_rules,
                  wizardlm_rules=not args.no_wizardlm_rules, decontaminate=not args.no_decontaminate,
                  **teacher_kwargs(args))
    return {key: value for key, value in kwargs.items() if value is not None}


def command_generate(args: argparse.Namespace) -> int:
    from commitpack_dataset.evol_instruct import EvolInstruct

    output = Path(args.output)
    prepare_output(str(output), args.overwrite)
    cache_dir = Path(args.cache_dir) if args.cache_dir else output / ".build"
    try:
        builder = EvolInstruct(config_name=args.mode, cache_dir=str(cache_dir), **_config_kwargs(args))
        builder.download_and_prepare()
    except (ValueError, FileNotFoundError) as error:
        raise CliError(str(error)) from error
    except Exception as error:
        cause = error.__cause__ or error
        raise CliError(f"generation failed: {type(cause).__name__}: {cause}") from error
    dataset, rounds, per_round = write_output(builder, output, args.format)
    print(f"kept {len(dataset)} rows -> {output / 'data' / builder.config.mode}")
    print(round_table(rounds, per_round))
    return 0


def write_output(builder, output: Path, file_format: str = "jsonl"):
    """Write a prepared builder's ``generate`` output into ``output`` (rows, drop counts per round,
    ``rounds.json``, rejected rows, decontamination reports, ``build.json``); return ``(dataset,
    drops per round, rows per round)``. The ``octopack run`` pipeline writes its Evol-Instruct
    stage with it."""
    from octopack_common import write_json_atomic

    from commitpack_dataset.evol_instruct.builder import DECONTAMINATION_DIR, ROUNDS_FILE
    from commitpack_dataset.teacher_builder import REJECTED_FILE

    dataset = builder.as_dataset("train")
    rounds = builder.drop_statistics()
    mode = builder.config.mode
    write_rows(dataset, output / "data" / mode / f"data.{file_format}", file_format)
    prepared = Path(builder._output_dir)
    for name in (REJECTED_FILE, ROUNDS_FILE):
        shutil.copyfile(prepared / name, output / name)
    if (prepared / DECONTAMINATION_DIR).is_dir():
        shutil.copytree(prepared / DECONTAMINATION_DIR, output / DECONTAMINATION_DIR, dirs_exist_ok=True)
    total = sum(rounds.values(), Counter())
    per_round = Counter(dataset["round"])
    write_json_atomic(output / "drop_counts.json", {
        "kept": len(dataset), "rows_per_config": {mode: len(dataset)},
        "rows_per_round": {str(r): per_round[r] for r in sorted(per_round)},
        "rounds": {str(r): dict(counts) for r, counts in sorted(rounds.items())}, "drop_counts": dict(total)})
    write_json_atomic(output / BUILD_FILE, build_facts(builder, dict(per_round)))
    return dataset, rounds, per_round


def build_facts(builder, rows_per_round: dict) -> dict:
    """What the card needs, without secrets: seeds, teacher, rounds, drops, decontamination."""
    from commitpack_dataset.evol_instruct import prompts_fingerprint

    config = builder.config
    stats = dict(builder.generation_stats)
    reports = read_reports(Path(builder._output_dir) / "decontamination")
    return {"mode": config.mode, "rows_per_round": {str(k): v for k, v in sorted(rows_per_round.items())},
            "rounds": config.rounds, "seed_dataset": config.seed_dataset,
            "drop_counts": {str(r): dict(c) for r, c in sorted(builder.drop_statistics().items())},
            "teacher": teacher_facts(config, stats, prompts_fingerprint(), temperature=config.temperature,
                                     top_p=config.top_p, max_tokens=config.max_new_tokens, seed=config.seed,
                                     equality_judge=config.equality_judge),
            "generation": stats, "decontamination": decontamination_facts(reports)}


def round_table(rounds: dict, rows_per_round: Optional[Counter] = None) -> str:
    """Drops per reason (rows) and round (columns), with the kept rows per round."""
    numbers = sorted(rounds)
    reasons = sorted({reason for counts in rounds.values() for reason in counts})
    width = max([len("reason")] + [len(r) for r in reasons])
    lines = [f"{'reason':<{width}} " + " ".join(f"{'round ' + str(n):>9}" for n in numbers)]
    for reason in reasons:
        lines.append(f"{reason:<{width}} " + " ".join(f"{rounds[n].get(reason, 0):>9}" for n in numbers))
    if rows_per_round is not None:
        lines.append(f"{'kept':<{width}} " + " ".join(f"{rows_per_round.get(n, 0):>9}" for n in numbers))
    return "\n".join(lines)


# -- stats and push --------------------------------------------------------------------------------
def load_round_counts(paths: Sequence[str]) -> dict:
    """``{round: Counter}`` summed over generate outputs or their ``drop_counts.json`` files."""
    total: dict = {}
    for raw in paths:
        path = Path(raw) / "drop_counts.json" if Path(raw).is_dir() else Path(raw)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            for number, counts in payload["rounds"].items():
                total.setdefault(int(number), Counter()).update({str(k): int(v) for k, v in counts.items()})
        except FileNotFoundError as error:
            raise CliError(f"drop counts file not found: {path}") from error
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise CliError(f"{path} is not an evol-instruct drop counts file: {error!r}") from error
    return total


def round_chart(rounds: dict, target: Path) -> None:
    """Dropped rows per reason, one bar per round, as a PNG (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from octopack_common import atomic_path

    numbers = sorted(rounds)
    reasons = sorted({reason for counts in rounds.values() for reason in counts},
                     key=lambda r: -sum(rounds[n].get(r, 0) for n in numbers)) or ["(no drops)"]
    height = 0.8 / max(1, len(numbers))
    figure, axes = plt.subplots(figsize=(9, 1.5 + 0.45 * len(reasons) * max(1, len(numbers)) ** 0.5))
    try:
        positions = np.arange(len(reasons))[::-1]
        for offset, number in enumerate(numbers):
            values = [rounds[number].get(reason, 0) for reason in reasons]
            axes.barh(positions - (offset - (len(numbers) - 1) / 2) * height, values, height,
                      label="seeds (round 0)" if number == 0 else f"round {number}")
        axes.set_yticks(positions, reasons)
        axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axes.set_xlabel("dropped rows")
        axes.set_title("Evol-Instruct: dropped rows per reason and round")
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        figure.tight_layout()
        with atomic_path(target) as temporary:
            figure.savefig(temporary, format="png", dpi=100)
    finally:
        plt.close(figure)


def command_stats(args: argparse.Namespace) -> int:
    rounds = load_round_counts(args.paths)
    print(round_table(rounds))
    if args.png:
        round_chart(rounds, Path(args.png))
        print(f"chart -> {args.png}")
    return 0


def command_push(args: argparse.Namespace) -> int:
    def card_facts(built: dict, configs: dict) -> dict:
        rules = [{"name": reason, "dropped": count, "stage": "seeds" if number == "0" else f"round {number}"}
                 for number, counts in sorted((built.get("drop_counts") or {}).items(), key=lambda item: int(item[0]))
                 for reason, count in sorted(counts.items())]
        per_round = built.get("rows_per_round") or {}
        return {
            "kind": "evol-instruct",
            "seeds": [{"dataset": built.get("seed_dataset") or "local seed instructions",
                       "rows": int(per_round.get("0", 0)),
                       "note": f"{built.get('rounds', '?')} rounds of {built.get('mode', 'code')} evolution; rows "
                               f"per round: {', '.join(f'{k}: {v}' for k, v in per_round.items())}"}],
            "teacher": {k: v for k, v in (built.get("teacher") or {}).items() if v is not None} or None,
            "rules": rules,
            "decontamination": built.get("decontamination"),
            "columns": {"instruction": "the (evolved) instruction", "response": "the teacher's answer",
                        "round": "0 for a seed, r for the r-th evolution", "method": "the evolution method",
                        "parent": "fingerprint of the row it was evolved from",
                        "fingerprint": "this row's lineage hash"},
        }

    return push_output(args, "evol-instruct", "evol-instruct generate", WHY_LICENSE, card_facts)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``evol-instruct`` console script; returns the exit status."""
    return run_cli(make_parser(), argv, "evol-instruct")


if __name__ == "__main__":
    sys.exit(main())

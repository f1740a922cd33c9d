"""``octopack run [pipeline.yaml] [--set KEY=VALUE ...]``: the command of :mod:`octo_trainer.pipeline`."""

from __future__ import annotations

import argparse
import logging
import sys

from .config import STAGES

EXAMPLES = """\
examples:
  octopack run                                   # the embedded defaults (what `make demo` runs)
  octopack run real-teacher.yaml                 # a shipped example (default, real-teacher, huggingface)
  octopack run my.yaml --set eval.limit=10 --set teacher.concurrency=32
  octopack run --repo ~/src/project --set mine.license_policy=keep-unknown
  octopack run --until mix                       # the data stages only
  octopack run --rerun eval                      # redo one stage (and what depends on it)
  octopack run --print-config > my.yaml          # every key with its value

Run the same command again to resume: finished stages are reused (their inputs' fingerprints
are unchanged), a changed key reruns only the stages downstream of it, and no answered teacher
request is ever sent again. The report is <run_dir>/report.html.
"""


def add_run_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``run`` on a subparsers object (TRL's ``make_parser(subparsers)`` shape)."""
    parser = subparsers.add_parser(
        "run", help="the main job, end to end", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="From git history to a fine-tuned, evaluated, carded, published model: mine and filter "
                    "CommitPack, OSS-Instruct and Evol-Instruct from a teacher, the OctoCoder mix, LoRA "
                    "fine-tuning, HumanEvalPack, cards and publication to a Hub -- on embedded defaults.")
    parser.add_argument("config", nargs="?", help="pipeline YAML, or a shipped example's name (default: the "
                        "embedded defaults)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one key, e.g. --set eval.limit=10 (the value is read as YAML; repeatable)")
    parser.add_argument("--repo", dest="repositories", action="append", default=[], metavar="PATH",
                        help="also mine this repository (a path or clone URL; repeatable)")
    parser.add_argument("--run-dir", help="the run directory (the config's run_dir)")
    parser.add_argument("--until", choices=STAGES, metavar="STAGE",
                        help=f"stop after this stage ({', '.join(STAGES)})")
    parser.add_argument("--rerun", action="append", default=[], choices=STAGES, metavar="STAGE",
                        help="run this stage again even if it finished (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    return parser


def run_command(args: argparse.Namespace) -> int:
    import yaml

    from .config import ConfigError, load_config
    from .runner import PipelineError, print_summary, run_pipeline

    logger = logging.getLogger("octo_trainer")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("octopack run: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    overrides = list(args.overrides)
    if args.run_dir:
        overrides.append(f"run_dir={args.run_dir}")
    try:
        config = load_config(args.config, overrides)
        config.mine.repositories += args.repositories
    except ConfigError as error:
        print(f"octopack run: error: {error}", file=sys.stderr)
        return 2
    if args.print_config:
        print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
        return 0
    try:
        summary = run_pipeline(config, until=args.until, rerun=args.rerun, progress=not args.no_progress)
    except (PipelineError, ConfigError) as error:
        print(f"octopack run: error: {error}", file=sys.stderr)
        return 1
    print_summary(summary)
    problems = []
    for result in summary.stages:
        canonical = result.summary.get("canonical") if result.name == "eval" else None
        if canonical and canonical.get("failed"):
            problems.append(f"canonical solutions fail in {', '.join(canonical['failed'])} (the executor)")
        if result.name == "publish" and result.summary.get("failed_checks"):
            problems.append(f"pull-back checks failed: {', '.join(result.summary['failed_checks'])}")
    for problem in problems:
        print(f"octopack run: error: {problem}", file=sys.stderr)
    return 1 if problems else 0

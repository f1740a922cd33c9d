"""``octopack eval``: evaluate a model from a checkpoint or an endpoint into a run directory.

Every :class:`~.config.EvalArguments` field is a flag (``--n_samples 5``; dashes work too) and a
key of an optional YAML ``--config`` file (flags win), as ``trl``'s scripts. :func:`make_parser`
builds the parser standalone or as the ``eval`` subcommand of a parent ``TrlParser``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .config import EvalArguments

PROG = "octopack-eval"
EXAMPLES = """\
examples:
  # the paper's Table 2 (Fix tests, Explain, Synthesize x 6 languages), T=0.2, n=20
  octopack eval --model_name_or_path bigcode/octocoder --prompt_format octocoder
  # a LoRA adapter, greedy, HumanEval + MBPP in the Magicoder form
  octopack eval --model_name_or_path out/magicoder-lora --prompt_format magicoder \\
      --tasks humaneval mbpp --greedy
  # any OpenAI-compatible endpoint (vLLM, TGI, transformers serve, OpenAI)
  octopack eval --base_url http://127.0.0.1:8000/v1 --model_name_or_path my-model \\
      --tokenizer my-org/my-model --prompt_format chat --tasks fixtests --languages python rust
  # a YAML file with the same keys
  octopack eval --config eval.yaml --output_dir outputs/eval/run1

The run directory holds generations.jsonl, scores.jsonl, results.json, table.md and chart.png;
run the same command again to resume (nothing finished is generated or executed twice).
Execution needs HF_ALLOW_CODE_EVAL=1 (it runs model-written code in a sandbox).
"""
#: Mistakes reported as one line (exit status 2) instead of a traceback.
USER_ERRORS = (ValueError, FileNotFoundError, ImportError, PermissionError)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in ``--help`` and the examples kept as written."""


def make_parser(subparsers: argparse._SubParsersAction | None = None, prog: str | None = None):
    """The ``TrlParser`` over :class:`EvalArguments` (as the ``eval`` command of ``subparsers``)."""
    from trl import TrlParser

    options = {"description": EvalArguments.__doc__, "epilog": EXAMPLES,
               "formatter_class": _HelpFormatter}
    if subparsers is not None:
        return subparsers.add_parser("eval", help="Evaluate a model on HumanEvalPack, HumanEval "
                                     "and MBPP", dataclass_types=(EvalArguments,), **options)
    return TrlParser((EvalArguments,), prog=prog or PROG, **options)


def run(args: EvalArguments, prog: str = PROG) -> int:
    """Evaluate parsed arguments as the command line does: progress logged at INFO, the table on
    stdout, a user error as one line on stderr (exit status 2). A parent command (``octopack eval``)
    calls this too."""
    from .runner import run_evaluation

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        document = run_evaluation(args)
    except USER_ERRORS as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    print((args.run_dir / "table.md").read_text(encoding="utf-8"))
    print(f"wrote {args.run_dir}/results.json, table.md, chart.png "
          f"({document['wall_seconds']:.0f} s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    (args,) = make_parser().parse_args_and_config(list(sys.argv[1:] if argv is None else argv))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

"""The evaluation runner: from a checkpoint or an endpoint to the OctoPack paper's Table 2.

    from octo_trainer.evaluation import EvalArguments, run_evaluation
    results = run_evaluation(model_name_or_path="bigcode/octocoder", prompt_format="octocoder")

or ``octopack eval --model_name_or_path ... --prompt_format ...`` (:mod:`.cli`). Modules, one job
each: :mod:`.config` (settings), :mod:`.prompts` and :mod:`.plain` (HumanEvalPack, HumanEval and
MBPP prompts), :mod:`.stopping` (the harness's end-of-function rules), :mod:`.backends` (the
model behind the generation client), :mod:`.generate`, :mod:`.diffs` (patch application for the
diff formats), :mod:`.score` (the metric's post-processing and executor), :mod:`.report`
(``results.json`` -- its schema --, the table and the chart) and :mod:`.runner` (the stages and
the run directory). The metric (``humanevalpack_metric``) stays model-free.
"""

from __future__ import annotations

from .config import EvalArguments


def run_evaluation(args: EvalArguments | None = None, **fields) -> dict:
    from .runner import run_evaluation as run

    return run(args, **fields)


def make_parser(subparsers=None, prog=None):
    from .cli import make_parser as build

    return build(subparsers, prog)


__all__ = ["EvalArguments", "make_parser", "run_evaluation"]

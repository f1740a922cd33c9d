"""HumanEvalPack execution metric for `evaluate`: pass@k over six languages, sandboxed and parallel.

Load it with ``evaluate.load("<path to the humanevalpack_metric directory>")`` or import
:class:`HumanEvalPack`. ``compute()`` is a drop-in replacement for the reference metric the
bigcode-evaluation-harness loads (``Muennighoff/code_eval_octopack``).
"""
# evaluate scans this file's imports with a regex: keep one import per line.

import datasets
import evaluate

from humanevalpack_metric.evaluation import DEFAULT_K
from humanevalpack_metric.evaluation import score_candidates
from humanevalpack_metric.settings import CODE_EVAL_WARNING

_CITATION = """\
@article{muennighoff2023octopack,
  title={OctoPack: Instruction Tuning Code Large Language Models},
  author={Niklas Muennighoff and Qian Liu and Armel Zebaze and Qinkai Zheng and Binyuan Hui and
          Terry Yue Zhuo and Swayam Singh and Xiangru Tang and Leandro von Werra and Shayne Longpre},
  journal={arXiv preprint arXiv:2308.07124},
  year={2023}
}
@article{chen2021codex,
  title={Evaluating Large Language Models Trained on Code},
  author={Mark Chen and others},
  journal={arXiv preprint arXiv:2107.03374},
  year={2021}
}
"""

_DESCRIPTION = """\
Executes candidate programs against HumanEvalPack tests in Python, JavaScript, Java, Go, C++ and
Rust, each in its own sandbox (bubblewrap: no network, read-only system, private work directory,
own PID namespace, CPU/memory/file/process/output limits), in parallel, running identical
programs once, and estimates pass@k with the unbiased estimator. Verdicts reproduce the
reference metric used for the OctoPack paper (HumanEvalFix / Explain / Synthesize).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of candidate lists, one list per problem; each candidate is a program
        already assembled as the reference harness assembles it (imports, declarations, ...).
    references: list of test programs, one per problem (the harness passes "\\n" + test).
    k: the k values of pass@k (default [1, 10, 100]; a k above the number of candidates of any
        problem is left out).
    language: python, javascript (or js), java, go, cpp or rust (default python).
    num_workers: parallel sandboxes (default: number of CPU cores).
    timeout: seconds per program run (default: the language's harness timeout:
        python 10, js 10, java 10, go 20, cpp 60, rust 60).
    corrected: fix documented reference-data bugs instead of reproducing them (default False).
    sandbox_mode: "auto", "bwrap" or "rlimit" (default "auto").
    results_path: JSONL file caching outcomes; an interrupted run resumes from it.
Returns:
    pass_at_k: dict {"pass@1": ..., ...}
    results: dict problem index -> list of (completion_id, {"task_id", "completion_id",
        "passed", "result", "status", "duration"}); "result" is "passed", "failed: ..." or
        "timed out" as in the reference; "status" separates compile errors and timeouts.
Examples:
    >>> import os; os.environ["HF_ALLOW_CODE_EVAL"] = "1"
    >>> import evaluate
    >>> metric = evaluate.load("path/to/humanevalpack_metric")
    >>> pass_at_k, results = metric.compute(
    ...     references=["assert add(2, 3) == 5"],
    ...     predictions=[["def add(a, b): return a * b", "def add(a, b): return a + b"]],
    ...     k=[1, 2], language="python")
    >>> pass_at_k
    {'pass@1': 0.5, 'pass@2': 1.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class HumanEvalPack(evaluate.Metric):
    """HumanEvalPack execution metric (pass@k)."""

    def _info(self):
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Value("string"),
                }
            ),
            homepage="https://github.com/bigcode-project/octopack",
            codebase_urls=["https://github.com/bigcode-project/octopack"],
            reference_urls=["https://arxiv.org/abs/2308.07124"],
            license="Apache-2.0",
        )

    def _compute(self, predictions, references, k=None, num_workers=None, timeout=None,
                 language="python", **options):
        report = score_candidates(
            predictions,
            references,
            language=language,
            k=DEFAULT_K if k is None else k,
            num_workers=num_workers,
            timeout=timeout,
            **options,
        )
        self.last_report = report
        return report.pass_at_k, report.by_task()


__all__ = ["HumanEvalPack", "CODE_EVAL_WARNING"]

"""Decontamination: find benchmark problems and solutions in training data, remove them, report.

One module for every builder (OSS-Instruct, Evol-Instruct, the OctoCoder mix) and the
``oss-instruct decontaminate`` command::

    from commitpack_dataset.decontamination import Decontaminator, Benchmark

    decontaminator = Decontaminator()                      # HumanEval, MBPP test, HumanEvalPack
    decontaminator.matches("... some text ...")            # -> [Match(benchmark, item, field, ...)]
    keep, reason = decontaminator(row, columns=("problem", "solution"))   # a filter step

    result = decontaminator.decontaminate(dataset, columns=("problem", "solution"), num_proc=2)
    result.kept                                            # the clean rows (a Dataset, or a list)
    result.drop_counts()                                   # Counter({"contamination_mbpp": 3, ...})
    result.save("decontamination/")                        # report.json, removed.jsonl, benchmarks.json

    extra = Benchmark.from_dataset("gsm8k", "openai/gsm8k", text_fields=["question"],
                                   split="test", config="main")
    Decontaminator([*builtin_benchmarks(), extra])

Two methods (both on by default): exact case-insensitive **substring** match of the benchmark
strings (reference D.6, whitespace-insensitive by default) with one Aho-Corasick automaton, and
**n-gram** overlap (n = 10 word tokens, on the problem statements by default) with hashed n-grams
vectorised over batches. ``matching.py`` documents the normalisation and the tokenisation;
``benchmarks.py`` what each benchmark contributes (with the whitelist of trivial HumanEval bodies).
"""

from commitpack_dataset.decontamination.benchmarks import (
    BUILTIN,
    TRIVIAL_SOLUTIONS,
    TRIVIAL_TASKS,
    Benchmark,
    BenchmarkString,
    builtin_benchmarks,
    humaneval,
    humanevalpack,
    mbpp,
)
from commitpack_dataset.decontamination.decontaminate import (
    METHODS,
    REASON_PREFIX,
    DecontaminationResult,
    Decontaminator,
    Match,
    RemovedRow,
    decontaminate,
)
from commitpack_dataset.decontamination.matching import normalise, tokenize

__all__ = ["BUILTIN", "METHODS", "REASON_PREFIX", "TRIVIAL_SOLUTIONS", "TRIVIAL_TASKS", "Benchmark",
           "BenchmarkString", "DecontaminationResult", "Decontaminator", "Match", "RemovedRow",
           "builtin_benchmarks", "decontaminate", "humaneval", "humanevalpack", "mbpp", "normalise",
           "tokenize"]

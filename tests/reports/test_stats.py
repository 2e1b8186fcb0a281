"""Seed-level bootstrap CI (figure bands) and Holm checked against exhaustive hand enumeration."""
import itertools
import math

import numpy as np
import pytest

from augbench.reports.stats import bootstrap_ci, holm


def exact_bootstrap_quantiles(d, level=0.95):
    """Every one of the n**n equally likely resamples, enumerated: the distribution the bootstrap samples."""
    d = np.asarray(d, dtype=float)
    means = np.array([d[list(idx)].mean() for idx in itertools.product(range(len(d)), repeat=len(d))])
    tail = (1 - level) / 2
    return np.quantile(means, tail), np.quantile(means, 1 - tail)



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


def test_minimum_detectable_effect_is_the_textbook_normal_figure():
    """Normal approximation, alpha 0.05 two-sided, power 0.8: (1.960 + 0.842) * se = 2.802 * se."""
    import math

    from augbench.reports.stats import minimum_detectable_effect

    assert abs(minimum_detectable_effect(0.01, math.inf, 0.05) - 0.02802) < 1e-4
    # fewer degrees of freedom and a stricter level both raise it
    assert minimum_detectable_effect(0.01, 2.0, 0.05) > minimum_detectable_effect(0.01, math.inf, 0.05)
    assert minimum_detectable_effect(0.01, math.inf, 0.05 / 50) > minimum_detectable_effect(0.01, math.inf, 0.05)

import numpy as np
import pytest

from augbench.benchmark.fidelity import kid_from_features


def test_kid_is_near_zero_for_two_samples_of_one_distribution_and_positive_when_shifted():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 16))
    same, _ = kid_from_features(real, rng.normal(size=(400, 16)), subset_size=200, n_subsets=20)
    shifted, _ = kid_from_features(real, rng.normal(size=(400, 16)) + 1.0, subset_size=200, n_subsets=20)
    assert abs(same) < 0.01
    assert shifted > 20 * max(abs(same), 1e-3)


def test_kid_works_with_three_samples_by_capping_the_subset():
    rng = np.random.default_rng(1)
    mean, std = kid_from_features(rng.normal(size=(3, 8)), rng.normal(size=(50, 8)) + 3.0, subset_size=1000)
    assert np.isfinite(mean) and np.isfinite(std)
    assert mean > 0  # clearly different distributions, even at 3 samples


def test_kid_spread_comes_from_subsets():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(100, 8)), rng.normal(size=(100, 8)) + 0.5
    _, std_sub = kid_from_features(a, b, subset_size=20, n_subsets=30)
    _, std_full = kid_from_features(a, b, subset_size=100, n_subsets=30)
    assert std_sub > 0
    assert std_full == 0.0  # the only possible subset is the full sets


def test_kid_matches_a_hand_computed_unbiased_mmd():
    x = np.array([[0.0], [1.0]])
    y = np.array([[2.0], [3.0]])

    def k(a, b):
        return (a * b + 1.0) ** 3  # d = 1

    expected = (2 * k(0, 1)) / 2 + (2 * k(2, 3)) / 2 - 2 * (k(0, 2) + k(0, 3) + k(1, 2) + k(1, 3)) / 4
    mean, _ = kid_from_features(x, y)
    assert mean == pytest.approx(expected)


def test_kid_rejects_single_samples():
    with pytest.raises(ValueError, match="at least 2"):
        kid_from_features(np.zeros((1, 3)), np.zeros((4, 3)))

import numpy as np
import pytest
import scipy.linalg

from augbench.benchmark.fidelity import fid_from_features, frechet_distance


def scipy_fid(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


def random_gaussian(rng, d):
    a = rng.normal(size=(d, d))
    return rng.normal(size=d), a @ a.T / d + 0.1 * np.eye(d)


@pytest.mark.parametrize("d", [2, 16, 64])
def test_frechet_distance_agrees_with_direct_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    mu1, s1 = random_gaussian(rng, d)
    mu2, s2 = random_gaussian(rng, d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(scipy_fid(mu1, s1, mu2, s2), rel=1e-7)


def test_frechet_distance_of_a_gaussian_with_itself_is_zero():
    mu, s = random_gaussian(np.random.default_rng(1), 32)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8)


def test_one_dimensional_closed_form():
    # N(0, 1) vs N(3, 4): (0-3)^2 + 1 + 4 - 2*sqrt(1*4) = 10
    assert frechet_distance([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(10.0)


@pytest.mark.parametrize("n_real,n_fake,d", [(400, 300, 16), (12, 30, 64), (5, 3, 512)])
def test_fid_from_features_matches_scipy_on_both_paths(n_real, n_fake, d):
    """Sample counts above and below the dimension exercise the covariance and the SVD shortcut."""
    rng = np.random.default_rng(n_real)
    a = rng.normal(size=(n_real, d))
    b = rng.normal(size=(n_fake, d)) * 1.5 + 0.3
    mu1, s1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
    expected = frechet_distance(mu1, s1, mu2, s2)
    assert fid_from_features(a, b) == pytest.approx(expected, rel=1e-6)
    if d <= 64:  # scipy's sqrtm is slow and unstable for singular 2048-d products
        assert fid_from_features(a, b) == pytest.approx(scipy_fid(mu1, s1, mu2, s2), rel=1e-5)


def test_fid_of_a_set_with_itself_is_zero():
    a = np.random.default_rng(2).normal(size=(50, 128))
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-8)


def test_fid_grows_with_the_shift_of_the_fake_distribution():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(500, 8))
    fids = [fid_from_features(real, rng.normal(size=(500, 8)) + shift) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert fids == sorted(fids)
    assert fids[0] < 0.2 < fids[1]
    # a mean shift of s in every one of 8 dims adds 8 s^2
    assert fids[3] == pytest.approx(8 * 4.0, rel=0.15)


def test_fid_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        fid_from_features(np.zeros((1, 4)), np.zeros((5, 4)))

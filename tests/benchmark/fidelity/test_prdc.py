import numpy as np
import pytest

from augbench.benchmark.fidelity import prdc


def test_identical_sets_have_full_precision_recall_and_coverage():
    points = np.random.default_rng(0).normal(size=(40, 5))
    scores = prdc(points, points.copy(), k=5)
    assert scores["precision"] == 1.0
    assert scores["recall"] == 1.0
    assert scores["coverage"] == 1.0


def test_hand_constructed_one_dimensional_case():
    # real 0,1,2,3 with k=1: every real ball has radius 1.
    # fake 0.5 lies in the balls of 0 and 1; fake 10 in none -> precision 1/2, density 2/(1*2) = 1.
    # real 0 and 1 have a fake within radius, 2 and 3 do not -> coverage 1/2.
    # fake radii (k=1) are both 9.5, so every real point is inside the ball of 0.5 -> recall 1.
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [10.0]])
    assert prdc(real, fake, k=1) == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "density": 1.0, "coverage": 0.5})


def test_far_away_fakes_score_zero():
    real = np.random.default_rng(1).normal(size=(30, 4))
    fake = real + 100.0
    assert prdc(real, fake, k=3) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_collapsed_fakes_keep_precision_but_lose_recall_and_coverage():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(200, 2))
    fake = np.repeat(real[:1], 50, axis=0) + rng.normal(scale=1e-3, size=(50, 2))
    scores = prdc(real, fake, k=5)
    assert scores["precision"] == 1.0
    assert scores["coverage"] < 0.1
    assert scores["recall"] < 0.1


def test_tiny_sets_cap_k():
    rng = np.random.default_rng(3)
    scores = prdc(rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), k=5)
    assert all(np.isfinite(v) for v in scores.values())
    with pytest.raises(ValueError, match="at least 2"):
        prdc(np.zeros((1, 4)), np.zeros((3, 4)))

import numpy as np
import pytest

from augbench.benchmark.fidelity import memorisation_score


def test_exact_copies_of_budget_images_score_zero():
    rng = np.random.default_rng(0)
    budget = rng.normal(size=(10, 16))
    heldout = rng.normal(size=(100, 16))
    copies = budget[rng.integers(0, 10, 200)]
    assert memorisation_score(copies, budget, heldout) == 0.0


def test_fresh_samples_of_the_class_score_about_one_and_near_copies_well_below():
    rng = np.random.default_rng(1)
    budget = rng.normal(size=(10, 16))
    heldout = rng.normal(size=(200, 16))
    fresh = rng.normal(size=(200, 16))
    near_copies = budget[rng.integers(0, 10, 200)] + rng.normal(scale=0.1, size=(200, 16))
    assert memorisation_score(fresh, budget, heldout) == pytest.approx(1.0, abs=0.15)
    assert memorisation_score(near_copies, budget, heldout) < 0.2


def test_leave_one_out_yardstick_without_heldout():
    rng = np.random.default_rng(2)
    budget = rng.normal(size=(20, 8))
    assert memorisation_score(budget[:5].copy(), budget, None) == 0.0
    assert memorisation_score(rng.normal(size=(100, 8)), budget, None) > 0.5
    with pytest.raises(ValueError, match="at least 2"):
        memorisation_score(budget[:3], budget[:1], None)


def test_memorisation_share_counts_samples_nearer_than_any_fresh_real_image():
    from augbench.benchmark.fidelity import memorisation_share

    budget = np.array([[0.0, 0.0], [10.0, 0.0]])
    heldout = np.array([[0.0, 3.0], [10.0, 4.0]])        # the closest fresh real image lands 3.0 away
    synth = np.array([[0.0, 0.5], [10.0, 1.0], [0.0, 2.9], [0.0, 3.5], [5.0, 0.0]])  # 0.5, 1.0, 2.9 < 3.0
    assert memorisation_share(synth, heldout, budget) == pytest.approx(3 / 5)
    assert memorisation_share(budget, heldout, budget) == 1.0          # exact copies
    assert memorisation_share(heldout + 5.0, heldout, budget) < 1.0
    with pytest.raises(ValueError):
        memorisation_share(synth, heldout[:0], budget)

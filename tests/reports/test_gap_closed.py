"""Gap closed (arm − none) / (real − none): planted predictions whose answer is known by construction.

Each seed's `none` classifier is right on a random subset of the test images; `real` additionally
gets 2·m_c wrong images of class c right, and the arm gets exactly m_c of those same images right
(a subset). Recall of class c then rises by m_c / n_c for the arm and 2·m_c / n_c for real, so
accuracy and balanced accuracy of the arm lie exactly halfway: the gap closed is 1/2 by
construction, whatever the seed. Nothing here is computed by reports/ to get an expected value.
"""
import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from augbench.reports.conventions import arm_label, arm_order, control_of, is_control, is_learned
from augbench.reports.stats import GAP_INCONCLUSIVE, KIND_BOTH, KIND_IMAGES, KIND_SEEDS, gap_closed, \
    gap_closed_from_values

N_PER_CLASS = (120, 60, 40)
LABELS = np.concatenate([np.full(n, c) for c, n in enumerate(N_PER_CLASS)])


def one_hot_probs(pred, n_classes=3):
    p = np.full((len(pred), n_classes), 0.1 / (n_classes - 1), dtype=np.float32)
    p[np.arange(len(pred)), pred] = 0.9
    return p


def wrong(label, n_classes=3):
    return (label + 1) % n_classes


def planted(n_seeds, flips_real, flips_arm, seed=0):
    """(arm, none, real) probabilities (S, N, K); ``flips_*[s][c]``: wrong-by-none images of class c
    that real / the arm gets right at seed s (the arm's are a subset of real's)."""
    rng = np.random.default_rng(seed)
    out = {"arm": [], "none": [], "real": []}
    for s in range(n_seeds):
        pred_none = LABELS.copy()
        pred_real, pred_arm = LABELS.copy(), LABELS.copy()
        for c in range(len(N_PER_CLASS)):
            idx = rng.permutation(np.flatnonzero(LABELS == c))
            n_wrong = int(0.5 * len(idx))                  # none misses half of each class
            missed = idx[:n_wrong]
            pred_none[missed] = wrong(c)
            pred_real[missed[flips_real[s][c]:]] = wrong(c)   # real fixes the first flips_real of them
            pred_arm[missed[flips_arm[s][c]:]] = wrong(c)     # the arm fixes the first flips_arm of them
        out["none"].append(one_hot_probs(pred_none))
        out["real"].append(one_hot_probs(pred_real))
        out["arm"].append(one_hot_probs(pred_arm))
    return {k: np.stack(v) for k, v in out.items()}


REAL_FLIPS = [(20, 12, 8), (16, 10, 6), (24, 14, 10)]
HALF_FLIPS = [(10, 6, 4), (8, 5, 3), (12, 7, 5)]


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy"])
def test_arm_halfway_between_none_and_real_closes_half_the_gap(metric):
    p = planted(3, REAL_FLIPS, HALF_FLIPS)
    g = gap_closed(p["arm"], p["none"], p["real"], LABELS, metric, n_boot=500)
    assert g.resolved and g.kind == KIND_BOTH and g.n_seeds == 3
    assert g.estimate == pytest.approx(0.5, abs=1e-9)
    assert g.low < 0.5 < g.high
    assert 0.0 < g.high - g.low < 1.0
    assert g.denominator.low > 0.0


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "macro_auc"])
def test_arm_equal_to_none_closes_nothing_and_equal_to_real_closes_all(metric):
    p = planted(3, REAL_FLIPS, HALF_FLIPS)
    zero = gap_closed(p["none"], p["none"], p["real"], LABELS, metric, n_boot=300)
    one = gap_closed(p["real"], p["none"], p["real"], LABELS, metric, n_boot=300)
    assert zero.resolved and one.resolved
    assert zero.estimate == pytest.approx(0.0, abs=1e-12)
    assert one.estimate == pytest.approx(1.0, abs=1e-12)
    # identical arms differ by exactly 0 (or exactly real − none) on every resample: no uncertainty left
    assert zero.low == pytest.approx(0.0, abs=1e-9) and zero.high == pytest.approx(0.0, abs=1e-9)
    assert one.low == pytest.approx(1.0, abs=1e-9) and one.high == pytest.approx(1.0, abs=1e-9)


def test_one_seed_se_matches_the_binomial_share_of_the_fixed_images():
    """One seed, accuracy: the ratio is (#resampled arm fixes) / (#resampled real fixes). The arm's
    fixes are F of real's 2F, so given real's count K the share is ~ Binomial(K, 1/2) / K and its
    standard error is sqrt(1/4 / (2F)) to first order."""
    flips_real, flips_arm = [(40, 24, 16)], [(20, 12, 8)]
    p = planted(1, flips_real, flips_arm, seed=3)
    g = gap_closed(p["arm"], p["none"], p["real"], LABELS, "accuracy", n_boot=4000, seed=1)
    assert g.kind == KIND_IMAGES and math.isinf(g.df)
    assert g.estimate == pytest.approx(0.5, abs=1e-9)
    expected = math.sqrt(0.25 / sum(flips_real[0]))
    assert g.se == pytest.approx(expected, rel=0.12)
    assert g.low == pytest.approx(0.5 - 1.959964 * g.se, abs=1e-9)


def test_real_not_resolved_above_none_is_inconclusive_not_a_huge_ratio():
    # real − none fixes +3, −3 and +1 images per seed: mean ≈ 0, interval includes 0
    p = planted(3, [(3, 0, 0), (0, 0, 0), (1, 0, 0)], [(3, 0, 0), (0, 0, 0), (1, 0, 0)])
    p["real"][1] = p["none"][1].copy()
    # seed 1: real is worse than none on 3 images (break 3 that none got right)
    right = np.flatnonzero(p["none"][1].argmax(1) == LABELS)[:3]
    p["real"][1][right] = one_hot_probs(wrong(LABELS[right]))
    g = gap_closed(p["arm"], p["none"], p["real"], LABELS, "accuracy", n_boot=300)
    assert not g.resolved
    assert math.isnan(g.estimate) and math.isnan(g.low) and math.isnan(g.high)
    assert g.note == GAP_INCONCLUSIVE
    assert g.denominator.low <= 0.0 <= g.denominator.high


def test_real_identical_to_none_is_inconclusive():
    p = planted(2, [(0, 0, 0)] * 2, [(5, 0, 0)] * 2)
    g = gap_closed(p["arm"], p["none"], p["none"], LABELS, "balanced_accuracy", n_boot=200)
    assert not g.resolved and math.isnan(g.estimate)


def test_seeds_only_fallback_by_hand():
    none = np.array([0.50, 0.60, 0.55])
    real = none + [0.10, 0.12, 0.08]
    arm = none + [0.06, 0.05, 0.04]
    g = gap_closed_from_values(arm, none, real, "test_balanced_accuracy")
    # ratio of means 0.15 / 0.30; u = a − 0.5 b = (+0.01, −0.01, 0), s²(u) = 1e-4
    se = math.sqrt(1e-4 / 3) / 0.10
    half = student_t.ppf(0.975, 2) * se
    assert g.kind == KIND_SEEDS and g.resolved
    assert g.estimate == pytest.approx(0.5)
    assert g.se == pytest.approx(se)
    assert (g.low, g.high) == pytest.approx((0.5 - half, 0.5 + half))


def test_lower_is_better_needs_real_resolved_below_none():
    none = np.array([40.0, 42.0, 41.0])
    real = none - [10.0, 12.0, 11.0]
    arm = none - [2.75, 3.0, 2.5]
    g = gap_closed_from_values(arm, none, real, "fid", lower=True)
    assert g.resolved and g.estimate == pytest.approx(8.25 / 33.0)
    up = gap_closed_from_values(arm, none, real, "fid", lower=False)  # "better" = higher: real went the wrong way
    assert not up.resolved and math.isnan(up.estimate)


def test_controls_are_labelled_ordered_after_the_baselines_and_not_learned():
    assert is_control("real") and is_control("real@long") and not is_control("realistic-gan")
    assert not is_control("none") and not is_control("dcgan")
    assert arm_label("real") == "real (control)" and arm_label("dcgan") == "dcgan"
    assert arm_order(["dcgan", "real", "acgan", "none", "classic", "real@x"]) == \
        ["none", "classic", "real", "real@x", "acgan", "dcgan"]
    assert control_of(["dcgan", "real@x", "none", "real"]) == "real"
    assert control_of(["dcgan", "none"]) is None
    assert [a for a in ["none", "oversample", "balanced-softmax", "real", "dcgan", "ddpm@x"] if is_learned(a)] == \
        ["dcgan", "ddpm@x"]

"""paired_difference on simulated arms: exact per-resample metrics, calibrated at 3 seeds, has power.

The null rate is checked with 200 fixed-seed trials (binomial SE ~0.015 at 5 %), so the band
[0.01, 0.10] is about 2.5 SE either side; the plain seeds-then-images percentile bootstrap, which
the report no longer uses, over-rejects on the same trials and must land above it.
"""
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score, roc_auc_score

from augbench.reports.simulate import Scenario, simulate
from augbench.reports.stats import (KIND_BOTH, KIND_IMAGES, holm_levels, metric_values, paired_difference,
                           paired_differences, resample_weights, seed_difference)

SMALL = Scenario(class_counts=(150, 60, 20))
VARYING = Scenario(class_counts=(150, 60, 20), seed_scale=2.0)  # seed-to-seed spread dominates


def test_weighted_metrics_equal_sklearn_on_resamples_with_ties():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 200)
    probs = rng.dirichlet(np.ones(3), (1, 200))
    probs = np.round(probs, 1)  # many tied scores
    weights = resample_weights(200, 4, rng)
    got = metric_values(probs, labels, ["macro_auc", "auc_2", "ap_1", "balanced_accuracy", "macro_f1"], weights)
    pred = probs[0].argmax(1)
    for b in range(4):
        w = weights[b]
        assert got["auc_2"][b, 0] == pytest.approx(roc_auc_score(labels == 2, probs[0, :, 2], sample_weight=w))
        assert got["macro_auc"][b, 0] == pytest.approx(np.mean(
            [roc_auc_score(labels == k, probs[0, :, k], sample_weight=w) for k in range(3)]))
        assert got["ap_1"][b, 0] == pytest.approx(average_precision_score(labels == 1, probs[0, :, 1], sample_weight=w),
                                                  abs=1e-6)
        assert got["balanced_accuracy"][b, 0] == pytest.approx(balanced_accuracy_score(labels, pred, sample_weight=w))
        assert got["macro_f1"][b, 0] == pytest.approx(f1_score(labels, pred, average="macro", sample_weight=w,
                                                               zero_division=0))


def test_one_seed_interval_is_the_image_bootstrap_of_accuracy():
    # accuracy is a mean over images: the image-bootstrap SE of the paired difference is sd(c_a - c_b)/sqrt(N)
    a, b, labels = simulate(np.random.default_rng(5), 1, SMALL)
    r = paired_difference(a, b, labels, "accuracy", n_boot=4000, seed=1)
    per_image = (a[0].argmax(1) == labels).astype(float) - (b[0].argmax(1) == labels)
    assert r.kind == KIND_IMAGES and r.n_seeds == 1 and r.n_images == len(labels)
    assert r.estimate == pytest.approx(per_image.mean())
    assert r.se == pytest.approx(per_image.std() / np.sqrt(len(labels)), rel=0.08)
    assert r.low < r.estimate < r.high


def test_several_seeds_use_the_seed_spread():
    a, b, labels = simulate(np.random.default_rng(6), 4, SMALL)
    r = paired_difference(a, b, labels, "balanced_accuracy", n_boot=500, seed=0)
    d = [balanced_accuracy_score(labels, a[s].argmax(1)) - balanced_accuracy_score(labels, b[s].argmax(1))
         for s in range(4)]
    assert r.kind == KIND_BOTH and r.estimate == pytest.approx(np.mean(d))
    assert r.between_seed_var == pytest.approx(np.var(d, ddof=1))
    assert r.se ** 2 >= np.var(d, ddof=1) / 4 - 1e-12  # the seed term is never dropped
    assert 3 <= r.df  # df >= n_seeds - 1


def _null_rates(n_seeds, trials=200):
    rng = np.random.default_rng(2024)
    t_hits = perc_hits = 0
    for trial in range(trials):
        a, b, labels = simulate(rng, n_seeds, VARYING)
        r = paired_differences(a, b, labels, ["macro_auc"], n_boot=150, seed=trial)["macro_auc"]
        t_hits += r.p_value < 0.05
        perc_hits += r.extra["percentile_p"] < 0.05
    return t_hits / trials, perc_hits / trials


def test_null_false_positive_rate_at_three_seeds_and_the_naive_bootstrap_fails():
    t_rate, percentile_rate = _null_rates(3)
    assert 0.01 <= t_rate <= 0.10, t_rate
    assert percentile_rate > 0.10, percentile_rate


def test_power_on_a_planted_difference():
    rng = np.random.default_rng(7)
    planted = Scenario(class_counts=SMALL.class_counts, effect=0.6, seed_scale=0.5)
    hits = 0
    for trial in range(40):
        a, b, labels = simulate(rng, 5, planted)
        r = paired_difference(a, b, labels, "macro_auc", n_boot=150, seed=trial)
        hits += r.p_value < 0.05 and r.estimate > 0
    assert hits / 40 >= 0.7


def test_seed_fallback_is_a_paired_t_interval():
    from scipy.stats import t

    d = np.array([0.02, 0.03, 0.01, 0.04])
    r = seed_difference(d + 0.5, np.full(4, 0.5))
    half = t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert (r.low, r.high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert np.isnan(seed_difference([0.6], [0.5]).low)


def test_holm_levels_match_holm_decisions():
    p = [0.01, 0.04, 0.03, 0.20]
    # sorted 0.01 (0.05/4: reject), 0.03 (0.05/3 = 0.0167: stop), later ones keep that level
    assert holm_levels(p) == pytest.approx([0.0125, 0.05 / 3, 0.05 / 3, 0.05 / 3])


def test_small_sample_df_lies_between_n_minus_1_and_satterthwaite():
    from augbench.reports.stats import small_sample_df

    assert small_sample_df(3, 1.0) == 2  # all variance from the seeds: n - 1
    assert small_sample_df(3, 0.0) == float("inf")  # no seed term: the image bootstrap alone, normal
    for n in (3, 5, 10):
        previous = n - 1
        for share in (0.9, 0.7, 0.5, 0.2):
            df = small_sample_df(n, share)
            assert n - 1 < df < (n - 1) / share ** 2  # fewer than Satterthwaite's plug-in
            assert df > previous  # the smaller the seed share, the nearer the normal
            previous = df

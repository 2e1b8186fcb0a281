"""Paired comparisons of two arms: a seeds x test-images bootstrap with a calibrated interval, and Holm.

Two things make one arm's score differ from another's besides the arm itself: which training run
(seed) produced each model, and which images happen to be in the test set (a class may have 23).
Both arms are scored on the same test images and paired by seed (the same seed draws the same
budget images), so :func:`paired_difference` resamples exactly those two units together: seeds,
and within them the test images, the same image indices for both arms.

Why the interval is not a plain bootstrap percentile interval: with 3 seeds, resampling the seeds
sees at most the 3 observed differences, so it underestimates the between-seed variance and a
null difference is "significant" in about 1 trial of 4 (measured by perf/stats_calibration.py).
The interval therefore combines the two variance components explicitly (docs/statistics.md):

    Var(estimate) = s^2_seeds / n_seeds  +  C_images

``s^2_seeds`` is the sample variance of the per-seed differences (it contains the seed-to-seed
variation and each seed's own test-image noise); ``C_images`` is the part of the test-image noise
shared by all seeds (the same test set), estimated as the mean between-seed covariance of the
image-bootstrap replicates. With one seed the whole image-bootstrap variance is used and the
result says it covers test images only. The interval is estimate +- t * se with
``(n_seeds - 1) / r`` degrees of freedom, r = the seed term's share of the variance (n_seeds - 1
when the seed term dominates, normal when the image term does). Satterthwaite's ``(n_seeds - 1) / r^2``
plugs the *estimated* share into a convex function, which overstates the degrees of freedom exactly
when s^2 came out small; at 3 seeds it rejected a true null in 8.2 % of 2000 simulated trials, and
``/ r`` in 5.7 % (docs/statistics.md, "Calibration"). The exponent is a measured calibration, not a
theorem.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from augbench.reports.resampling import (CLASS_METRICS, GLOBAL_METRICS, RunScores, ScoredRun, TestResamples,  # noqa: F401
                                         parse_metric, resample_weights, stack, test_set_weights)

BOOTSTRAP_RESAMPLES = 10_000     # seed-level bootstrap of the mean (figures' bands)
BOOTSTRAP_SEED = 0
CI_LEVEL = 0.95
N_BOOT = 2000                    # image-bootstrap replicates of paired_difference
KIND_BOTH = "seeds x test images"
KIND_IMAGES = "test images only"
KIND_SEEDS = "seeds only"


def metric_values(probs, labels, metrics, weights=None) -> dict[str, np.ndarray]:
    """Each metric for every (resample, seed): arrays of shape (B, S) (B = 1 without ``weights``).

    ``probs`` (S, N, K) class probabilities, ``labels`` (N,) class indices, ``weights`` (B, N)
    image counts from :func:`resample_weights` (None = every image once). Each seed is scored on
    its own (reports/resampling.py has the definitions)."""
    probs = np.asarray(probs)
    weights_t = None if weights is None else TestResamples.of(weights).weights_t
    runs = [RunScores(probs[s], labels, weights_t) for s in range(probs.shape[0])]
    metrics = list(dict.fromkeys(metrics))
    for m in metrics:
        parse_metric(m)
    return {m: stack(runs, m) for m in metrics}


# --- the paired difference --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairedDifference:
    """arm A − arm B on one metric: the estimate, its 95 % interval and two-sided p-value.

    ``kind`` says which noise the interval covers: "seeds x test images", "test images only" (one
    seed: the seed-to-seed spread is unknown and not in the interval) or "seeds only" (no
    per-image predictions: computed from the logged per-seed values, test-image noise not
    resampled). ``interval(level)`` gives the interval at another level (for corrected intervals)."""

    metric: str
    estimate: float
    se: float
    df: float
    p_value: float
    n_seeds: int
    n_images: int
    kind: str
    per_seed: tuple = ()
    between_seed_var: float = math.nan   # s^2 of the per-seed differences (nan with one seed)
    image_var: float = math.nan          # test-image variance term of the estimate
    n_boot: int = 0
    method: str = "t"
    low: float = math.nan
    high: float = math.nan
    note: str = ""
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def interval(self, level: float = CI_LEVEL) -> tuple[float, float]:
        if not (math.isfinite(self.estimate) and math.isfinite(self.se)):
            return math.nan, math.nan
        q = _quantile(1.0 - (1.0 - level) / 2.0, self.df)
        return self.estimate - q * self.se, self.estimate + q * self.se

    @property
    def significant(self) -> bool:
        return math.isfinite(self.p_value) and self.p_value < 1.0 - CI_LEVEL


def _quantile(prob: float, df: float) -> float:
    from scipy.stats import norm, t

    return float(norm.ppf(prob) if not math.isfinite(df) else t.ppf(prob, df))


def _p_two_sided(estimate: float, se: float, df: float) -> float:
    from scipy.stats import norm, t

    if not math.isfinite(estimate) or not math.isfinite(se):
        return math.nan
    if se == 0.0:
        return 1.0 if estimate == 0.0 else 0.0
    z = abs(estimate) / se
    return float(2.0 * (norm.sf(z) if not math.isfinite(df) else t.sf(z, df)))


def _finish(metric, estimate, se, df, **kw) -> PairedDifference:
    p = _p_two_sided(estimate, se, df)
    result = PairedDifference(metric, estimate, se, df, p, **kw)
    low, high = result.interval(CI_LEVEL)
    return PairedDifference(metric, estimate, se, df, p, **kw, low=low, high=high)


def _check(probs_a, probs_b, labels):
    a, b = np.asarray(probs_a), np.asarray(probs_b)
    if a.ndim == 2:
        a, b = a[None], b[None]
    labels = np.asarray(labels, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"probs_a {a.shape} and probs_b {b.shape} must both be (n_seeds, n_images, n_classes)")
    if labels.shape != (a.shape[1],):
        raise ValueError(f"labels {labels.shape} must be (n_images,) = ({a.shape[1]},)")
    return a, b, labels


def paired_differences(probs_a, probs_b, labels, metrics, *, n_boot: int = N_BOOT, seed: int = 0,
                       method: str = "t", groups=None) -> dict[str, PairedDifference]:
    """:func:`paired_difference` for several metrics at once, sharing one set of image resamples."""
    a, b, labels = _check(probs_a, probs_b, labels)
    resamples = TestResamples.draw(a.shape[1], n_boot, seed, groups)
    return paired_from_scores([ScoredRun(p, labels, resamples) for p in a],
                              [ScoredRun(p, labels, resamples) for p in b], metrics, resamples, method=method)


def paired_from_scores(runs_a, runs_b, metrics, resamples: TestResamples, *,
                       method: str = "t") -> dict[str, PairedDifference]:
    """The paired differences of two arms from their runs' :class:`ScoredRun` (seed s of A with seed
    s of B, all scored on ``resamples``), so a run scored once serves every comparison it is in."""
    n_seeds, n_images = len(runs_a), resamples.weights.shape[1]
    n_boot = resamples.weights.shape[0]
    metrics = list(dict.fromkeys(metrics))
    seed_draw = resamples.rng().integers(0, n_seeds, size=(n_boot, n_seeds))
    out = {}
    for m in metrics:
        d = (stack([r.full for r in runs_a], m) - stack([r.full for r in runs_b], m))[0]
        boot = stack([r.boot for r in runs_a], m) - stack([r.boot for r in runs_b], m)
        boot = boot[np.isfinite(boot).all(axis=1)]
        common = dict(n_seeds=n_seeds, n_images=n_images, per_seed=tuple(float(x) for x in d), n_boot=len(boot),
                      method=method)
        if not np.isfinite(d).all() or len(boot) < 2:
            out[m] = PairedDifference(m, math.nan, math.nan, math.nan, math.nan, kind=KIND_IMAGES if n_seeds == 1
                                      else KIND_BOTH, note="metric undefined on this test set", **common)
            continue
        estimate = float(d.mean())
        plain = _percentile(m, estimate, boot, seed_draw[:len(boot)], common)
        if method == "percentile":
            out[m] = plain
            continue
        common["extra"] = {"percentile_low": plain.low, "percentile_high": plain.high,
                           "percentile_p": plain.p_value}
        out[m] = _t_difference(m, d, boot, common)
    return out


def _variance_split(d: np.ndarray, boot: np.ndarray) -> tuple[float, float, float, float]:
    """(between-seed s², shared test-image variance, Var(estimate), df) of a mean of per-seed values
    ``d`` (S,) with image resamples ``boot`` (B, S), S >= 2 (module docstring)."""
    n_seeds = len(d)
    between = float(np.var(d, ddof=1))
    cov = np.cov(boot, rowvar=False)
    image_var = max(0.0, float((cov.sum() - np.trace(cov)) / (n_seeds * (n_seeds - 1))))
    seed_term = between / n_seeds
    var = seed_term + image_var
    df = math.inf if seed_term == 0.0 else small_sample_df(n_seeds, seed_term / var)
    return between, image_var, var, df


def _t_difference(metric, d, boot, common) -> PairedDifference:
    """The calibrated t interval of the mean of ``d`` (S,) given its finite image resamples ``boot``."""
    estimate = float(np.mean(d))
    if len(d) == 1:
        image_var = float(boot[:, 0].var(ddof=1))
        return _finish(metric, estimate, math.sqrt(image_var), math.inf, kind=KIND_IMAGES, image_var=image_var,
                       **common)
    between, image_var, var, df = _variance_split(d, boot)
    return _finish(metric, estimate, math.sqrt(var), df, kind=KIND_BOTH, between_seed_var=between,
                   image_var=image_var, **common)


def small_sample_df(n_seeds: int, seed_share: float) -> float:
    """Degrees of freedom of the seeds x images interval: ``(n_seeds - 1) / seed_share``.

    Between n - 1 (all of the variance estimated from n seeds) and Satterthwaite's
    ``(n - 1) / seed_share**2``, which is anti-conservative at 3 seeds because the share is itself
    estimated from those seeds (see the module docstring)."""
    if seed_share <= 0.0:
        return math.inf
    return (n_seeds - 1) / min(1.0, seed_share)


def _percentile(metric, estimate, boot, seed_draw, common) -> PairedDifference:
    """The plain hierarchical bootstrap (seeds, then images): kept to show, in the calibration
    bench, why the report does not use it (it over-rejects with few seeds)."""
    rows = np.arange(len(boot))[:, None]
    means = boot[rows, seed_draw].mean(axis=1)
    tail = (1.0 - CI_LEVEL) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    p = min(1.0, 2.0 * min(float(np.mean(means <= 0.0)), float(np.mean(means >= 0.0))))
    kind = KIND_IMAGES if common["n_seeds"] == 1 else KIND_BOTH
    return PairedDifference(metric, estimate, float(means.std(ddof=1)), math.inf, p, kind=kind, low=float(low),
                            high=float(high), **common)


def paired_difference(probs_a, probs_b, labels, metric: str, *, n_boot: int = N_BOOT, seed: int = 0,
                      method: str = "t") -> PairedDifference:
    """Difference metric(A) − metric(B) of two arms over the same test images and seeds.

    ``probs_a``, ``probs_b``: (n_seeds, n_images, n_classes) softmax probabilities, seed s of A
    paired with seed s of B; ``labels``: (n_images,) class indices; ``metric``: one of
    ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``macro_auc``, ``macro_ap`` or
    ``recall_<k>``, ``precision_<k>``, ``f1_<k>``, ``auc_<k>``, ``ap_<k>`` for class index k.

    The estimate is the mean over seeds of the per-seed difference on the full test set. The test
    images are resampled ``n_boot`` times (the same indices for both arms and all seeds, since all
    runs share one test set) and the metric recomputed on each resample; the seeds enter through
    their spread (see the module docstring). Returns ``estimate``, ``low``/``high`` (95 %),
    ``p_value`` (two-sided), ``n_seeds``, ``n_images``, ``kind``. ``seed`` fixes the resamples, so a
    report rebuilt from the same runs prints the same numbers. ``method="percentile"`` gives the
    plain hierarchical percentile bootstrap instead (not calibrated with few seeds; for
    comparison only)."""
    return paired_differences(probs_a, probs_b, labels, [metric], n_boot=n_boot, seed=seed, method=method)[metric]


def seed_difference(values_a, values_b, metric: str = "") -> PairedDifference:
    """The fallback without per-image predictions: paired t interval over the logged per-seed values.

    It covers the seed-to-seed spread (and, inside it, each seed's own test-image noise) but not
    the test-image noise shared by all seeds; with one seed there is nothing to estimate."""
    d = np.asarray(values_a, dtype=np.float64) - np.asarray(values_b, dtype=np.float64)
    d = d[np.isfinite(d)]
    n = len(d)
    common = dict(n_seeds=n, n_images=0, kind=KIND_SEEDS, per_seed=tuple(float(x) for x in d))
    if n < 2:
        return PairedDifference(metric, float(d.mean()) if n else math.nan, math.nan, math.nan, math.nan,
                                note="one seed and no per-image predictions: no interval", **common)
    between = float(d.var(ddof=1))
    return _finish(metric, float(d.mean()), math.sqrt(between / n), float(n - 1), between_seed_var=between, **common)


# --- multiplicity -----------------------------------------------------------------------------------------
def holm(p_values) -> list[float]:
    """Holm step-down adjusted p-values (nan entries are not part of the family and stay nan).

    Holm controls the family-wise error without assuming the tests are independent (they are
    not: comparisons against ``none`` share the ``none`` runs)."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(len(p), math.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = len(idx)
    if m == 0:
        return out.tolist()
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def holm_levels(p_values, alpha: float = 1.0 - CI_LEVEL) -> list[float]:
    """The level Holm tests each hypothesis at: alpha / (m − j) at step j of the step-down, and for
    hypotheses after the first non-rejection the level of that step. An interval at 1 − level
    excludes 0 exactly when Holm rejects, so it is the "corrected interval" of the tables."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(len(p), math.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = len(idx)
    order = idx[np.argsort(p[idx], kind="stable")]
    stopped = None
    for rank, i in enumerate(order):
        level = alpha / (m - rank) if stopped is None else stopped
        if stopped is None and p[i] > level:
            stopped = level
        out[i] = level
    return out.tolist()


# --- seed-level bootstrap of a mean (figure bands) ----------------------------------------------------------
def bootstrap_ci(values, *, level: float = CI_LEVEL, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean over seeds; (nan, nan) for fewer than 2 values.

    Used only for the bands of the metric-vs-budget figure (an illustration); comparisons use
    :func:`paired_difference`. The seed is fixed so a rebuilt report draws the same band."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def summary(values) -> tuple[float, float, int]:
    """Mean, sample std (ddof=1; nan for one value) and n of the finite values."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan, 0
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else math.nan, len(x)


def values_by_seed(frame: pd.DataFrame, metric: str) -> pd.Series:
    column = f"metrics.{metric}"
    if column not in frame:
        return pd.Series(dtype=float)
    return pd.Series(frame[column].to_numpy(dtype=float), index=frame["seed"].to_numpy())


# --- gap closed towards the control ---------------------------------------------------------------------
GAP_INCONCLUSIVE = "inconclusive: real is not resolved above none"


@dataclass(frozen=True)
class GapClosed:
    """(arm − none) / (control − none) on one metric: the share of the way from ``none`` to the
    control (``real``, the perfect generator) that the arm goes, with its 95 % interval.

    0 = no better than ``none``, 1 = as good as real images, < 0 worse than ``none``. ``resolved``
    is False when the control's own difference to ``none`` (``denominator``, with its interval)
    is not resolved in the better direction: then the ratio is undefined at this compute,
    ``estimate``/``low``/``high`` are nan and ``note`` says so instead of printing a huge ratio.
    ``kind`` says which noise the interval covers, as for :class:`PairedDifference`."""

    metric: str
    estimate: float
    se: float
    df: float
    low: float
    high: float
    n_seeds: int
    n_images: int
    kind: str
    numerator: float                 # mean over seeds of arm − none
    denominator: PairedDifference    # control − none, with its own interval
    resolved: bool
    note: str = ""

    def interval(self, level: float = CI_LEVEL) -> tuple[float, float]:
        if not (self.resolved and math.isfinite(self.estimate) and math.isfinite(self.se)):
            return math.nan, math.nan
        q = _quantile(1.0 - (1.0 - level) / 2.0, self.df)
        return self.estimate - q * self.se, self.estimate + q * self.se


def _denominator_resolved(d: PairedDifference, lower: bool) -> bool:
    if not (math.isfinite(d.low) and math.isfinite(d.high)):
        return False
    return d.high < 0.0 if lower else d.low > 0.0


def _gap(metric, num, den, boot_num, boot_den, denominator, lower, n_images, kind) -> GapClosed:
    """The ratio of mean differences and its delta-method interval (see :func:`gap_closed`).

    ``num``/``den``: (S,) per-seed differences on the full test set; ``boot_num``/``boot_den``:
    (B, S) the same on image resamples (None: seeds only)."""
    n_seeds = len(num)
    common = dict(n_seeds=n_seeds, n_images=n_images, kind=kind, numerator=float(np.mean(num)),
                  denominator=denominator)
    if not _denominator_resolved(denominator, lower):
        why = (GAP_INCONCLUSIVE if math.isfinite(denominator.low) else
               "undefined: the control's difference to none has no interval")
        return GapClosed(metric, math.nan, math.nan, math.nan, math.nan, math.nan, resolved=False, note=why,
                         **common)
    mean_den = float(np.mean(den))
    ratio = float(np.mean(num)) / mean_den
    # linearised ratio: u = num − ratio·den has mean 0 and Var(ratio) ≈ Var(mean u) / mean_den²
    u = np.asarray(num, dtype=np.float64) - ratio * np.asarray(den, dtype=np.float64)
    if boot_num is None:
        var_u, df = (float(u.var(ddof=1)) / n_seeds, float(n_seeds - 1)) if n_seeds > 1 else (math.nan, math.nan)
    else:
        boot_u = boot_num - ratio * boot_den
        boot_u = boot_u[np.isfinite(boot_u).all(axis=1)]
        if len(boot_u) < 2:
            var_u, df = math.nan, math.nan
        elif n_seeds == 1:
            var_u, df = float(boot_u[:, 0].var(ddof=1)), math.inf
        else:
            _, _, var_u, df = _variance_split(u, boot_u)
    se = math.sqrt(var_u) / abs(mean_den) if math.isfinite(var_u) else math.nan
    result = GapClosed(metric, ratio, se, df, math.nan, math.nan, resolved=True, **common)
    low, high = result.interval(CI_LEVEL)
    note = "" if math.isfinite(se) else "one seed and no per-image predictions: no interval"
    return GapClosed(metric, ratio, se, df, low, high, resolved=True, note=note, **common)


def gap_closed(probs_arm, probs_none, probs_real, labels, metric: str, *, lower: bool = False,
               n_boot: int = N_BOOT, seed: int = 0, groups=None) -> GapClosed:
    """Gap closed (arm − none) / (real − none) of one metric, paired by seed and test image.

    ``probs_*``: (n_seeds, n_images, n_classes) probabilities of the arm, ``none`` and the control
    ``real``, seed s of each paired; ``labels`` (n_images,); ``metric`` as for
    :func:`paired_difference`; ``lower``: lower is better for this metric (then "resolved" means
    real − none is resolved below 0).

    Estimate: the ratio of the mean per-seed differences on the full test set,
    mean(arm − none) / mean(real − none) (a ratio of means, not a mean of per-seed ratios, which a
    seed with a small real − none would blow up). The test images are resampled ``n_boot`` times
    with the *same* weights (:func:`resample_weights`) for all three arms and all seeds.

    Interval: the delta method. With R the ratio, num and den the two differences, the ratio's
    error is to first order that of u = num − R·den divided by mean(den), so
    Var(R) ≈ Var(mean u) / mean(den)² (this is the delta method with the covariance of numerator
    and denominator, both sharing the none runs and the test images). Var(mean u) is split into the
    between-seed and shared test-image components exactly as :func:`paired_differences` does
    (s²(u)/n_seeds + the mean between-seed covariance of the image-resampled u), with the same
    ``(n_seeds − 1) / r`` degrees of freedom and a t interval. The delta method is only sound when
    the denominator is well away from 0, so when the control's own interval (real − none) does
    not exclude 0 in the better direction the gap closed is reported as inconclusive (``resolved``
    False, nan estimate) instead: Fieller's interval would then be unbounded, and a point ratio of
    two noise-level differences means nothing."""
    k = np.asarray(probs_real)
    a, n, labels = _check(probs_arm, probs_none, labels)
    k = k[None] if k.ndim == 2 else k
    if k.shape != a.shape:
        raise ValueError(f"probs_real {k.shape} must match probs_arm {a.shape}")
    resamples = TestResamples.draw(a.shape[1], n_boot, seed, groups)
    return gap_from_scores(*([ScoredRun(p, labels, resamples) for p in x] for x in (a, n, k)), metric,
                           lower=lower)


def gap_from_scores(runs_arm, runs_none, runs_real, metric: str, *, lower: bool = False) -> GapClosed:
    """:func:`gap_closed` from the three arms' :class:`ScoredRun` (seed s of each paired, all scored
    on the same resamples)."""
    full = [stack([r.full for r in runs], metric)[0] for runs in (runs_arm, runs_none, runs_real)]
    boot = [stack([r.boot for r in runs], metric) for runs in (runs_arm, runs_none, runs_real)]
    n_seeds, n_images = len(runs_arm), runs_arm[0].boot.probs.shape[0]
    num, den = full[0] - full[1], full[2] - full[1]
    kind = KIND_IMAGES if n_seeds == 1 else KIND_BOTH
    if not (np.isfinite(num).all() and np.isfinite(den).all()):
        d = PairedDifference(metric, math.nan, math.nan, math.nan, math.nan, n_seeds, n_images, kind)
        return GapClosed(metric, math.nan, math.nan, math.nan, math.nan, math.nan, n_seeds, n_images, kind,
                         math.nan, d, False, "metric undefined on this test set")
    # the denominator's own interval, from the same resamples (paired_differences would redraw them)
    denominator = _difference_from(metric, den, boot[2] - boot[1], n_images)
    return _gap(metric, num, den, boot[0] - boot[1], boot[2] - boot[1], denominator, lower, n_images, kind)


def _difference_from(metric, d, boot, n_images) -> PairedDifference:
    """paired_differences' t interval for per-seed differences ``d`` and their image resamples."""
    boot = boot[np.isfinite(boot).all(axis=1)]
    common = dict(n_seeds=len(d), n_images=n_images, per_seed=tuple(float(x) for x in d), n_boot=len(boot))
    if len(boot) < 2:
        return PairedDifference(metric, float(np.mean(d)), math.nan, math.nan, math.nan, kind=KIND_BOTH, **common)
    return _t_difference(metric, d, boot, common)


def gap_closed_from_values(values_arm, values_none, values_real, metric: str = "", *,
                           lower: bool = False) -> GapClosed:
    """The fallback without per-image predictions: gap closed from the logged per-seed values.

    Same ratio and delta method as :func:`gap_closed`, with Var(mean u) = s²(u)/n_seeds and
    n_seeds − 1 degrees of freedom (shared test-image noise not covered, like
    :func:`seed_difference`); the control's resolution is judged by :func:`seed_difference`."""
    a = np.asarray(values_arm, dtype=np.float64)
    n = np.asarray(values_none, dtype=np.float64)
    k = np.asarray(values_real, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(n) & np.isfinite(k)
    a, n, k = a[keep], n[keep], k[keep]
    denominator = seed_difference(k, n, metric)
    return _gap(metric, a - n, k - n, None, None, denominator, lower, 0, KIND_SEEDS)


def minimum_detectable_effect(se: float, df: float, level: float, power: float = 0.8) -> float:
    """The smallest true difference a two-sided test at ``level`` detects with probability ``power``,
    given the comparison's standard error and degrees of freedom: (t_{1-level/2} + t_{power}) * se.
    With the seeds x images variance observed in the run, this says how large a gain the run could
    have seen, so "no mark" can be read as "no gain of at least this size", never as "no gain"."""
    if not (math.isfinite(se) and se >= 0 and 0 < level < 1):
        return math.nan
    return (_quantile(1.0 - level / 2.0, df) + _quantile(power, df)) * se

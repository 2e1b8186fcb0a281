"""Paired comparisons of an arm against ``none``: per-seed differences, bootstrap CI, Wilcoxon, Holm.

Seeds are the unit of replication: the same seed draws the same budget images for every arm, so
the arm-minus-``none`` difference per seed removes the luck of the draw that both runs share. With
a handful of seeds any interval is wide and any test is weak, so each function says when it
cannot give an answer instead of producing a number that looks like one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: With k non-zero paired differences the most extreme sign pattern has exact two-sided p = 2 / 2**k:
#: k = 5 gives 0.0625, k = 6 gives 0.03125. Below 6 pairs the test cannot reach p < 0.05 whatever the
#: data, so running it would only print a p-value that can never be read as evidence.
MIN_WILCOXON_PAIRS = 6
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
CI_LEVEL = 0.95


def min_two_sided_p(k: int) -> float:
    """Smallest exact two-sided Wilcoxon signed-rank p-value with k non-zero differences."""
    return min(1.0, 2.0 / 2.0 ** k) if k > 0 else 1.0


def bootstrap_ci(values, *, level: float = CI_LEVEL, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; (nan, nan) for fewer than 2 values.

    One value has no spread to resample, and pretending otherwise gives a zero-width interval.
    The seed is fixed so a report rebuilt from the same runs shows the same interval.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


@dataclass
class PairedTest:
    """Outcome of the signed-rank test on one arm's paired differences."""

    n_pairs: int            # finite pairs
    n_nonzero: int          # pairs the test actually ranks (zeros are dropped, Wilcoxon's convention)
    statistic: float = math.nan
    p: float = math.nan     # raw two-sided p; nan when not run
    reason: str = ""        # why the test was not run

    @property
    def ran(self) -> bool:
        return not math.isnan(self.p)


def wilcoxon_test(differences, *, min_pairs: int = MIN_WILCOXON_PAIRS) -> PairedTest:
    """Two-sided Wilcoxon signed-rank test of "median difference = 0", only when it can reject."""
    from scipy.stats import wilcoxon

    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    nonzero = int(np.count_nonzero(d))
    if nonzero < min_pairs:
        return PairedTest(len(d), nonzero, reason=(
            f"n too small: {nonzero} non-zero pairs; the smallest two-sided p attainable is "
            f"{min_two_sided_p(nonzero):.3g}, so the test needs at least {min_pairs}"))
    result = wilcoxon(d, zero_method="wilcox", alternative="two-sided")
    return PairedTest(len(d), nonzero, float(result.statistic), float(result.pvalue))


def holm(p_values) -> list[float]:
    """Holm step-down adjusted p-values (nan entries are not part of the family and stay nan).

    Holm controls the family-wise error over the arms compared with ``none`` without assuming the
    tests are independent (they are not: they share the ``none`` runs).
    """
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

"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2, cubic polynomial kernel.

Unlike FID its estimator is unbiased, which is why it is logged next to FID for classes with a
handful of images. The subset size is capped at the smaller sample so a 3-image class still gets a
value (its spread over subsets is then zero or small and says little; the counts are logged).
"""
from __future__ import annotations

import numpy as np

_PRECOMPUTE_LIMIT = 4000  # above this, full kernel matrices would cost more memory than they save


def _kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _mmd2_unbiased(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    m = len(kxx)
    off_xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    off_yy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(off_xx + off_yy - 2 * kxy.mean())


def kid_from_features(f_real, f_fake, *, subset_size: int = 1000, n_subsets: int = 100,
                      seed: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of MMD^2 over ``n_subsets`` random subsets (without replacement)."""
    x, y = np.asarray(f_real, np.float64), np.asarray(f_fake, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"KID needs (N, D) features of equal D, got {x.shape} and {y.shape}")
    m = min(int(subset_size), len(x), len(y))
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(x)} real and {len(y)} fake")
    rng = np.random.default_rng(seed)
    if len(x) == m and len(y) == m:
        n_subsets = 1  # every "subset" would be the full sets: one exact value, zero spread
    full = max(len(x), len(y)) <= _PRECOMPUTE_LIMIT
    if full:
        kxx_all, kyy_all, kxy_all = _kernel(x, x), _kernel(y, y), _kernel(x, y)
    values = np.empty(n_subsets)
    for s in range(n_subsets):
        ix = rng.choice(len(x), m, replace=False)
        iy = rng.choice(len(y), m, replace=False)
        if full:
            values[s] = _mmd2_unbiased(kxx_all[np.ix_(ix, ix)], kyy_all[np.ix_(iy, iy)], kxy_all[np.ix_(ix, iy)])
        else:
            xs, ys = x[ix], y[iy]
            values[s] = _mmd2_unbiased(_kernel(xs, xs), _kernel(ys, ys), _kernel(xs, ys))
    return float(values.mean()), float(values.std())

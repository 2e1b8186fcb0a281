"""Precision, recall, density and coverage (Naeem et al. 2020) from k-nearest-neighbour balls.

FID folds quality and variety into one number; these four separate them: precision/density say
whether synthetic images land where real ones are, recall/coverage whether the real variety is
reproduced. With 3-10 real images per class, k is capped at n - 1 so every ball is defined.
"""
from __future__ import annotations

import numpy as np

from augbench.benchmark.fidelity._distances import kth_neighbour_radii, pairwise_distances


def capped_k(k: int, n: int) -> int:
    """The neighbour count actually used for a set of ``n`` points (at most n - 1)."""
    return max(1, min(int(k), n - 1))


def prdc(f_real, f_fake, *, k: int = 5) -> dict[str, float]:
    real, fake = np.asarray(f_real, np.float64), np.asarray(f_fake, np.float64)
    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"PRDC needs at least 2 real and 2 fake samples, got {len(real)} and {len(fake)}")
    k_real, k_fake = capped_k(k, len(real)), capped_k(k, len(fake))
    radii_real = kth_neighbour_radii(pairwise_distances(real, real), k_real)
    radii_fake = kth_neighbour_radii(pairwise_distances(fake, fake), k_fake)
    d = pairwise_distances(real, fake)  # (n_real, n_fake)
    in_real_ball = d <= radii_real[:, None]
    return {
        "precision": float(in_real_ball.any(axis=0).mean()),
        "recall": float((d <= radii_fake[None, :]).any(axis=1).mean()),
        "density": float(in_real_ball.sum() / (k_real * len(fake))),
        "coverage": float((d.min(axis=1) <= radii_real).mean()),
    }

"""Fréchet distance between Gaussians fitted to two feature sets (FID when features are Inception's).

Per-class FIDs are computed for several classes per generator fit, so the matrix square root is
never formed: tr sqrt(S1 S2) only needs the eigenvalues of S1^1/2 S2 S1^1/2 (symmetric, so
``eigvalsh`` is exact and never returns the complex parts scipy's ``sqrtm`` produces for singular
covariances). When a class has fewer samples than feature dimensions (the normal case here) the
same trace is the nuclear norm of the small (n1, n2) matrix A B^T of centred features, which turns
a 2048-d eigenproblem into an SVD the size of the sample counts.
"""
from __future__ import annotations

import numpy as np


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((sigma + sigma.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"mismatched shapes: mu {mu1.shape}/{mu2.shape}, sigma {sigma1.shape}/{sigma2.shape}")
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    # a squared distance: rounding can only push it below zero, never a real difference
    return max(0.0, float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt))


def _check(features: np.ndarray, what: str) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"FID needs at least 2 {what} feature vectors (N, D), got shape {features.shape}")
    return features


def fid_from_features(f_real, f_fake) -> float:
    """Unbiased (ddof=1) covariances, as pytorch-fid; small samples inflate the value (see docs)."""
    a, b = _check(f_real, "real"), _check(f_fake, "fake")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    n1, n2, d = len(a), len(b), a.shape[1]
    if min(n1, n2) > d:
        return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    ca, cb = a - a.mean(0), b - b.mean(0)
    scale_a, scale_b = 1.0 / (n1 - 1), 1.0 / (n2 - 1)
    # eig(Sa Sb) = eig(ca^T ca cb^T cb)*s = sigma(ca cb^T)^2 * s, so tr sqrt = nuclear norm * sqrt(s)
    trace_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() * np.sqrt(scale_a * scale_b)
    diff = a.mean(0) - b.mean(0)
    return max(0.0, float(diff @ diff + scale_a * np.sum(ca * ca) + scale_b * np.sum(cb * cb) - 2 * trace_sqrt))

"""Exact Euclidean distances between feature sets, shared by PRDC and the memorisation score.

The matmul shortcut (|a|^2 + |b|^2 - 2ab) leaves ~1e-6 residue between identical vectors, which
would stop an exact copy from sitting inside a zero-radius ball; direct differences do not.
"""
from __future__ import annotations

import numpy as np
import torch


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ta = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))
    tb = torch.from_numpy(np.ascontiguousarray(b, dtype=np.float64))
    return torch.cdist(ta, tb, compute_mode="donot_use_mm_for_euclid_dist").numpy()


def kth_neighbour_radii(d_self: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest other point (column 0 after sorting is itself)."""
    return np.partition(d_self, k, axis=1)[:, k]

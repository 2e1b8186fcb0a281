"""Memorisation: do synthetic images sit closer to the few budget images than new real images do?

A generator fitted on B images can score well on FID against those B images simply by copying
them. The score compares, in feature space, the median distance from each synthetic image to its
nearest budget image with the same median for held-out real images of the class (never seen by
the generator). Real images are the yardstick for "how close an honest new sample lands":
  ~1  synthetic images are as near the budget as fresh real images are;
  <1  closer than any real sample tends to be -> near-copies (0 for exact copies);
  >1  farther -> novel or off-distribution (read it with precision/FID).
Without held-out images the yardstick falls back to leave-one-out distances within the budget.
"""
from __future__ import annotations

import numpy as np

from augbench.benchmark.fidelity._distances import pairwise_distances


def _median_nn(queries: np.ndarray, references: np.ndarray) -> float:
    return float(np.median(pairwise_distances(queries, references).min(axis=1)))


def memorisation_score(f_synth, f_budget, f_heldout=None) -> float:
    synth, budget = np.asarray(f_synth, np.float64), np.asarray(f_budget, np.float64)
    if len(synth) == 0 or len(budget) == 0:
        raise ValueError("memorisation needs synthetic and budget features")
    if f_heldout is not None:
        heldout = np.asarray(f_heldout, np.float64)
        if len(heldout) == 0:
            raise ValueError("memorisation got an empty held-out set")
        yardstick = _median_nn(heldout, budget)
    else:
        if len(budget) < 2:
            raise ValueError("memorisation without held-out images needs at least 2 budget images")
        d = pairwise_distances(budget, budget)
        np.fill_diagonal(d, np.inf)
        yardstick = float(np.median(d.min(axis=1)))
    synth_distance = _median_nn(synth, budget)
    if yardstick == 0:
        return 0.0 if synth_distance == 0 else float("inf")
    return synth_distance / yardstick


def memorisation_share(f_synth, f_heldout, f_budget) -> float:
    """The share of synthetic images closer to their nearest budget image than the *closest* held-out
    real image of the class comes to any budget image: samples nearer than any fresh real image gets
    are near-copies by the yardstick of the class itself. 0 for a generator that never lands that
    close; 1 when every sample does (exact copies). Read beside :func:`memorisation_score`, which
    compares medians and so misses a generator that copies some budget images and not others."""
    synth, held, budget = (np.asarray(a, np.float64) for a in (f_synth, f_heldout, f_budget))
    if len(synth) == 0 or len(held) == 0 or len(budget) == 0:
        raise ValueError("the memorisation share needs synthetic, held-out and budget features")
    nearest_real = float(pairwise_distances(held, budget).min())
    return float((pairwise_distances(synth, budget).min(axis=1) < nearest_real).mean())


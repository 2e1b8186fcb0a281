"""Macro one-vs-rest ROC AUC, as MedMNIST's reference evaluator scores it: the one definition both the
epoch selection (classifiers/training.py) and the reported ``*_macro_auc`` (benchmark/metrics.py) use,
so the model is selected on exactly the number the report shows.

Binary tasks use the AUC of class 1's probability. Classes with no positive or no negative example
in the split have no defined AUC and are left out of the macro mean (a tiny validation split can
miss a rare class), rather than failing or counting as 0.5.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def scorable_classes(labels: np.ndarray, n_classes: int) -> list[int]:
    """Classes whose one-vs-rest AUC is defined on ``labels``."""
    present = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    return [k for k in range(n_classes) if 0 < present[k] < len(labels)]


def one_vs_rest_auc(labels: np.ndarray, probs: np.ndarray, c: int) -> float:
    """AUC of class ``c`` against the rest; NaN when the split lacks the class or has only it."""
    positives = np.asarray(labels) == c
    if positives.all() or not positives.any():
        return float("nan")
    return float(roc_auc_score(positives.astype(int), probs[:, c]))


def macro_ovr_auc(labels: np.ndarray, probs: np.ndarray) -> float:
    """Macro OvR AUC of ``probs`` (N, K); NaN when no class is scorable or predictions are not finite."""
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = probs.shape[1]
    classes = scorable_classes(labels, n_classes)
    if not classes or not np.isfinite(probs).all():
        return float("nan")
    if n_classes == 2:
        return one_vs_rest_auc(labels, probs, 1)
    return float(np.mean([one_vs_rest_auc(labels, probs, k) for k in classes]))

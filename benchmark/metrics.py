"""Classification metrics on one evaluated split, named so a reader of MLflow knows what each is.

Every key carries the split it was computed on (``test_recall_df``): the harness evaluates val for
model selection and test for the verdict, and the two must never be confused in a table.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, balanced_accuracy_score, confusion_matrix,
                             precision_recall_fscore_support)

from augbench.classifiers import macro_ovr_auc, one_vs_rest_auc
# the run layout's names (core/layout.py); metric_key and PRIOR_CORRECTED_SPLIT are re-exported from here
from augbench.core.layout import PRIOR_CORRECTED_SPLIT, SPLIT_TEST, metric_key  # noqa: F401


def one_vs_rest_ap(y_true: np.ndarray, probs: np.ndarray, c: int) -> float:
    """Average precision (area under the precision-recall curve) of class c against the rest.

    Unlike AUC it moves with the class's rarity: a rare class ranked just above the bulk of the
    negatives has a high AUC but a low AP, which is the failure a budget-starved class shows.
    """
    positives = y_true == c
    if positives.all() or not positives.any():
        return float("nan")
    return float(average_precision_score(positives.astype(int), probs[:, c]))


def classification_metrics(y_true, probs, class_names, *, minority=(), split: str = SPLIT_TEST) -> dict[str, float]:
    """Per-class precision/recall/F1/AUC/support plus accuracy, balanced accuracy, macro AUC/F1 and
    mean minority recall, and per-class / macro average precision (AUPRC, threshold-free like AUC).
    ``probs`` are (N, K) class probabilities; predictions are their argmax."""
    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    k = len(class_names)
    y_pred = probs.argmax(axis=1)
    labels = list(range(k))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    aucs = [one_vs_rest_auc(y_true, probs, c) for c in labels]
    aps = [one_vs_rest_ap(y_true, probs, c) for c in labels]
    out: dict[str, float] = {}
    for c, name in enumerate(class_names):
        key = metric_key(name)
        out[f"{split}_precision_{key}"] = float(precision[c])
        out[f"{split}_recall_{key}"] = float(recall[c])
        out[f"{split}_f1_{key}"] = float(f1[c])
        out[f"{split}_auc_{key}"] = aucs[c]
        out[f"{split}_ap_{key}"] = aps[c]
        out[f"{split}_support_{key}"] = float(support[c])
    present = [c for c in labels if support[c] > 0]
    out[f"{split}_accuracy"] = float(accuracy_score(y_true, y_pred))
    out[f"{split}_balanced_accuracy"] = float(balanced_accuracy_score(y_true, y_pred)) if present else float("nan")
    out[f"{split}_macro_f1"] = float(np.mean([f1[c] for c in present])) if present else float("nan")
    out[f"{split}_macro_auc"] = macro_ovr_auc(y_true, probs)
    finite_ap = [a for a in aps if np.isfinite(a)]
    out[f"{split}_macro_ap"] = float(np.mean(finite_ap)) if finite_ap else float("nan")
    minority = [c for c in minority if support[c] > 0]
    out[f"{split}_minority_recall"] = float(np.mean([recall[c] for c in minority])) if minority else float("nan")
    out[f"{split}_n"] = float(len(y_true))
    return out


def confusion(y_true, probs, n_classes: int) -> np.ndarray:
    return confusion_matrix(np.asarray(y_true), np.asarray(probs).argmax(axis=1), labels=list(range(n_classes)))


def prior_corrected(probs, train_counts, *, has_offsets: bool = False) -> np.ndarray:
    """p(y|x) / pi_train(y), renormalised: the decision of a classifier that is not judged by its class
    prior. pi_train is the arm's own training counts (real + synthetic), so an arm that refills the rare
    classes has a flatter prior to divide out than ``none``. Arms that already correct the prior in their
    logits (balanced softmax, logit adjustment: ``has_offsets``) are returned as they are, since their
    outputs estimate the balanced posterior and dividing again would correct twice."""
    probs = np.asarray(probs, dtype=np.float64)
    if has_offsets:
        return probs.copy()
    counts = np.asarray(train_counts, dtype=np.float64).reshape(-1)
    prior = np.where(counts > 0, counts, 0.5) / max(counts.sum(), 1.0)
    scaled = probs / prior[None, :]
    return scaled / scaled.sum(axis=1, keepdims=True)


def predicted_share(probs) -> float:
    """The largest share of test images the decision puts in one class (1/K when spread evenly)."""
    pred = np.asarray(probs).argmax(axis=1)
    return float(np.bincount(pred).max() / len(pred)) if len(pred) else float("nan")

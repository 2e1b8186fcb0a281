"""Classification metrics checked against values computed by hand (see the comments)."""
import math

import numpy as np
import pytest

from augbench.benchmark.metrics import classification_metrics, confusion, metric_key

Y = np.array([0, 0, 1, 1, 2, 2])
P = np.array([[0.7, 0.2, 0.1],   # y0 -> 0
              [0.3, 0.6, 0.1],   # y0 -> 1
              [0.1, 0.8, 0.1],   # y1 -> 1
              [0.2, 0.5, 0.3],   # y1 -> 1
              [0.1, 0.1, 0.8],   # y2 -> 2
              [0.5, 0.1, 0.4]])  # y2 -> 0
NAMES = ["a", "b", "Pleural effusion"]


def test_per_class_precision_recall_f1_by_hand():
    m = classification_metrics(Y, P, NAMES, minority=[1, 2])
    # class a: TP 1, FP 1 (idx5), FN 1 (idx1)
    assert m["test_precision_a"] == pytest.approx(0.5) and m["test_recall_a"] == pytest.approx(0.5)
    # class b: predicted at 1,2,3; TP 2, FP 1, FN 0
    assert m["test_precision_b"] == pytest.approx(2 / 3) and m["test_recall_b"] == pytest.approx(1.0)
    assert m["test_f1_b"] == pytest.approx(0.8)
    # class c: predicted at 4 only; TP 1, FN 1
    assert m["test_precision_pleural_effusion"] == pytest.approx(1.0)
    assert m["test_recall_pleural_effusion"] == pytest.approx(0.5)
    assert m["test_support_a"] == 2


def test_aggregates_by_hand():
    m = classification_metrics(Y, P, NAMES, minority=[1, 2])
    assert m["test_accuracy"] == pytest.approx(4 / 6)
    assert m["test_balanced_accuracy"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["test_macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert m["test_minority_recall"] == pytest.approx((1 + 0.5) / 2)
    assert m["test_n"] == 6


def test_one_vs_rest_auc_by_pair_counting():
    m = classification_metrics(Y, P, NAMES)
    # class a: positives 0.7, 0.3 vs negatives 0.1 0.2 0.1 0.5 -> 4 + 3 of 8 pairs ranked right
    assert m["test_auc_a"] == pytest.approx(7 / 8)
    assert m["test_auc_b"] == pytest.approx(7 / 8)
    assert m["test_auc_pleural_effusion"] == pytest.approx(1.0)
    assert m["test_macro_auc"] == pytest.approx((7 / 8 + 7 / 8 + 1) / 3)


def test_binary_macro_auc_is_positive_class_auc_and_split_prefix():
    y = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.6, 0.4, 0.9])  # pairs: (0.4>0.1) (0.4<0.6) (0.9>both) -> 3/4
    m = classification_metrics(y, np.stack([1 - p1, p1], 1), ["normal", "pneumonia"], split="val")
    assert m["val_macro_auc"] == pytest.approx(0.75)
    assert not any(k.startswith("test_") for k in m)


def test_absent_class_gives_nan_auc_not_crash():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    m = classification_metrics(y, p, ["x", "y", "z"])
    assert math.isnan(m["test_auc_z"])
    # x: positives 0.6, 0.2 vs negatives 0.1, 0.3 -> (0.6 beats both) + (0.2 beats 0.1) = 3 of 4 pairs
    assert m["test_auc_x"] == pytest.approx(0.75)


def test_confusion_matrix_counts():
    cm = confusion(Y, P, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_metric_key_sanitises():
    assert metric_key("Pleural effusion/2") == "pleural_effusion_2"


def test_average_precision_by_hand():
    # class-1 scores ranked: 0.9 (pos) -> precision 1 at recall 1/2; 0.8 (neg); 0.7 (pos) -> 2/3 at recall 1
    y = np.array([1, 0, 1, 0])
    p1 = np.array([0.9, 0.8, 0.7, 0.1])
    probs = np.stack([1 - p1, p1], axis=1)
    m = classification_metrics(y, probs, ["a", "b"], split="test")
    assert m["test_ap_b"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # class 0 scores 1 - p1 ranked: 0.9 (pos, index 3) -> 1 at 1/2; 0.3 (neg); 0.2 (pos) -> 2/3 at 1
    assert m["test_ap_a"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert m["test_macro_ap"] == pytest.approx(5 / 6)
    # AP, unlike AUC, falls with rarity: one positive ranked second among 4 gives AUC 2/3 but AP 1/2
    y2 = np.array([0, 1, 0, 0])
    p2 = np.array([0.9, 0.8, 0.3, 0.1])
    m2 = classification_metrics(y2, np.stack([1 - p2, p2], axis=1), ["a", "b"], split="test")
    assert m2["test_ap_b"] == pytest.approx(0.5) and m2["test_auc_b"] == pytest.approx(2 / 3)

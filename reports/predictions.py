"""Per-image test predictions of cell runs, and turning a logged metric name into one they can recompute.

Cells log ``predictions_test.npz`` (core.layout.ARTIFACT_PREDICTIONS, fields ``layout.PRED_*``): ``probs``
(N, K) softmax probabilities on the test split, ``labels`` (N,), ``classes`` (K,) and, where the split
has them, ``ids`` (N,) and ``groups`` (N,). Per-class metrics are matched to a class by its name only.
With them any metric can be recomputed on resampled test sets (reports/stats.py). Older runs lack
the file; :class:`PredictionSource` then answers None and the caller falls back to the logged
per-seed values, saying so. Before predictions are used for a metric, the metric recomputed from
them must equal the logged value, so a wrong file or a wrong class mapping is never used silently.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

import numpy as np

from augbench.core.layout import (ARTIFACT_PREDICTIONS, PRED_CLASSES, PRED_GROUPS, PRED_IDS, PRED_LABELS, PRED_PROBS,
                                  PRED_PROBS_PC, PRIOR_CORRECTED_SPLIT, metric_key)
from augbench.reports.stats import GLOBAL_METRICS, metric_values

#: logged per-class metric names: test_<base>_<class key>
_LOGGED_CLASS = re.compile(r"^test_(recall|precision|f1|auc)_(.+)$")
#: a recomputed metric must match the logged one this closely (float32 probabilities vs float64)
MATCH_TOLERANCE = 1e-4


#: the logged prefix of metrics under the prior-corrected decision
CORRECTED_PREFIX = PRIOR_CORRECTED_SPLIT + "_"


def decision_of(metric: str) -> tuple[str, bool]:
    """(the metric's plain name, whether it is taken under the prior-corrected decision):
    ``test_pc_balanced_accuracy`` -> (``test_balanced_accuracy``, True)."""
    if metric.startswith(CORRECTED_PREFIX):
        return "test_" + metric.removeprefix(CORRECTED_PREFIX), True
    return metric, False


@dataclass
class Predictions:
    probs: np.ndarray     # (N, K) float32
    labels: np.ndarray    # (N,) int64
    ids: np.ndarray | None = None
    classes: list[str] | None = None
    groups: np.ndarray | None = None  # subject ids (lesion, patient) of the test images, where logged
    probs_pc: np.ndarray | None = None  # the prior-corrected probabilities, where logged

    def corrected(self) -> "Predictions | None":
        """The same test images under the prior-corrected decision (None when not logged)."""
        if self.probs_pc is None:
            return None
        return Predictions(self.probs_pc, self.labels, self.ids, self.classes, self.groups)


class PredictionSource:
    """Reads (and caches) the predictions artifact of cell runs from one tracking store."""

    def __init__(self, tracking_uri: str):
        from augbench.reports.artifacts import RunFiles

        self.files = RunFiles(tracking_uri)
        self._cache: dict[str, Predictions | None] = {}

    def get(self, run_id: str) -> Predictions | None:
        if run_id not in self._cache:
            self._cache[run_id] = self._load(run_id)
        return self._cache[run_id]

    def _load(self, run_id: str) -> Predictions | None:
        raw = self.files.read_bytes(run_id, ARTIFACT_PREDICTIONS)
        if raw is None:
            return None
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                probs = np.asarray(data[PRED_PROBS], dtype=np.float32)
                labels = np.asarray(data[PRED_LABELS], dtype=np.int64)
                ids = np.asarray(data[PRED_IDS]).astype(str) if PRED_IDS in data.files else None
                classes = [str(c) for c in data[PRED_CLASSES]] if PRED_CLASSES in data.files else None
                groups = np.asarray(data[PRED_GROUPS]).astype(str) if PRED_GROUPS in data.files else None
                probs_pc = np.asarray(data[PRED_PROBS_PC], dtype=np.float32) if PRED_PROBS_PC in data.files else None
        except (KeyError, ValueError, OSError):
            return None
        if probs.ndim != 2 or labels.shape != (probs.shape[0],):
            return None
        if groups is not None and groups.shape != labels.shape:
            groups = None
        if probs_pc is not None and probs_pc.shape != probs.shape:
            probs_pc = None
        return Predictions(probs, labels, ids, classes, groups, probs_pc)


def recomputable(metric: str) -> bool:
    """Logged names the predictions can reproduce: test_<global metric> and test_<per-class>_<key>,
    and the same under the prior-corrected decision (test_pc_...)."""
    metric, _ = decision_of(metric)
    return metric.removeprefix("test_") in GLOBAL_METRICS and metric.startswith("test_") or \
        bool(_LOGGED_CLASS.match(metric))


def class_index(pred: Predictions, key: str) -> int | None:
    """Index of the class whose metric names use ``key``, from the class names the artifact carries
    (None when it carries none, or no class has that key: per-class scores are then not paired)."""
    if pred.classes is None:
        return None
    keys = [metric_key(c) for c in pred.classes]
    return keys.index(key) if key in keys else None


def stat_name(metric: str, pred: Predictions) -> str | None:
    """The reports.stats name of a logged metric for these predictions, or None (a test_pc_ metric
    has its plain metric's name: the decision is in which probabilities are scored)."""
    metric, _ = decision_of(metric)
    base = metric.removeprefix("test_")
    if metric.startswith("test_") and base in GLOBAL_METRICS:
        return base
    hit = _LOGGED_CLASS.match(metric)
    if not hit:
        return None
    index = class_index(pred, hit.group(2))
    return None if index is None else f"{hit.group(1)}_{index}"


def unnamed_classes_note(metric: str, runs) -> str:
    """Why a per-class metric cannot be recomputed from these runs' predictions, naming the first run
    whose artifact has no class names ("" when that is not the reason)."""
    if not _LOGGED_CLASS.match(decision_of(metric)[0]):
        return ""
    for run_id, pred in runs:
        if pred is not None and pred.classes is None:
            return (f"the {ARTIFACT_PREDICTIONS} of run {str(run_id)[:12]} carries no class names (written before "
                    f"they were logged), so its per-class scores cannot be matched to a class")
    return ""


def reproduces(pred: Predictions, name: str, logged: float) -> bool:
    return matches_logged(float(metric_values(pred.probs[None], pred.labels, [name])[name][0, 0]), logged)


def matches_logged(value: float, logged: float) -> bool:
    """A metric recomputed from predictions equals the logged one (both undefined counts as equal)."""
    if not math.isfinite(logged):
        return not math.isfinite(value)
    return abs(value - logged) <= MATCH_TOLERANCE

"""One run's metrics on the test set and on every resample of it, each computed once.

A report compares every arm with ``none``, with the control, with every other arm, and per class:
the same run's bootstrap values enter dozens of comparisons. All comparisons on one test set draw
the same resamples (fixed seed, same images or subjects), so a run's resampled metric is a function
of the run and the resamples alone, and :class:`ScoredRun` keeps it once computed. Every number is
the one the per-comparison computation gives, bit for bit: the metric of seed s never depended on
the other seeds of a comparison (each seed is scored on its own), only on its probabilities and the
shared weights.

The definitions follow benchmark/metrics.py: predictions are the argmax; balanced accuracy and
macro F1 average over classes present in the (resampled) test set; macro AUC is the mean
one-vs-rest AUC over classes where it is defined, and the AUC of class 1 for two classes;
precision/F1 of a never-predicted class are 0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

#: metrics computed from per-image probabilities; per-class ones take a class index: recall_3
GLOBAL_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "macro_auc", "macro_ap")
CLASS_METRICS = ("recall", "precision", "f1", "auc", "ap")
_CLASS_RE = re.compile(r"^(recall|precision|f1|auc|ap)_(\d+)$")


def parse_metric(name: str) -> tuple[str, int | None]:
    """``"macro_auc"`` -> ("macro_auc", None); ``"recall_3"`` -> ("recall", 3); ValueError otherwise."""
    if name in GLOBAL_METRICS:
        return name, None
    hit = _CLASS_RE.match(name)
    if hit:
        return hit.group(1), int(hit.group(2))
    raise ValueError(f"unknown metric {name!r}: use one of {', '.join(GLOBAL_METRICS)} or "
                     f"<{'|'.join(CLASS_METRICS)}>_<class index>")


# --- the resamples ---------------------------------------------------------------------------------------
def resample_weights(n_images: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_images) multinomial counts: how often each test image is drawn in each resample.

    Counts instead of index lists let every metric be computed as a weighted sum, so one sort of
    the scores serves all resamples."""
    idx = rng.integers(0, n_images, size=(n_boot, n_images))
    flat = (idx + (np.arange(n_boot) * n_images)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_images).reshape(n_boot, n_images).astype(np.float32)


def test_set_weights(n_images: int, n_boot: int, rng: np.random.Generator, groups=None) -> np.ndarray:
    """The test-set resamples: subjects drawn with replacement when ``groups`` (subject ids) are given
    (reports/clusters.py: the views of one lesion go in and out together), else images."""
    if groups is None:
        return resample_weights(n_images, n_boot, rng)
    from augbench.reports.clusters import cluster_resample_weights

    return cluster_resample_weights(groups, n_boot, rng)


@dataclass(frozen=True)
class TestResamples:
    """The resamples every comparison on one test set shares, and the random stream after them
    (the plain percentile bootstrap draws its seed resamples from it)."""

    weights: np.ndarray      # (B, N) float32 counts
    weights_t: np.ndarray    # (N, B) contiguous: images down, resamples across
    rng_state: dict

    @classmethod
    def draw(cls, n_images: int, n_boot: int, seed: int, groups=None) -> "TestResamples":
        rng = np.random.default_rng(seed)
        weights = test_set_weights(n_images, n_boot, rng, groups)
        return cls(weights, np.ascontiguousarray(weights.T), rng.bit_generator.state)

    @classmethod
    def of(cls, weights) -> "TestResamples":
        weights = np.asarray(weights, np.float32)
        return cls(weights, np.ascontiguousarray(weights.T), {})

    def rng(self) -> np.random.Generator:
        """A generator continuing the stream right after the weights were drawn."""
        rng = np.random.default_rng()
        rng.bit_generator.state = self.rng_state
        return rng


def resamples_key(n_images: int, n_boot: int, seed: int, groups=None) -> tuple:
    """Identifies a :class:`TestResamples` draw: equal keys draw equal weights."""
    return (n_images, n_boot, seed, None if groups is None else tuple(np.asarray(groups).astype(str)))


# --- one run's scores ---------------------------------------------------------------------------------------
_BLOCK = 64
_TRI = np.tril(np.ones((_BLOCK, _BLOCK), dtype=np.float32))


def _cumsum_rows(x: np.ndarray) -> np.ndarray:
    """Cumulative sum down axis 0 of an (N, B) float32 array, as blocked triangular matrix products.

    numpy's cumsum is a scalar loop; the weights are small integers, so float32 products are exact
    (sums stay far below 2**24) and BLAS makes this ~5x faster for the bootstrap's 2005 x 2000."""
    n, b = x.shape
    nb = -(-n // _BLOCK)
    if nb * _BLOCK != n:
        x = np.concatenate([x, np.zeros((nb * _BLOCK - n, b), dtype=x.dtype)])
    within = np.matmul(_TRI, x.reshape(nb, _BLOCK, b))
    totals = within[:, -1, :]
    within += (np.cumsum(totals, axis=0) - totals)[:, None, :]
    return within.reshape(nb * _BLOCK, b)[:n]


def _safe_div(num, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def _finite_mean(stack: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(stack)
        total = np.where(finite, stack, 0.0).sum(axis=0)
        count = finite.sum(axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _average_precision(scores: np.ndarray, positive: np.ndarray, weights_t: np.ndarray) -> np.ndarray:
    """Weighted one-vs-rest average precision of one score column for every resample.

    Scores are sorted once (descending); tied scores form one threshold (scikit-learn's
    convention). ``weights_t`` is (N, B): images down, resamples across."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    w = weights_t[order]
    wp = w * positive[order][:, None].astype(np.float32)
    wn = w - wp
    if len(starts) < len(scores):
        wp = np.add.reduceat(wp, starts, axis=0)
        wn = np.add.reduceat(wn, starts, axis=0)
    fp, tp = _cumsum_rows(wn), _cumsum_rows(wp)
    n_pos = wp.sum(axis=0, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / np.maximum(tp + fp, 1e-30)
        ap = np.einsum("nb,nb->b", wp, precision, dtype=np.float64) / n_pos
    return np.where(n_pos > 0, ap, np.nan)


def _auc(scores: np.ndarray, positive: np.ndarray, weights_t: np.ndarray) -> np.ndarray:
    """Weighted one-vs-rest AUC of one score column for every resample, the Mann-Whitney count with
    ties counted half: in two passes over the
    other side's weights.

    Every term is an integer or half-integer count (the weights are draw counts), so the float64
    sums are exact whatever their order and however the count is arranged. The pairs are counted
    from the smaller side (for a class of 23 test images, from its 23 images): for each of its
    distinct scores, the other side's weight scored strictly above and at or above it, read from
    prefix sums of the other side sorted once, instead of (N, B) cumulative sums over every image."""
    n_classes_side = int(positive.sum())
    if n_classes_side == 0 or n_classes_side == len(positive):
        return np.full(weights_t.shape[1], np.nan)
    anchor_is_pos = n_classes_side <= len(positive) - n_classes_side
    anchor = positive if anchor_is_pos else ~positive
    both, n_anchor, n_other = _pairs_above(-scores[anchor], weights_t[np.flatnonzero(anchor)],
                                           -scores[~anchor], np.flatnonzero(~anchor), weights_t)
    n_pos, n_neg = (n_anchor, n_other) if anchor_is_pos else (n_other, n_anchor)
    with np.errstate(invalid="ignore", divide="ignore"):
        # both = sum over anchor images of (other side strictly above + at or above): twice the
        # half-counted pairs in which the other side scores higher
        higher = 0.5 * both if anchor_is_pos else n_pos * n_neg - 0.5 * both
        auc = (n_pos * n_neg - higher) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def _pairs_above(key_anchor, w_anchor, key_other, other_rows, weights_t):
    """Σ over anchor images of weight × (other weight with key strictly below + at or below its
    key), and the two sides' total weights, per resample (float64, exact counts)."""
    order = np.argsort(key_anchor, kind="stable")
    distinct, starts = np.unique(key_anchor[order], return_index=True)
    per_key = np.add.reduceat(w_anchor[order], starts, axis=0)        # (G, B) anchor weight per key
    order_other = np.argsort(key_other, kind="stable")
    sorted_other = key_other[order_other]
    below = np.searchsorted(sorted_other, distinct, side="left")
    at_or_below = np.searchsorted(sorted_other, distinct, side="right")
    cuts = np.unique(np.r_[0, below, at_or_below])
    cuts = cuts[cuts < len(sorted_other)]
    segments = np.add.reduceat(weights_t[other_rows[order_other]], cuts, axis=0)
    prefix = np.concatenate([np.zeros((1, segments.shape[1]), segments.dtype), np.cumsum(segments, axis=0)])
    where = np.r_[cuts, len(sorted_other)]
    counts = prefix[np.searchsorted(where, below)] + prefix[np.searchsorted(where, at_or_below)]
    both = np.einsum("gb,gb->b", per_key, counts, dtype=np.float64)
    return both, per_key.sum(axis=0, dtype=np.float64), prefix[-1].astype(np.float64)


class RunScores:
    """Every metric of one run (probabilities (N, K)) on one set of weights, each part computed once:
    the weighted confusion matrices feed accuracy, balanced accuracy, macro F1 and the per-class
    counts; one sort per class column feeds that class's AUC and AP (and so macro AUC / AP)."""

    def __init__(self, probs, labels, weights_t: np.ndarray | None = None):
        self.probs = np.asarray(probs)
        self.labels = np.asarray(labels, dtype=np.int64)
        n_images, self.n_classes = self.probs.shape
        self.weights_t = (np.ones((n_images, 1), dtype=np.float32) if weights_t is None else weights_t)
        self._counts = None
        self._auc: dict[int, np.ndarray] = {}
        self._ap: dict[int, np.ndarray] = {}
        self._values: dict[str, np.ndarray] = {}

    def values(self, metric: str) -> np.ndarray:
        """(B,) the metric on each weighting (B = 1 for the full test set)."""
        if metric not in self._values:
            self._values[metric] = self._compute(metric)
        return self._values[metric]

    def _compute(self, metric: str) -> np.ndarray:
        base, k = parse_metric(metric)
        if base in ("auc", "ap"):
            return self._rank(k, base)
        if base == "macro_auc":
            if self.n_classes == 2:
                return self._rank(1, "auc")
            return _finite_mean(np.stack([self._rank(c, "auc") for c in range(self.n_classes)]))
        if base == "macro_ap":
            return _finite_mean(np.stack([self._rank(c, "ap") for c in range(self.n_classes)]))
        tp, support, predicted, cm_total = self._confusion_counts()
        recall, precision = _safe_div(tp, support), _safe_div(tp, predicted)
        if base == "accuracy":
            return tp.sum(axis=1) / cm_total
        present = support > 0
        n_present = present.sum(axis=1)
        if base == "balanced_accuracy":
            return np.where(n_present > 0, (recall * present).sum(axis=1) / np.maximum(n_present, 1), np.nan)
        f1 = _safe_div(2 * tp, support + predicted)
        if base == "macro_f1":
            return np.where(n_present > 0, (f1 * present).sum(axis=1) / np.maximum(n_present, 1), np.nan)
        return {"recall": recall, "precision": precision, "f1": f1}[base][:, k]

    def _confusion_counts(self):
        """(tp, support, predicted) per (weighting, class) and the total weight, from the (B, K, K)
        weighted confusion matrices [true, predicted] (one matrix product)."""
        if self._counts is None:
            k, labels = self.n_classes, self.labels
            onehot = np.zeros((k * k, len(labels)), dtype=np.float32)
            onehot[labels * k + self.probs.argmax(axis=1), np.arange(len(labels))] = 1.0
            cm = (onehot @ self.weights_t).T.reshape(-1, k, k).astype(np.float64)
            self._counts = (np.diagonal(cm, axis1=1, axis2=2), cm.sum(axis=2), cm.sum(axis=1), cm.sum(axis=(1, 2)))
        return self._counts

    def _rank(self, k: int, which: str) -> np.ndarray:
        store = self._auc if which == "auc" else self._ap
        if k not in store:
            scores, positive = self.probs[:, k], self.labels == k
            store[k] = (_auc if which == "auc" else _average_precision)(scores, positive, self.weights_t)
        return store[k]


class ScoredRun:
    """One run's metrics on the full test set and on the shared resamples, computed lazily, once."""

    def __init__(self, probs, labels, resamples: TestResamples):
        self.resamples = resamples
        self.full = RunScores(probs, labels)
        self.boot = RunScores(probs, labels, resamples.weights_t)

    def full_value(self, metric: str) -> float:
        return float(self.full.values(metric)[0])


def stack(scores, metric: str) -> np.ndarray:
    """(B, S) values of ``metric`` over the runs' :class:`RunScores` (one column per seed)."""
    return np.stack([s.values(metric) for s in scores], axis=1)

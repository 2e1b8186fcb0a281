"""Does anything sit in two splits? Shared subjects, identical images and near-identical images.

A test image of a lesion (or patient) that is also in train rewards the arms that copy budget
images; so does a re-saved copy of a training photo. The audit counts all three, per split pair
and per class of the later split's image, and names the first few ids, so a user can see a leak
before it turns into a result.

Near duplicates compare the pixels themselves: each image is block-averaged to at most
``NEAR_SIDE`` px, flattened with its colour channels, and two images are near duplicates when the
Pearson correlation of those pixels is at least ``NEAR_THRESHOLD`` (and they are not
byte-identical). Correlation ignores brightness and contrast changes and survives re-encoding.
An average hash was tried first and rejected: on dermoscopy and chest X-rays at 28 px (centred
blob, same anatomy) it called different lesions and different children near duplicates (26 of
the lesion-grouped `isic` test images), while at r >= 0.99 the lesion-grouped `isic` and the
patient-grouped `chestxray` have none and every pair found in `dermamnist` is one lesion.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from augbench.datasets.types import Split, Splits

PAIRS = (("train", "val"), ("train", "test"), ("val", "test"))
NEAR_SIDE = 28  # larger images are block-averaged down to this first (cost, and where the threshold was set)
NEAR_THRESHOLD = 0.99  # Pearson correlation of the pixels
EXAMPLES = 3
NEAR_METHOD = (f"near duplicates: Pearson correlation >= {NEAR_THRESHOLD} of the pixels (colour kept, "
               f"block-averaged to at most {NEAR_SIDE} px)")


@dataclass
class PairRow:
    pair: str  # e.g. "train-test"
    label: int  # class of the later split's image
    shared_subjects: int | None  # later-split images whose subject is in the earlier split; None: no subject ids
    exact: int  # later-split images byte-identical to an earlier-split image
    near: int  # later-split images correlating >= the threshold with one (exact copies not counted again)
    examples: list = field(default_factory=list)  # "kind: later id ~ earlier id"


@dataclass
class AuditReport:
    dataset: str
    class_names: tuple
    rows: list[PairRow]
    has_subjects: bool

    def totals(self, pair: str) -> dict[str, int]:
        rows = [r for r in self.rows if r.pair == pair]
        return {"shared_subjects": sum(r.shared_subjects or 0 for r in rows), "exact_dup": sum(r.exact for r in rows),
                "near_dup": sum(r.near for r in rows)}

    @property
    def any_shared(self) -> bool:
        return any(v for a, b in PAIRS for v in self.totals(f"{a}-{b}").values())

    def summary(self) -> dict[str, int]:
        """Flat counts (for MLflow): ``audit_<kind>_<a>_<b>``."""
        out = {}
        for a, b in PAIRS:
            for kind, n in self.totals(f"{a}-{b}").items():
                out[f"audit_{kind}_{a}_{b}"] = int(n)
        return out

    def warning(self) -> str:
        if not self.any_shared:
            return ""
        parts = []
        for a, b in PAIRS:
            t = self.totals(f"{a}-{b}")
            found = [f"{n} {k.replace('_', ' ')}" for k, n in t.items() if n]
            if found:
                parts.append(f"{b} vs {a}: {', '.join(found)}")
        return "splits share images or subjects (" + "; ".join(parts) + ")"

    def lines(self) -> list[str]:
        subj = "shared subjects" if self.has_subjects else "shared subjects (no subject ids)"
        out = [f"audit of {self.dataset}: images of the later split found in the earlier one",
               f"| pair | class | {subj} | exact duplicates | near duplicates | first ids |",
               "|---|---|---|---|---|---|"]
        for r in self.rows:
            if not (r.shared_subjects or r.exact or r.near):
                continue
            shared = "–" if r.shared_subjects is None else str(r.shared_subjects)
            out.append(f"| {r.pair} | {self.class_names[r.label]} | {shared} | {r.exact} | {r.near} | "
                       f"{'; '.join(r.examples) or '–'} |")
        if len(out) == 3:
            out.append("| (none) | | 0 | 0 | 0 | |")
        out.append(NEAR_METHOD + "; exact duplicates: identical pixel bytes at the loaded size.")
        return out


def pixel_vectors(images: np.ndarray, side: int = NEAR_SIDE) -> np.ndarray:
    """(N, D) float32: each image block-averaged to at most ``side`` px, mean removed, unit length.

    The dot product of two rows is then their pixels' Pearson correlation. A constant image has
    a zero row (correlation 0 with everything; its copies are still exact duplicates).
    """
    if len(images) > 512:  # chunks: a 224 px split as float32 at once would need GBs
        return np.concatenate([pixel_vectors(images[i:i + 512], side) for i in range(0, len(images), 512)])
    x = images.astype(np.float32)
    n, h, w, c = x.shape
    if n == 0:
        return np.zeros((0, min(h, side) * min(w, side) * c), np.float32)
    if h > side or w > side:
        rows = np.linspace(0, h, min(h, side) + 1).astype(int)
        cols = np.linspace(0, w, min(w, side) + 1).astype(int)
        x = np.add.reduceat(np.add.reduceat(x, rows[:-1], axis=1), cols[:-1], axis=2)
        x /= np.outer(np.diff(rows), np.diff(cols))[None, :, :, None]
    x = x.reshape(n, -1)
    x -= x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 1e-6)


def nearest(later: np.ndarray, earlier: np.ndarray, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """For each ``later`` row of pixel_vectors: the highest correlation with an ``earlier`` row, and its index."""
    best = np.full(len(later), -1.0, dtype=np.float32)
    where = np.zeros(len(later), dtype=np.int64)
    if not len(earlier):
        return best, where
    for start in range(0, len(later), block):
        corr = later[start:start + block] @ earlier.T
        where[start:start + block] = corr.argmax(axis=1)
        best[start:start + block] = corr.max(axis=1)
    return best, where


def _byte_hashes(images: np.ndarray) -> list[bytes]:
    return [hashlib.blake2b(np.ascontiguousarray(im).data, digest_size=16).digest() for im in images]


def _ids(split: Split) -> np.ndarray:
    return split.ids if split.ids is not None else np.asarray([str(i) for i in range(len(split))])


def audit_splits(splits: Splits, *, near_threshold: float = NEAR_THRESHOLD) -> AuditReport:
    """Count what the later split of each pair shares with the earlier one; no side effects."""
    parts = {"train": splits.train, "val": splits.val, "test": splits.test}
    vectors = {k: pixel_vectors(v.images) for k, v in parts.items()}
    exact = {k: _byte_hashes(v.images) for k, v in parts.items()}
    has_subjects = all(v.groups is not None for v in parts.values())
    rows = []
    for a, b in PAIRS:
        first, later = parts[a], parts[b]
        exact_first = {h: i for i, h in enumerate(exact[a])}
        corr, near_index = nearest(vectors[b], vectors[a])
        subjects = set(first.groups.tolist()) if has_subjects else set()
        ids_a, ids_b = _ids(first), _ids(later)
        for label in range(splits.info.n_classes):
            members = np.flatnonzero(later.labels == label)
            row = PairRow(f"{a}-{b}", label, 0 if has_subjects else None, 0, 0)
            for j in members:
                copy = exact_first.get(exact[b][j])
                if has_subjects and later.groups[j] in subjects:
                    row.shared_subjects += 1
                    if len(row.examples) < EXAMPLES:
                        row.examples.append(f"subject {later.groups[j]}: {ids_b[j]}")
                if copy is not None:
                    row.exact += 1
                    if len(row.examples) < EXAMPLES:
                        row.examples.append(f"exact: {ids_b[j]} = {ids_a[copy]}")
                elif corr[j] >= near_threshold:
                    row.near += 1
                    if len(row.examples) < EXAMPLES:
                        row.examples.append(f"near (r={corr[j]:.3f}): {ids_b[j]} ~ {ids_a[near_index[j]]}")
            rows.append(row)
    return AuditReport(splits.info.name, tuple(splits.info.class_names), rows, has_subjects)

"""Does anything sit in two splits? Shared subjects, identical images and near-identical images.

A test image of a lesion (or patient) that is also in train rewards the arms that copy budget
images; so does a re-saved copy of a training photo. The audit counts all three, per split pair
and per class of the later split's image, and names the first few ids, so a user can see a leak
before it turns into a result.

Near duplicates use a 256-bit average hash: the grey image average-pooled to 16 x 16, each cell
set when it is brighter than the image's median cell. Two images are near duplicates when at most
``NEAR_THRESHOLD`` of the 256 bits differ (and they are not byte-identical). The hash survives
re-encoding, small brightness shifts and mild noise, not crops or flips.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from datasets.types import Split, Splits

PAIRS = (("train", "val"), ("train", "test"), ("val", "test"))
HASH_SIDE = 16
NEAR_THRESHOLD = 12  # differing bits of 256 (under 5 %)
EXAMPLES = 3
NEAR_METHOD = (f"near duplicates: {HASH_SIDE}x{HASH_SIDE} average hash of the grey image, at most "
               f"{NEAR_THRESHOLD} of {HASH_SIDE * HASH_SIDE} bits differing")


@dataclass
class PairRow:
    pair: str  # e.g. "train-test"
    label: int  # class of the later split's image
    shared_subjects: int | None  # later-split images whose subject is in the earlier split; None: no subject ids
    exact: int  # later-split images byte-identical to an earlier-split image
    near: int  # later-split images within the hash threshold of one (exact copies not counted again)
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


def average_hash(images: np.ndarray) -> np.ndarray:
    """(N, 4) uint64: the 256-bit average hash of each uint8 NHWC image."""
    grey = images.astype(np.float32).mean(axis=3)
    n, h, w = grey.shape
    rows = np.linspace(0, h, HASH_SIDE + 1).astype(int)
    cols = np.linspace(0, w, HASH_SIDE + 1).astype(int)
    if h >= HASH_SIDE and w >= HASH_SIDE:
        pooled = np.add.reduceat(np.add.reduceat(grey, rows[:-1], axis=1), cols[:-1], axis=2)
        pooled /= np.outer(np.diff(rows), np.diff(cols))[None]
    else:  # tiny images: nearest-neighbour upsampling to the hash grid
        pooled = grey[:, (np.arange(HASH_SIDE) * h) // HASH_SIDE][:, :, (np.arange(HASH_SIDE) * w) // HASH_SIDE]
    bits = pooled.reshape(n, -1) > np.median(pooled.reshape(n, -1), axis=1, keepdims=True)
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64)


def _byte_hashes(images: np.ndarray) -> list[bytes]:
    return [hashlib.blake2b(np.ascontiguousarray(im).data, digest_size=16).digest() for im in images]


def _nearest(later: np.ndarray, earlier: np.ndarray, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """For each later hash: the smallest Hamming distance to an earlier hash, and that index."""
    best = np.full(len(later), HASH_SIDE * HASH_SIDE + 1, dtype=np.int64)
    where = np.zeros(len(later), dtype=np.int64)
    if not len(earlier):
        return best, where
    for start in range(0, len(later), block):
        chunk = later[start:start + block]
        dist = np.bitwise_count(chunk[:, None, :] ^ earlier[None, :, :]).sum(axis=2)
        where[start:start + block] = dist.argmin(axis=1)
        best[start:start + block] = dist.min(axis=1)
    return best, where


def _ids(split: Split) -> np.ndarray:
    return split.ids if split.ids is not None else np.asarray([str(i) for i in range(len(split))])


def audit_splits(splits: Splits, *, near_threshold: int = NEAR_THRESHOLD) -> AuditReport:
    """Count what the later split of each pair shares with the earlier one; no side effects."""
    parts = {"train": splits.train, "val": splits.val, "test": splits.test}
    hashes = {k: average_hash(v.images) if len(v) else np.zeros((0, 4), np.uint64) for k, v in parts.items()}
    exact = {k: _byte_hashes(v.images) for k, v in parts.items()}
    has_subjects = all(v.groups is not None for v in parts.values())
    rows = []
    for a, b in PAIRS:
        first, later = parts[a], parts[b]
        exact_first = {h: i for i, h in enumerate(exact[a])}
        dist, near_index = _nearest(hashes[b], hashes[a])
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
                elif dist[j] <= near_threshold:
                    row.near += 1
                    if len(row.examples) < EXAMPLES:
                        row.examples.append(f"near ({dist[j]} bits): {ids_b[j]} ~ {ids_a[near_index[j]]}")
            rows.append(row)
    return AuditReport(splits.info.name, tuple(splits.info.class_names), rows, has_subjects)

"""Rebuild ``ham10000/dermamnist_split_info.csv`` from MedMNIST's own ``dermamnist.npz``.

The `dermamnist` dataset reads HAM10000's JPEGs in DermaMNIST's official split and order, but
MedMNIST publishes that split only as pixels: ``dermamnist.npz`` holds the images shrunk to 28 px
(or 64/128/224) with their labels, and no HAM10000 image ids. This module recovers the ids, so
the split file can be produced by a command (`benchmark data derma-split`) instead of taken on
trust: every DermaMNIST image is matched to the HAM10000 image of the same class that looks most
like it once both are at 28 px.

Matching: both sides are compared at 28 px (the npz's images shrunk with the box filter when the
file is larger; HAM10000 through the `isic` loader at 28 px, cached), by the squared pixel
distance over all three channels, within one class only (the label is in both files). Each
DermaMNIST image takes its nearest HAM10000 image; where two would take the same one, the class
is solved as an assignment problem (scipy's linear_sum_assignment) so no HAM10000 image is used
twice. MedMNIST's exact shrinking filter is not published; the match does not depend on it, since
a different filter or an extra JPEG generation moves pixels by a few grey levels while a different
photo differs by tens (measured on the 200x150 copies: best match median 3 grey levels RMSE,
runner-up median 17). Close calls, where the runner-up is within ``CLOSE`` of the match, are
counted and named; almost all are another photo of the same lesion, which HAM10000 has for 1956
lesions and which puts the two in the same place for every lesion-overlap count.
"""
from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from augbench.core.errors import DataError
from augbench.datasets.images import resize_array
from augbench.datasets.splitting import SPLIT_NAMES

COMPARE_SIZE = 28
CLOSE = 1.1  # runner-up RMSE / match RMSE below this: a close call, reported
DOUBTFUL_RMSE = 20.0  # grey levels; a match further off is not the same picture: nothing is written
COLUMNS = ("split", "index", "image_id", "dx", "label")


@dataclass
class DermaSplit:
    """The recovered split (rows in the CSV's order) and how sure each match is."""

    rows: list[dict]
    rmse: np.ndarray  # per row: RMSE in grey levels between the npz image and its HAM10000 match
    close_calls: list[str] = field(default_factory=list)  # "split/index -> id (runner-up id, same lesion)"

    def summary(self) -> str:
        counts = ", ".join(f"{s} {sum(r['split'] == s for r in self.rows)}" for s in SPLIT_NAMES)
        text = (f"{len(self.rows)} DermaMNIST images matched to HAM10000 ({counts}); match RMSE at {COMPARE_SIZE} px: "
                f"median {np.median(self.rmse):.1f}, max {self.rmse.max():.1f} grey levels; "
                f"{len(self.close_calls)} close call(s) (runner-up within {round((CLOSE - 1) * 100)}%)")
        if self.close_calls:
            text += ": " + "; ".join(self.close_calls[:5]) + (" ..." if len(self.close_calls) > 5 else "")
        return text


def _npz_arrays(path: Path) -> tuple[dict, dict]:
    from augbench.datasets.medmnist import MedMNISTSource

    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise DataError(f"{path} not found: the split is recovered from MedMNIST's own dermamnist.npz.",
                        "run `benchmark data fetch dermamnist-npz` (md5-checked), or pass --npz PATH to the "
                        "official file (any of its sizes).")
    source = MedMNISTSource("dermamnist-npz", str(path))
    arrays = source._arrays(source.locate(), [f"{s}_{k}" for s in SPLIT_NAMES for k in ("images", "labels")])
    images, labels = {}, {}
    for s in SPLIT_NAMES:
        img = arrays[f"{s}_images"]
        if img.ndim != 4 or img.shape[3] != 3:
            raise DataError(f"{path} holds {s} images of shape {img.shape}, not RGB; it is not DermaMNIST.",
                            "pass the official dermamnist.npz (or dermamnist_64/128/224.npz).")
        images[s] = resize_array(np.ascontiguousarray(img, dtype=np.uint8), COMPARE_SIZE)
        labels[s] = arrays[f"{s}_labels"].reshape(-1).astype(np.int64)
    return images, labels


def _ham(data_dir, cache_dir):
    """Every HAM10000 image at 28 px with its id, label and lesion, through the `isic` loader (cached)."""
    from augbench.datasets.api import load_dataset

    splits = load_dataset("isic", data_dir=data_dir, image_size=COMPARE_SIZE, cache_dir=cache_dir)
    parts = (splits.train, splits.val, splits.test)
    return (np.concatenate([p.images for p in parts]), np.concatenate([p.ids for p in parts]),
            np.concatenate([p.labels for p in parts]), np.concatenate([p.groups for p in parts]),
            splits.info.class_names)


def _assign(query: np.ndarray, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each query image: its match in ``pool`` (one-to-one), the squared distance, and the
    runner-up (nearest other pool image) with its squared distance."""
    a = query.reshape(len(query), -1).astype(np.float32)
    b = pool.reshape(len(pool), -1).astype(np.float32)
    d2 = a @ b.T
    d2 *= -2
    d2 += (a * a).sum(1)[:, None]
    d2 += (b * b).sum(1)[None, :]
    np.maximum(d2, 0, out=d2)
    chosen = d2.argmin(1)
    if len(np.unique(chosen)) < len(chosen):
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(d2)
        chosen = cols[np.argsort(rows)]
    rows = np.arange(len(a))
    best = d2[rows, chosen].copy()
    d2[rows, chosen] = np.inf
    runner_up = d2.argmin(1) if d2.shape[1] > 1 else chosen
    return chosen, best, runner_up, d2[rows, runner_up]


def match_dermamnist(npz_path, data_dir=None, cache_dir=None) -> DermaSplit:
    """Recover DermaMNIST's split as HAM10000 image ids (see the module docstring for how)."""
    images, labels = _npz_arrays(Path(npz_path))
    ham_images, ham_ids, ham_labels, ham_lesions, classes = _ham(data_dir, cache_dir)
    order = [(s, i) for s in SPLIT_NAMES for i in range(len(labels[s]))]
    query = np.concatenate([images[s] for s in SPLIT_NAMES])
    query_labels = np.concatenate([labels[s] for s in SPLIT_NAMES])
    bad = sorted(set(np.unique(query_labels).tolist()) - set(range(len(classes))))
    if bad:
        raise DataError(f"{npz_path} has label(s) {bad}; DermaMNIST's are 0-{len(classes) - 1}.",
                        "pass the official dermamnist.npz.")
    match = np.empty(len(query), dtype=np.int64)
    rmse = np.empty(len(query))
    close_calls = []
    pixels = COMPARE_SIZE * COMPARE_SIZE * 3
    for c in range(len(classes)):
        q = np.flatnonzero(query_labels == c)
        p = np.flatnonzero(ham_labels == c)
        if len(q) == 0:
            continue
        if len(q) > len(p):
            raise DataError(f"{npz_path} has {len(q)} {classes[c]} images but HAM10000 only {len(p)}.",
                            "use the complete HAM10000 image set (10,015 images) and the official dermamnist.npz.")
        chosen, best, runner, second = _assign(query[q], ham_images[p])
        match[q] = p[chosen]
        rmse[q] = np.sqrt(best / pixels)
        for k in np.flatnonzero(np.sqrt(second / pixels) < CLOSE * np.sqrt(best / pixels)):
            s, i = order[q[k]]
            other = p[runner[k]]
            same = "same lesion" if ham_lesions[other] == ham_lesions[p[chosen[k]]] else "another lesion"
            close_calls.append(f"{s}/{i} -> {ham_ids[p[chosen[k]]]} (runner-up {ham_ids[other]}, {same})")
    rows = [{"split": s, "index": i, "image_id": str(ham_ids[m]), "dx": classes[int(query_labels[n])],
             "label": int(query_labels[n])} for n, ((s, i), m) in enumerate(zip(order, match))]
    doubtful = [f"{r['split']}/{r['index']} -> {r['image_id']} ({e:.1f})" for r, e in zip(rows, rmse)
                if e > DOUBTFUL_RMSE]
    if doubtful:
        raise DataError(
            f"{len(doubtful)} image(s) of {npz_path} match no HAM10000 image of their class (RMSE above "
            f"{DOUBTFUL_RMSE:g} grey levels at {COMPARE_SIZE} px: {'; '.join(doubtful[:3])}"
            f"{' ...' if len(doubtful) > 3 else ''}); no split file was written.",
            "pass the official dermamnist.npz and the complete HAM10000 image set (ham10000/images/).")
    return DermaSplit(rows, rmse, close_calls)


def write_split_csv(result: DermaSplit, path: Path) -> Path:
    """Write the rows as ``split,index,image_id,dx,label`` (the layout `dermamnist` reads), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(result.rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

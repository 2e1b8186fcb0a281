"""A short content fingerprint of a dataset's train/val/test split, for cache and resume keys.

A fit or cell is reused when its hash matches, so the hash must change whenever the images it was
computed from change: a split file added or removed, a re-carved validation split, a new image
size, an edited image. Hashing the ids, labels and pixel bytes of every split catches all of these;
the budgets themselves are a seeded function of the split and the grid settings, so fingerprinting
the split before budgeting and keying on (budget, seed, val budget) fixes the budgeted images too.
"""
from __future__ import annotations

import hashlib

import numpy as np

from augbench.datasets.types import Split, Splits


def _update(h, split: Split) -> None:
    h.update(np.int64(len(split)).tobytes())
    h.update(np.ascontiguousarray(split.labels, dtype=np.int64).tobytes())
    if split.ids is not None:
        h.update("\x1f".join(map(str, split.ids.tolist())).encode())
    h.update(str(split.images.shape).encode())
    h.update(np.ascontiguousarray(split.images).data)


def split_fingerprint(splits: Splits) -> str:
    """16 hex digits over ids, labels and pixels of train, val and test, in that order."""
    h = hashlib.sha256()
    for name in ("train", "val", "test"):
        h.update(name.encode())
        _update(h, getattr(splits, name))
    return h.hexdigest()[:16]

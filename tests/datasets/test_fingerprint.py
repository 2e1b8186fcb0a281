"""The split fingerprint changes with anything that changes what a cell trains or is tested on."""
import numpy as np

from augbench.datasets.fingerprint import split_fingerprint
from augbench.datasets.types import DatasetInfo, Split, Splits

INFO = DatasetInfo("toy", "binary", ("a", "b"), 1, {}, "", "")


def _splits(images=None, ids=None, move=False):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (12, 4, 4, 1), dtype=np.uint8) if images is None else images
    labels = np.arange(12) % 2
    ids = np.array([f"f{i}" for i in range(12)]) if ids is None else ids
    train_idx, val_idx, test_idx = np.arange(0, 8), np.arange(8, 10), np.arange(10, 12)
    if move:  # one image changes split: same pixels overall, different assignment
        train_idx, val_idx = np.arange(0, 7), np.arange(7, 10)
    mk = lambda idx: Split(images[idx], labels[idx], ids[idx])  # noqa: E731
    return Splits(mk(train_idx), mk(val_idx), mk(test_idx), INFO), images, ids


def test_fingerprint_is_stable_and_sensitive():
    base, images, ids = _splits()
    assert split_fingerprint(base) == split_fingerprint(_splits()[0])
    edited = images.copy()
    edited[11, 0, 0, 0] ^= 1  # one grey level of one test pixel
    renamed = ids.copy()
    renamed[3] = "other"
    variants = [_splits(images=edited)[0], _splits(ids=renamed)[0], _splits(move=True)[0]]
    prints = {split_fingerprint(base), *(split_fingerprint(v) for v in variants)}
    assert len(prints) == 4

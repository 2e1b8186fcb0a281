"""Stratified and lesion-grouped splitting."""
from __future__ import annotations

import numpy as np

from augbench.datasets.splitting import grouped_stratified_split, stratified_split


def test_stratified_split_partitions_each_class_by_fraction():
    labels = np.repeat([0, 1, 2], [100, 30, 3])
    train, val, test = stratified_split(labels, (0.7, 0.1, 0.2), seed=0)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(133))
    assert np.bincount(labels[train]).tolist() == [70, 21, 1]
    assert np.bincount(labels[val]).tolist() == [10, 3, 1]
    assert np.bincount(labels[test]).tolist() == [20, 6, 1]  # a 3-image class still reaches every split


def test_stratified_split_is_seeded():
    labels = np.repeat([0, 1], [50, 50])
    a = stratified_split(labels, (0.8, 0.2), seed=1)
    b = stratified_split(labels, (0.8, 0.2), seed=1)
    c = stratified_split(labels, (0.8, 0.2), seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_grouped_split_keeps_groups_whole_and_near_fractions():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 4, size=300)  # 300 lesions with 1-3 photos
    groups = np.repeat(np.arange(300), sizes)
    labels = np.repeat(np.arange(300) % 3, sizes)
    parts = grouped_stratified_split(labels, groups, (0.7, 0.1, 0.2), seed=0)
    owner = {}
    for k, idx in enumerate(parts):
        for g in groups[idx]:
            assert owner.setdefault(g, k) == k
    assert sum(len(p) for p in parts) == len(labels)
    for c in range(3):
        n = np.array([(labels[p] == c).sum() for p in parts], dtype=float)
        assert np.allclose(n / n.sum(), [0.7, 0.1, 0.2], atol=0.03)

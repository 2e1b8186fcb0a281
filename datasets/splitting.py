"""Seeded, stratified train/val/test assignment for datasets without an official split.

Stratifying per class keeps every rare class present in val and test (a random split of a
class with 15 images can leave none for testing). Grouped splitting keeps all images of one
lesion in the same split, so a model is never tested on a lesion it trained on.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

SPLIT_NAMES = ("train", "val", "test")


def class_rng(seed: int, label: int, salt: int = 0) -> np.random.Generator:
    """An rng for one class; independent of other classes so adding a class changes nothing else."""
    return np.random.default_rng(np.random.SeedSequence([int(seed) % 2**32, int(label) % 2**32, salt]))


def _class_quotas(n: int, fractions) -> list[int]:
    """Split n items by ``fractions`` (largest remainder); every part gets >= 1 when n allows."""
    raw = [round(n * f, 9) for f in fractions]  # 12 * 0.7 is 8.3999..., not a remainder of .4
    quotas = [int(np.floor(r)) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - quotas[i], reverse=True)[: n - sum(quotas)]:
        quotas[i] += 1
    if n >= len(fractions):
        for i in range(len(quotas)):
            if quotas[i] == 0:
                donor = int(np.argmax(quotas))
                quotas[donor] -= 1
                quotas[i] += 1
    return quotas


def stratified_split(labels: np.ndarray, fractions, seed: int, salt: int = 1) -> list[np.ndarray]:
    """Index arrays (sorted) for each fraction, drawn per class with a seeded permutation."""
    labels = np.asarray(labels)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        idx = idx[class_rng(seed, label, salt).permutation(len(idx))]
        start = 0
        for k, quota in enumerate(_class_quotas(len(idx), fractions)):
            parts[k].append(idx[start:start + quota])
            start += quota
    return [np.sort(np.concatenate(p)) if p else np.empty(0, dtype=np.int64) for p in parts]


def grouped_stratified_split(labels: np.ndarray, groups: np.ndarray, fractions, seed: int,
                             salt: int = 2) -> list[np.ndarray]:
    """Like stratified_split, but whole groups (lesions) go to one part.

    Groups are stratified by their most common label; within a class they are dealt out in a
    seeded order to whichever part is furthest below its image quota, which lands close to the
    requested fractions even when groups differ in size.
    """
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    members: dict = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    by_class: dict = defaultdict(list)
    for g, idx in members.items():
        label = Counter(labels[idx].tolist()).most_common(1)[0][0]
        by_class[label].append(g)
    parts: list[list[int]] = [[] for _ in fractions]
    for label in sorted(by_class):
        names = sorted(by_class[label], key=str)
        order = class_rng(seed, label, salt).permutation(len(names))
        total = sum(len(members[names[j]]) for j in order)
        targets = np.asarray(fractions, dtype=float) * total
        filled = np.zeros(len(fractions))
        for j in order:
            k = int(np.argmax(targets - filled))
            parts[k].extend(members[names[j]])
            filled[k] += len(members[names[j]])
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def describe_fractions(fractions) -> str:
    return "/".join(str(round(f * 100)) for f in fractions)

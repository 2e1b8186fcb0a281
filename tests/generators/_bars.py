"""A two-class toy image set whose classes a linear model on raw pixels separates perfectly.

Class 0 has horizontal bars, class 1 vertical ones (period 8, shifted by at most one pixel, with
Gaussian noise). Because the bar positions barely move, a LogisticRegression fitted on real
images labels them by pixel pattern alone: a conditional generator passes only if its class-c
samples really show class-c structure.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression


def bars_dataset(n_per_class: int, seed: int, size: int = 28, channels: int = 1, noise: float = 20.0):
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c in (0, 1):
        for _ in range(n_per_class):
            line = ((np.arange(size) + rng.integers(-1, 2)) % 8 < 4).astype(np.float64)
            img = np.tile(line[:, None], (1, size)) if c == 0 else np.tile(line[None, :], (size, 1))
            img = 40 + 170 * img + rng.normal(0, noise, (size, size))
            images.append(np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], channels, axis=-1))
            labels.append(c)
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def real_pixel_classifier(seed: int = 1, size: int = 28, channels: int = 1) -> LogisticRegression:
    """LogisticRegression on pixels of 2 x 100 REAL bar images (held apart from any generator's data)."""
    x, y = bars_dataset(100, seed, size, channels)
    return LogisticRegression(max_iter=2000).fit(x.reshape(len(x), -1) / 255.0, y)


def label_accuracy(clf: LogisticRegression, images: np.ndarray, label: int) -> float:
    return float((clf.predict(images.reshape(len(images), -1) / 255.0) == label).mean())

"""The in-memory shape every loader returns, so nothing downstream knows where images came from.

Images are uint8 NHWC (C = 1 or 3) and labels int64: compact enough to hold HAM10000 at 64 px in
memory, and unambiguous about scaling (each consumer normalises the same way, see transforms).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class DatasetInfo:
    """MedMNIST-style metadata record describing one dataset."""

    name: str
    task: str  # "multi-class" or "binary"
    class_names: tuple[str, ...]
    channels: int
    counts: dict  # split -> per-class counts as published (tuple of ints), for checks and `data info`
    source: str
    licence: str
    description: str = ""
    files: tuple[str, ...] = ()  # what must exist under the data dir, relative paths
    # split -> image count as published, for sets whose publisher gives totals but no per-class
    # counts (most of MedMNIST): `data info` shows these instead of inventing per-class numbers
    totals: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def published_totals(self) -> dict:
        """Split -> published image count: ``totals``, else the sums of ``counts``."""
        return dict(self.totals) or {split: int(sum(c)) for split, c in self.counts.items()}


@dataclass
class Split:
    images: np.ndarray  # uint8, (N, H, W, C)
    labels: np.ndarray  # int64, (N,)
    ids: np.ndarray | None = None  # source identifiers (file names, indices) for traceability
    groups: np.ndarray | None = None  # subject ids (lesion, patient) where the dataset has them

    def __post_init__(self):
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 NHWC, got {self.images.dtype} {self.images.shape}")
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if len(self.labels) != len(self.images):
            raise ValueError("images and labels differ in length")

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self, n_classes: int) -> list[int]:
        return np.bincount(self.labels, minlength=n_classes).tolist()

    def subset(self, index) -> "Split":
        index = np.asarray(index)
        return Split(self.images[index], self.labels[index], None if self.ids is None else self.ids[index],
                     None if self.groups is None else self.groups[index])


@dataclass
class Splits:
    train: Split
    val: Split
    test: Split
    info: DatasetInfo
    notes: dict = field(default_factory=dict)  # e.g. how val was carved, image size, cache key

    @property
    def image_size(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def channels(self) -> int:
        return int(self.train.images.shape[3])

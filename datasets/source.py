"""What a dataset loader provides, and the one load path they all share.

A loader is split into three cheap-to-test steps: ``catalog`` lists items and labels without
decoding pixels (so ``data info`` is instant), ``decode`` turns the catalog into pixels (the only
slow step, hence cached), and ``assign`` decides train/val/test (seeded, so it runs after the
cache and never invalidates it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from augbench.datasets.cache import cache_key, cache_path, fingerprint, load_cached, save_cached
from augbench.core.errors import DataError
from augbench.datasets.remote import RemoteFile
from augbench.datasets.images import resize_array
from augbench.datasets.paths import resolve_cache_dir, resolve_data_dir
from augbench.datasets.splitting import SPLIT_NAMES
from augbench.datasets.types import DatasetInfo, Split, Splits

RESIZE_NOTE = "squashed to square; PIL box filter when shrinking, bicubic when enlarging"


@dataclass
class Catalog:
    """Every item of a dataset in a fixed order, before any pixel is decoded."""

    labels: np.ndarray  # int64 (N,)
    ids: np.ndarray  # str (N,): file names or 'split/index' for array files
    split: np.ndarray | None = None  # official split name per item, when the dataset has one
    groups: np.ndarray | None = None  # e.g. lesion_id, for grouped splitting
    files: list = field(default_factory=list)  # source files whose stat fingerprints the cache
    paths: list = field(default_factory=list)  # per-item image files (file-per-image datasets)
    notes: dict = field(default_factory=dict)

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        self.ids = np.asarray(self.ids).astype(str)


class Source:
    """Base loader; subclasses set ``name``/``info`` and implement locate, catalog, decode, assign."""

    name: str = ""
    cache_name: str | None = None  # sources sharing pixels (fashion-mnist variants) share entries
    needs_data_dir = True  # False: loads without a data dir (synthetic, Fashion-MNIST, absolute folder paths)
    remote_files: tuple[RemoteFile, ...] = ()  # direct downloads with checksums, for fetch
    manual_download = ""  # what to download by hand when there is no direct file
    folder = ""  # its folder under the data dir, for messages

    # --- to implement -------------------------------------------------------------------------
    def info(self, data_dir=None) -> DatasetInfo:
        raise NotImplementedError

    def locate(self, data_dir=None) -> Path:
        """The dataset's folder (or file); a DataError naming the expected layout when absent."""
        raise NotImplementedError

    def catalog(self, root: Path) -> Catalog:
        raise NotImplementedError

    def decode(self, root: Path, catalog: Catalog, image_size: int | None) -> np.ndarray:
        raise NotImplementedError

    def assign(self, catalog: Catalog, seed: int) -> tuple[dict[str, np.ndarray], dict]:
        """Index arrays per split plus notes saying how the split was made."""
        return official_assign(catalog)

    # --- shared -------------------------------------------------------------------------------
    def cacheable(self, image_size: int | None) -> bool:
        return True

    def data_root(self, data_dir=None) -> Path:
        return resolve_data_dir(data_dir)

    def locate_sized(self, data_dir=None, image_size: int | None = None) -> tuple[Path, dict]:
        """What to load for ``image_size``, with notes saying why. Most datasets have one copy, so
        this is ``locate``; MedMNIST sets publish one file per size and take the nearest."""
        return self.locate(data_dir), {}

    def fetch_files(self, size: int | None = None) -> tuple[RemoteFile, ...]:
        """The files ``benchmark data fetch`` downloads (``size``: which native size, where there are several)."""
        if size is not None:
            raise DataError(f"{self.name} is published at one size only, so --size {size} does not apply.",
                            "drop --size (it picks a native file of a MedMNIST set: 28, 64, 128 or 224).")
        return tuple(self.remote_files)

    def load(self, data_dir=None, image_size=None, cache_dir=None, seed: int = 0) -> Splits:
        root, chosen = self.locate_sized(data_dir, image_size)
        catalog = self.catalog(root)
        catalog.notes.update(chosen)
        images, cache_file, cache_hit = self._cached_decode(root, catalog, image_size, cache_dir)
        parts, notes = self.assign(catalog, seed)
        splits = {
            name: Split(images[idx], catalog.labels[idx], catalog.ids[idx],
                        None if catalog.groups is None else np.asarray(catalog.groups).astype(str)[idx])
            for name, idx in parts.items()
        }
        notes = {
            **catalog.notes,
            **notes,
            "seed": seed,
            "image_size": image_size if image_size is not None else "native",
            "native_size": catalog.notes.get("native_size"),
            "resize": RESIZE_NOTE if image_size is not None else "none",
            "source": str(root),
            "cache": cache_file,  # the .npz the pixels came from / went to; None = not cached
            "cache_hit": cache_hit,
        }
        return Splits(splits["train"], splits["val"], splits["test"], self.info(data_dir), notes)

    def _cached_decode(self, root, catalog, image_size, cache_dir):
        if not self.cacheable(image_size):
            return self.decode(root, catalog, image_size), None, False
        key = cache_key(self.cache_name or self.name, fingerprint(catalog.files, root), image_size)
        path = cache_path(resolve_cache_dir(cache_dir), self.cache_name or self.name, image_size, key)
        images = load_cached(path, catalog.ids)
        if images is not None:
            return images, str(path), True
        images = self.decode(root, catalog, image_size)
        saved = save_cached(path, images, catalog.ids)
        return images, (str(saved) if saved else None), False

    def missing(self, what: str, where: Path, extra_fix: str = "") -> DataError:
        """The error for absent files: which file, where it goes, where to get it."""
        fix = f"place {what} under {where}"
        if self.remote_files:
            fix += (
                " (official download: " + "; ".join(f"{f.url} ({f.checksum_text()})" for f in self.remote_files)
                + f"; or run `benchmark data fetch {self.name}`)"
            )
        elif self.manual_download:
            fix += f" ({self.manual_download})"
        if extra_fix:
            fix += f"; {extra_fix}"
        return DataError(f"{self.name}: {what} not found in {where}.", fix + ".")


def official_assign(catalog: Catalog) -> tuple[dict[str, np.ndarray], dict]:
    parts = {name: np.flatnonzero(catalog.split == name) for name in SPLIT_NAMES}
    return parts, {"val_split": "official", "test_split": "official"}


def array_decode(images: np.ndarray, image_size: int | None) -> np.ndarray:
    """For array-file datasets: add the channel axis if absent, then resize."""
    if images.ndim == 3:
        images = images[..., None]
    return resize_array(np.ascontiguousarray(images, dtype=np.uint8), image_size)


def carved_val_assign(catalog: Catalog, seed: int, fraction: float = 0.1) -> tuple[dict[str, np.ndarray], dict]:
    """Official train/test, with a stratified ``fraction`` of train held out as val (seeded).

    When the catalog has subject ids (``groups``), whole subjects go to val or stay in train, so no
    patient is in both; the notes say which way it was carved.
    """
    from augbench.datasets.splitting import grouped_stratified_split, stratified_split

    train = np.flatnonzero(catalog.split == "train")
    if catalog.groups is not None:
        keep, val = grouped_stratified_split(catalog.labels[train], np.asarray(catalog.groups)[train],
                                             (1 - fraction, fraction), seed)
        how = f"stratified {round(fraction * 100)}% of train grouped by {catalog.notes.get('group_name', 'subject')}, seed {seed}"
    else:
        keep, val = stratified_split(catalog.labels[train], (1 - fraction, fraction), seed)
        how = f"stratified {round(fraction * 100)}% of train, seed {seed}"
    parts = {"train": train[keep], "val": train[val], "test": np.flatnonzero(catalog.split == "test")}
    return parts, {"val_split": how, "test_split": "official"}

"""Fashion-MNIST from IDX gzip files, plus the Improved BAGAN imbalanced profile.

Files come from Debian's `dataset-fashion-mnist` package (/usr/share/datasets/fashion-mnist) or
DATA_DIR/fashion-mnist (which wins when present, so a user can pin a copy). `fashion-mnist-imbalanced`
subsamples train to the per-class counts used by the Improved BAGAN paper, giving a cheap,
well-known imbalanced benchmark whose held-out test set stays balanced.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from augbench.datasets.registry import DATASETS
from augbench.core.errors import DataError
from augbench.datasets.paths import optional_data_dir
from augbench.datasets.remote import RemoteFile
from augbench.datasets.source import Catalog, Source, array_decode, carved_val_assign
from augbench.datasets.splitting import class_rng
from augbench.datasets.types import DatasetInfo

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
OFFICIAL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FILES = {  # role -> (file name, official md5)
    "train_images": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
}
CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
# Improved BAGAN (Huang & Jafari 2021) imbalanced Fashion-MNIST train counts, classes 0..9.
BAGAN_PROFILE = (4166, 73, 139, 210, 287, 370, 422, 387, 545, 651)


def _find(folder: Path, filename: str) -> Path | None:
    for candidate in (folder / filename, folder / filename.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (gzip or raw): magic 2049 = labels (N,), 2051 = images (N, H, W)."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path} ({exc}).", "replace it with an intact copy of the official file.") from None
    magic = int.from_bytes(data[:4], "big") if len(data) >= 8 else 0
    dims = {2049: 1, 2051: 3}.get(magic)
    if dims is None:
        raise DataError(f"{path} is not an IDX file (magic number {magic}).",
                        "replace it with the official Fashion-MNIST file of that name.")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated ({body.size} of {int(np.prod(shape))} bytes).",
                        "replace it with an intact copy of the official file.")
    return body.reshape(shape)


class FashionMNISTSource(Source):
    name = "fashion-mnist"
    cache_name = "fashion-mnist"
    needs_data_dir = False
    remote_files = tuple(RemoteFile(f"fashion-mnist/{f}", OFFICIAL + f, md5) for f, md5 in FILES.values())

    def info(self, data_dir=None) -> DatasetInfo:
        return DatasetInfo(
            self.name, "multi-class", CLASSES, 1,
            {"train": (6000,) * 10, "test": (1000,) * 10},
            "https://github.com/zalandoresearch/fashion-mnist (Debian package dataset-fashion-mnist)",
            "MIT",
            "Zalando article images, 28x28 gray; published counts are the official train/test sets "
            "(augbench holds out 10% of train as val).",
            tuple(f"fashion-mnist/{f}" for f, _ in FILES.values()),
        )

    def locate(self, data_dir=None) -> Path:
        base = optional_data_dir(data_dir)
        candidates = ([base / "fashion-mnist"] if base is not None else []) + [SYSTEM_DIR]
        for folder in candidates:
            if all(_find(folder, f) for f, _ in FILES.values()):
                return folder
        names = ", ".join(f for f, _ in FILES.values())
        where = candidates[0]
        raise self.missing(
            names, where,
            "or install Debian's package: apt-get install -y dataset-fashion-mnist "
            f"(it places them in {SYSTEM_DIR})",
        )

    def _path(self, root: Path, role: str) -> Path:
        return _find(root, FILES[role][0])

    def catalog(self, root: Path) -> Catalog:
        labels, ids, split = [], [], []
        for s in ("train", "test"):
            lab = read_idx(self._path(root, f"{s}_labels")).astype(np.int64)
            labels.append(lab)
            ids += [f"{s}/{i}" for i in range(len(lab))]
            split += [s] * len(lab)
        files = [self._path(root, role) for role in FILES]
        return Catalog(np.concatenate(labels), np.asarray(ids), np.asarray(split), files=files,
                       notes={"native_size": "28x28"})

    def decode(self, root: Path, catalog: Catalog, image_size) -> np.ndarray:
        parts = []
        for s in ("train", "test"):
            images = read_idx(self._path(root, f"{s}_images"))
            if images.ndim != 3 or len(images) != int(np.sum(catalog.split == s)):
                raise DataError(f"{self._path(root, f'{s}_images')} does not match its label file in length.",
                                "replace both with the official files.")
            parts.append(array_decode(images, image_size))
        return np.concatenate(parts)

    def cacheable(self, image_size) -> bool:
        return image_size is not None

    def assign(self, catalog: Catalog, seed: int):
        return carved_val_assign(catalog, seed, 0.1)


class ImbalancedFashionMNISTSource(FashionMNISTSource):
    name = "fashion-mnist-imbalanced"

    def info(self, data_dir=None) -> DatasetInfo:
        base = super().info(data_dir)
        return DatasetInfo(
            self.name, base.task, base.class_names, 1,
            {"train": BAGAN_PROFILE, "test": (1000,) * 10},
            base.source + "; imbalance profile from Improved BAGAN (Huang & Jafari, 2021)",
            base.licence,
            "Fashion-MNIST with train subsampled per class to the Improved BAGAN profile; val is 10% of the "
            "official train set (600 per class, held out before subsampling); test is the official test set.",
            base.files,
        )

    def assign(self, catalog: Catalog, seed: int):
        parts, notes = carved_val_assign(catalog, seed, 0.1)
        train = parts["train"]
        keep = []
        for label, n in enumerate(BAGAN_PROFILE):
            idx = train[catalog.labels[train] == label]
            keep.append(idx[class_rng(seed, label, salt=3).permutation(len(idx))[:n]])
        parts["train"] = np.sort(np.concatenate(keep))
        notes["train_subsample"] = f"Improved BAGAN profile {'/'.join(map(str, BAGAN_PROFILE))}, seed {seed}"
        return parts, notes


@DATASETS.register("fashion-mnist", order=40, summary="Fashion-MNIST 28 px, val carved from train")
def _fashion():
    return FashionMNISTSource()


@DATASETS.register("fashion-mnist-imbalanced", order=41, summary="Fashion-MNIST, Improved BAGAN imbalanced train")
def _fashion_imbalanced():
    return ImbalancedFashionMNISTSource()

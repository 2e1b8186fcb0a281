"""MedMNIST .npz files (PneumoniaMNIST, BreastMNIST, or any 2D single-label MedMNIST file).

The official train/val/test split inside the file is used as is, so results compare directly
with the MedMNIST v2 paper's tables.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from augbench.datasets.registry import DATASETS
from augbench.core.errors import DataError
from augbench.datasets.remote import RemoteFile
from augbench.datasets.source import Catalog, Source, array_decode
from augbench.datasets.splitting import SPLIT_NAMES
from augbench.datasets.types import DatasetInfo

ZENODO = "https://zenodo.org/records/10519652/files/{}?download=1"
HOME = "https://medmnist.com/ (MedMNIST v2, Zenodo record 10519652)"
LICENCE = "CC BY 4.0"

# Published per-class counts (MedMNIST v2) and official file checksums.
KNOWN = {
    "pneumoniamnist.npz": dict(
        title="PneumoniaMNIST",
        task="binary",
        class_names=("normal", "pneumonia"),
        channels=1,
        md5="28209eda62fecd6e6a2d98b1501bb15f",
        counts={"train": (1214, 3494), "val": (135, 389), "test": (234, 390)},
        description="Pediatric chest X-rays (Kermany), 28x28 gray, official MedMNIST split.",
    ),
    "breastmnist.npz": dict(
        title="BreastMNIST",
        task="binary",
        class_names=("malignant", "normal, benign"),
        channels=1,
        md5="750601b1f35ba3300ea97c75c52ff8f6",
        counts={"train": (147, 399), "val": (21, 57), "test": (42, 114)},
        description="Breast ultrasound, 28x28 gray, official MedMNIST split.",
    ),
}


class MedMNISTSource(Source):
    def __init__(self, name: str, filename: str):
        self.name = name
        self.filename = filename if filename.endswith(".npz") else filename + ".npz"
        self.known = KNOWN.get(Path(self.filename).name)
        if self.known and not Path(self.filename).is_absolute():
            self.remote_files = (RemoteFile(f"medmnist/{Path(self.filename).name}",
                                            ZENODO.format(Path(self.filename).name), self.known["md5"]),)
        self.manual_download = f"download {Path(self.filename).name} from {HOME}"

    def locate(self, data_dir=None) -> Path:
        path = Path(self.filename).expanduser()
        if not path.is_absolute():
            folder = self.data_root(data_dir) / "medmnist"
            path = folder / self.filename
        if not path.is_file():
            raise self.missing(path.name, path.parent)
        return path

    def _arrays(self, path: Path, keys) -> dict:
        try:
            with open(path, "rb") as fh:
                magic = fh.read(4)
        except OSError as exc:
            raise DataError(f"cannot read {path} ({exc.strerror}).", "check the path and its permissions.") from None
        if magic != b"PK\x03\x04":  # np.load would try anything else as a pickle and say so, confusingly
            raise DataError(f"{path} is not an .npz file (no zip header; {path.stat().st_size} bytes).",
                            "replace it with an intact copy of the official MedMNIST file "
                            "(`benchmark data fetch NAME` re-downloads the known ones), or fix the path.")
        try:
            with np.load(path, allow_pickle=False) as data:
                absent = [k for k in keys if k not in data.files]
                if absent:
                    raise DataError(
                        f"{path} is not a MedMNIST file: it lacks {', '.join(absent)}.",
                        "use an official MedMNIST .npz (keys train_images, train_labels, val_..., test_...).",
                    )
                return {k: data[k] for k in keys}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            # np.load sees a zip archive: garbage says BadZipFile, a truncated download EOFError or zlib.error
            raise DataError(f"cannot read {path}: not an intact .npz ({type(exc).__name__}: {exc}).",
                            "replace it with an intact copy of the official file (`benchmark data fetch NAME` "
                            "re-downloads the known ones), or fix the path.") from None

    def catalog(self, root: Path) -> Catalog:
        arrays = self._arrays(root, [f"{s}_labels" for s in SPLIT_NAMES])
        labels, ids, split = [], [], []
        for s in SPLIT_NAMES:
            lab = arrays[f"{s}_labels"]
            if lab.ndim == 2 and lab.shape[1] != 1:
                raise DataError(
                    f"{root} has multi-label labels of shape {lab.shape}; augbench handles one label per image.",
                    "use a multi-class MedMNIST file (e.g. pneumoniamnist, breastmnist, dermamnist).",
                )
            lab = lab.reshape(-1).astype(np.int64)
            labels.append(lab)
            ids.extend(f"{s}/{i}" for i in range(len(lab)))
            split.extend([s] * len(lab))
        return Catalog(np.concatenate(labels), np.asarray(ids), np.asarray(split), files=[root],
                       notes={"native_size": "28x28" if self.known else None})

    def decode(self, root: Path, catalog: Catalog, image_size) -> np.ndarray:
        arrays = self._arrays(root, [f"{s}_images" for s in SPLIT_NAMES])
        parts = []
        for s in SPLIT_NAMES:
            img = arrays[f"{s}_images"]
            if not (img.ndim == 3 or (img.ndim == 4 and img.shape[3] in (1, 3))):
                raise DataError(
                    f"{root} holds images of shape {img.shape}; augbench handles 2D gray or RGB images.",
                    "use a 2D MedMNIST file, not a 3D (volume) one.",
                )
            parts.append(array_decode(img, image_size))
        catalog.notes["native_size"] = f"{arrays['train_images'].shape[2]}x{arrays['train_images'].shape[1]}"
        return np.concatenate(parts)

    def cacheable(self, image_size) -> bool:
        return image_size is not None

    def info(self, data_dir=None) -> DatasetInfo:
        k = self.known
        if k:
            return DatasetInfo(self.name, k["task"], k["class_names"], k["channels"], k["counts"],
                               HOME, LICENCE, k["description"], (f"medmnist/{Path(self.filename).name}",))
        root = self.locate(data_dir)
        cat = self.catalog(root)
        n = int(cat.labels.max()) + 1 if len(cat.labels) else 0
        counts = {s: tuple(np.bincount(cat.labels[cat.split == s], minlength=n).tolist()) for s in SPLIT_NAMES}
        first = self._arrays(root, ["val_images"])["val_images"]
        channels = 3 if first.ndim == 4 and first.shape[3] == 3 else 1
        return DatasetInfo(self.name, "binary" if n == 2 else "multi-class", tuple(str(i) for i in range(n)),
                           channels, counts, HOME, LICENCE, f"MedMNIST file {root.name}", (str(root),))


@DATASETS.register("pneumonia", order=20, summary="PneumoniaMNIST 28 px, official split")
def _pneumonia():
    return MedMNISTSource("pneumonia", "pneumoniamnist.npz")


@DATASETS.register("breast", order=21, summary="BreastMNIST 28 px, official split")
def _breast():
    return MedMNISTSource("breast", "breastmnist.npz")


@DATASETS.register("medmnist", parametric=True, order=90, example="medmnist:dermamnist.npz",
                   summary="any 2D MedMNIST .npz (relative to DATA_DIR/medmnist or absolute)")
def _medmnist(arg: str):
    return MedMNISTSource(f"medmnist:{arg}", arg)

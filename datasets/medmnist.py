"""MedMNIST .npz files: the eleven 2D single-label sets by name, or any such file by path.

The official train/val/test split inside the file is used as is, so results compare directly
with the MedMNIST v2 paper's tables.

A named set (``pathmnist``, ``pneumonia``, ...) is published at 28, 64, 128 and 224 px
(datasets/medmnist_catalog.py). Loading picks the native file for the requested size: the
smallest native size at least as large, so pixels are shrunk (box filter) rather than invented by
enlarging. When that file is absent the nearest present one is used instead and the load's notes
say which; enlarging a smaller file is allowed (so a 28-px-only data dir still runs the 64-px
`paper` preset, as before) but carries a ``warning`` note, which the run header prints, naming the
``benchmark data fetch`` command that gets the native file.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from augbench.datasets.registry import DATASETS
from augbench.core.errors import DataError
from augbench.datasets.medmnist_catalog import CATALOG, HOME, NAMES, SIZES, MedMNISTSet
from augbench.datasets.remote import RemoteFile
from augbench.datasets.source import Catalog, Source, array_decode
from augbench.datasets.splitting import SPLIT_NAMES
from augbench.datasets.types import DatasetInfo

FOLDER = "medmnist"
# official splits known to share subjects, which the npz cannot show (it has no subject ids): said on
# every load, as `dermamnist` says it from HAM10000's lesion ids
SPLIT_WARNINGS = {
    "dermamnist": "the official DermaMNIST split shares lesions across splits (counted by the `dermamnist` "
                  "dataset from HAM10000's lesion ids: 348 of the 1003 val and 693 of the 2005 test images show "
                  "a lesion that is also in train); use --dataset isic for a lesion-grouped split",
}


def known_file(filename: str) -> tuple[MedMNISTSet, int] | None:
    """The catalogue set and native size an official file name stands for (None: not an official name)."""
    for entry in CATALOG.values():
        for size in SIZES:
            if entry.filename(size) == filename:
                return entry, size
    return None


def remote(entry: MedMNISTSet, size: int) -> RemoteFile:
    return RemoteFile(f"{FOLDER}/{entry.filename(size)}", entry.url(size), entry.md5[size])


def ideal_size(image_size: int | None) -> int:
    """The native size to load for ``image_size``: the smallest one not below it (shrink, never
    enlarge), the largest for anything above 224, and 28 for native (None) as before."""
    if image_size is None:
        return SIZES[0]
    return next((s for s in SIZES if s >= image_size), SIZES[-1])


def pick_size(image_size: int | None, present) -> int | None:
    """Of the native sizes ``present``, the one to load: the ideal one, else the smallest that
    still only shrinks, else the largest (to be enlarged); None when nothing is present."""
    present = sorted(present)
    if not present:
        return None
    ideal = ideal_size(image_size)
    if ideal in present:
        return ideal
    if image_size is None:
        return present[0]
    return next((s for s in present if s >= image_size), present[-1])


class MedMNISTSource(Source):
    """One MedMNIST .npz file (``medmnist:FILE``); an official file name brings its metadata and checksum."""

    folder = FOLDER

    def __init__(self, name: str, filename: str):
        self.name = name
        self.filename = filename if filename.endswith(".npz") else filename + ".npz"
        self.known = known_file(Path(self.filename).name)
        if self.known and not Path(self.filename).is_absolute():
            self.remote_files = (remote(*self.known),)
        self.manual_download = f"download {Path(self.filename).name} from {HOME}"

    def locate(self, data_dir=None) -> Path:
        path = Path(self.filename).expanduser()
        if not path.is_absolute():
            folder = self.data_root(data_dir) / FOLDER
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

    def _file_size(self, root: Path) -> int | None:
        """The native size an official file name promises (None for other names)."""
        known = known_file(root.name)
        return known[1] if known else None

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
        size = self._file_size(root)
        return Catalog(np.concatenate(labels), np.asarray(ids), np.asarray(split), files=[root],
                       notes={"native_size": f"{size}x{size}" if size else None})

    def decode(self, root: Path, catalog: Catalog, image_size) -> np.ndarray:
        arrays = self._arrays(root, [f"{s}_images" for s in SPLIT_NAMES])
        promised = self._file_size(root)
        parts = []
        for s in SPLIT_NAMES:
            img = arrays[f"{s}_images"]
            if not (img.ndim == 3 or (img.ndim == 4 and img.shape[3] in (1, 3))):
                raise DataError(
                    f"{root} holds images of shape {img.shape}; augbench handles 2D gray or RGB images.",
                    "use a 2D MedMNIST file, not a 3D (volume) one.",
                )
            if promised and img.shape[1:3] != (promised, promised):
                raise DataError(
                    f"{root} holds {img.shape[2]}x{img.shape[1]} images, but the official {root.name} is "
                    f"{promised}x{promised}, so it is not that file.",
                    "replace it with the official file (`benchmark data fetch NAME --size "
                    f"{promised}` downloads and md5-checks it).",
                )
            parts.append(array_decode(img, image_size))
        catalog.notes["native_size"] = f"{arrays['train_images'].shape[2]}x{arrays['train_images'].shape[1]}"
        return np.concatenate(parts)

    def cacheable(self, image_size) -> bool:
        return image_size is not None

    def info(self, data_dir=None) -> DatasetInfo:
        if self.known:
            entry, size = self.known
            return _set_info(self.name, entry, (f"{FOLDER}/{entry.filename(size)}",))
        root = self.locate(data_dir)
        cat = self.catalog(root)
        n = int(cat.labels.max()) + 1 if len(cat.labels) else 0
        counts = {s: tuple(np.bincount(cat.labels[cat.split == s], minlength=n).tolist()) for s in SPLIT_NAMES}
        first = self._arrays(root, ["val_images"])["val_images"]
        channels = 3 if first.ndim == 4 and first.shape[3] == 3 else 1
        return DatasetInfo(self.name, "binary" if n == 2 else "multi-class", tuple(str(i) for i in range(n)),
                           channels, counts, HOME, "CC BY 4.0", f"MedMNIST file {root.name}", (str(root),))


def _set_info(name: str, entry: MedMNISTSet, files: tuple[str, ...]) -> DatasetInfo:
    return DatasetInfo(name, entry.task, entry.class_names, entry.channels, dict(entry.counts), HOME,
                       entry.licence, f"{entry.title}: {entry.description}", files, dict(entry.totals))


class MedMNISTSetSource(MedMNISTSource):
    """A catalogue set by name: one official file per native size, the one to load chosen by size."""

    def __init__(self, name: str, flag: str):
        self.set = CATALOG[flag]
        super().__init__(name, self.set.filename(SIZES[0]))
        self.manual_download = f"download {self.set.title}'s files from {HOME}"

    def fetch_files(self, size: int | None = None) -> tuple[RemoteFile, ...]:
        size = SIZES[0] if size is None else int(size)
        if size not in SIZES:
            raise DataError(f"{self.set.title} has no native {size} px file.",
                            f"pass --size {' | '.join(map(str, SIZES))} (MedMNIST+ publishes these sizes).")
        return (remote(self.set, size),)

    def _present(self, folder: Path) -> list[int]:
        return [s for s in SIZES if (folder / self.set.filename(s)).is_file()]

    def _fetch_command(self, size: int, data_dir) -> str:
        return f"`benchmark data fetch {self.name} --size {size} --data-dir {self.data_root(data_dir)}`"

    def locate(self, data_dir=None) -> Path:
        return self.locate_sized(data_dir, None)[0]

    def locate_sized(self, data_dir=None, image_size: int | None = None) -> tuple[Path, dict]:
        folder = self.data_root(data_dir) / FOLDER
        present = self._present(folder)
        chosen = pick_size(image_size, present)
        ideal = ideal_size(image_size)
        if chosen is None:
            r = remote(self.set, ideal)
            looked = ", ".join(self.set.filename(s) for s in SIZES)
            raise DataError(
                f"{self.name}: no {self.set.title} file in {folder} (looked for {looked}).",
                f"run {self._fetch_command(ideal, data_dir)}, or download {r.url} ({r.checksum_text()}) "
                f"into {folder}.",
            )
        path = folder / self.set.filename(chosen)
        if image_size is None or image_size == chosen:
            how = "native, no resize"
        elif image_size < chosen:
            how = f"shrunk to {image_size} px"
        else:
            how = f"enlarged to {image_size} px (bicubic)"
        wanted = "native size" if image_size is None else f"{image_size} px"
        choice = f"{path.name} ({chosen} px) for {wanted}: {how}"
        fetch = self._fetch_command(ideal, data_dir)
        if chosen != ideal:
            choice += f"; {self.set.filename(ideal)}, the native {ideal} px file, is absent ({fetch} gets it)"
        notes = {"native_file": path.name, "native_choice": choice}
        if image_size is not None and image_size > chosen:
            notes["warning"] = (
                f"{image_size} px is above MedMNIST's largest native size, so {path.name}'s {chosen} px images are "
                "enlarged (bicubic), which adds no detail" if chosen == ideal else
                f"{self.set.filename(ideal)} (native {ideal} px) is absent, so {path.name}'s {chosen} px images are "
                f"enlarged to {image_size} px (bicubic), which adds no detail; {fetch} gets the native file")
        return path, notes

    def catalog(self, root: Path) -> Catalog:
        catalog = super().catalog(root)
        present = self._present(root.parent)
        catalog.notes["native_files"] = ", ".join(f"{self.set.filename(s)} ({s} px)" for s in present)
        return catalog

    def assign(self, catalog: Catalog, seed: int):
        parts, notes = super().assign(catalog, seed)
        known = SPLIT_WARNINGS.get(self.set.flag)
        if known:  # keeps a size warning from locate_sized (in catalog.notes), which this would override
            notes["warning"] = "; ".join(w for w in (catalog.notes.get("warning"), known) if w)
        return parts, notes

    def info(self, data_dir=None) -> DatasetInfo:
        return _set_info(self.name, self.set, tuple(f"{FOLDER}/{self.set.filename(s)}" for s in SIZES))


def _register(name: str, flag: str, order: float) -> None:
    entry = CATALOG[flag]
    summary = f"{entry.title}, {len(entry.class_names)} classes, 28/64/128/224 px, official split"
    if name == "dermamnist-npz":
        summary += " (MedMNIST's npz; `dermamnist` is the HAM10000 JPEGs)"
    DATASETS.register(name, order=order, summary=summary)(lambda: MedMNISTSetSource(name, flag))


for _i, (_name, _flag) in enumerate(NAMES.items()):
    _register(_name, _flag, 20 + _i / 100)  # listed together, after the HAM10000 sets, before chestxray


@DATASETS.register("medmnist", parametric=True, order=90, example="medmnist:dermamnist.npz",
                   summary="any 2D MedMNIST .npz (relative to DATA_DIR/medmnist or absolute)")
def _medmnist(arg: str):
    return MedMNISTSource(f"medmnist:{arg}", arg)

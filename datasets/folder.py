"""Any class-per-subfolder image tree (`folder:<path>`), so users can benchmark their own data.

There is no official split, so it is split 70/10/20 stratified per class (seeded). When several
images show one subject (patient, lesion), a ``subjects.csv`` at the tree's root with columns
``file,subject`` (``file`` relative to the root, e.g. ``mel/img01.jpg``) keeps each subject in one
split; without it the split notes say that none was given. Gray trees stay one channel; a tree
mixing gray and colour files is converted to RGB throughout.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from augbench.datasets.registry import DATASETS
from augbench.core.errors import DataError
from augbench.datasets.images import IMAGE_SUFFIXES, natural_mode, peek_size, read_images
from augbench.datasets.paths import optional_data_dir
from augbench.datasets.source import Catalog, Source
from augbench.datasets.splitting import describe_fractions, grouped_stratified_split, stratified_split
from augbench.datasets.types import DatasetInfo

FRACTIONS = (0.7, 0.1, 0.2)
SUBJECTS_FILE = "subjects.csv"


def _visible(name: str) -> bool:
    return not name.startswith((".", "_"))


def class_folders(root: Path) -> list[Path]:
    return sorted((p for p in root.iterdir() if p.is_dir() and _visible(p.name)), key=lambda p: p.name)


def image_files(folder: Path) -> list[Path]:
    """PNG/JPEG files under ``folder`` (recursively), sorted for a stable order."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if _visible(d)]
        found.extend(Path(dirpath) / f for f in filenames
                     if f.lower().endswith(IMAGE_SUFFIXES) and not f.startswith("."))
    return sorted(found)


def scan_class_tree(root: Path, classes) -> tuple[list[Path], list[int]]:
    """Files and labels for ``classes`` (subfolder names); a DataError naming any empty class folder."""
    paths: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        files = image_files(root / name)
        if not files:
            raise DataError(
                f"class folder {root / name} contains no PNG/JPEG images.",
                "add the class's images to it, or remove the folder if the class should not exist.",
            )
        paths.extend(files)
        labels.extend([label] * len(files))
    return paths, labels


class FolderSource(Source):
    needs_data_dir = False

    def __init__(self, arg: str):
        self.arg = arg
        self.name = f"folder:{arg}"

    def locate(self, data_dir=None) -> Path:
        path = Path(self.arg).expanduser()
        tried = [path.resolve()]
        if not path.is_absolute() and not path.is_dir():
            base = optional_data_dir(data_dir)
            if base is not None:
                tried.append(base / path)
                path = base / path
        if not path.is_dir():
            raise DataError(
                f"image folder {' or '.join(str(t) for t in tried)} does not exist.",
                "pass folder:/path/to/tree, where each subfolder holds the PNG/JPEG images of one class.",
            )
        root = path.resolve()
        self.cache_name = f"folder:{root}"
        folders = class_folders(root)
        if len(folders) < 2:
            raise DataError(
                f"{root} has {len(folders)} class subfolder(s); a folder dataset needs one subfolder per class "
                "(at least two).",
                f"arrange the images as {root}/<class name>/<image>.png, one subfolder per class.",
            )
        return root

    def catalog(self, root: Path) -> Catalog:
        classes = [p.name for p in class_folders(root)]
        paths, labels = scan_class_tree(root, classes)
        ids = [str(p.relative_to(root).as_posix()) for p in paths]
        groups, files = None, list(paths)
        subjects = root / SUBJECTS_FILE
        if subjects.is_file():
            from augbench.datasets.isic import read_csv

            table = {r["file"].strip(): r["subject"].strip() for r in read_csv(subjects, ("file", "subject"))}
            absent = [i for i in ids if i not in table]
            if absent:
                raise DataError(f"{subjects} names no subject for {len(absent)} image(s) ({', '.join(absent[:3])}).",
                                f"add a row file,subject for every image (file relative to {root}).")
            groups = np.asarray([table[i] for i in ids])
            files.append(subjects)
        return Catalog(np.asarray(labels), np.asarray(ids), groups=groups, files=files, paths=paths,
                       notes={"native_size": peek_size(paths[0])})

    def decode(self, root: Path, catalog: Catalog, image_size) -> np.ndarray:
        return read_images(catalog.paths, image_size, None)

    def assign(self, catalog: Catalog, seed: int):
        if catalog.groups is not None:
            parts = grouped_stratified_split(catalog.labels, catalog.groups, FRACTIONS, seed)
            how = f"stratified {describe_fractions(FRACTIONS)} train/val/test grouped by {SUBJECTS_FILE}, seed {seed}"
        else:
            parts = stratified_split(catalog.labels, FRACTIONS, seed)
            how = (f"stratified {describe_fractions(FRACTIONS)} train/val/test, seed {seed}; no {SUBJECTS_FILE}, "
                   "so images of one subject may sit in two splits")
        return dict(zip(("train", "val", "test"), parts)), {"val_split": how, "test_split": how}

    def info(self, data_dir=None) -> DatasetInfo:
        root = self.locate(data_dir)
        classes = tuple(p.name for p in class_folders(root))
        paths, _ = scan_class_tree(root, classes)
        channels = 1
        from PIL import Image

        for path in paths:  # header reads only; stop at the first colour file
            try:
                with Image.open(path) as image:
                    if natural_mode(image) == "RGB":
                        channels = 3
                        break
            except (OSError, SyntaxError, ValueError):
                continue
        return DatasetInfo(
            self.name, "binary" if len(classes) == 2 else "multi-class", classes, channels, {},
            str(root), "as set by the folder's owner",
            f"class-per-subfolder tree at {root}; augbench splits it {describe_fractions(FRACTIONS)} per class.",
            (str(root),),
        )


@DATASETS.register("folder", parametric=True, order=91, example="folder:/path/to/images",
                   summary="class-per-subfolder PNG/JPEG tree, split 70/10/20")
def _folder(arg: str):
    return FolderSource(arg)

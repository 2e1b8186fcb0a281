"""Dermoscopy: HAM10000 (ISIC 2018 task 3, as `isic`) and the ISIC 2019 training set (`isic2019`).

`isic` uses DermaMNIST's class order and splits 70/10/20 stratified and grouped by `lesion_id`:
HAM10000 has several photos of many lesions, and a lesion in train and test rewards the arms that
copy budget images for recognising photos they trained on. `dermamnist` is the official DermaMNIST
split and order (`dermamnist_split_info.csv`), kept so numbers compare with MedMNIST's tables; it
shares lesions across splits (693 of its 2005 test images), which its split notes count.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from augbench.datasets.registry import DATASETS
from augbench.core.errors import DataError
from augbench.datasets.images import peek_size, read_images
from augbench.datasets.source import Catalog, Source, official_assign
from augbench.datasets.splitting import describe_fractions, grouped_stratified_split, stratified_split
from augbench.datasets.types import DatasetInfo

FRACTIONS = (0.7, 0.1, 0.2)


def read_csv(path: Path, required: tuple[str, ...]) -> list[dict]:
    """Rows of a CSV, with a DataError naming the file when it lacks a required column."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(
                    f"{path} lacks the column(s) {', '.join(missing)} (found: {', '.join(reader.fieldnames or [])}).",
                    f"use the official file; it must have the columns {', '.join(required)}.",
                )
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path} ({exc}).", "replace it with an intact copy of the official file.") from None


def index_images(folders) -> dict[str, Path]:
    """Image stem -> path over several folders (HAM10000 ships in two 'part' folders)."""
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        with os.scandir(folder) as it:
            for entry in it:
                stem, ext = os.path.splitext(entry.name)
                if ext.lower() in (".jpg", ".jpeg", ".png") and not entry.name.startswith("."):
                    found.setdefault(stem, Path(entry.path))
    return found


def missing_images(names, where: str) -> DataError:
    names = list(names)
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return DataError(
        f"{len(names)} image(s) listed in the metadata are missing from {where} ({shown}).",
        f"place the missing .jpg files in {where} (the complete official image set).",
    )


def _grouped_or_plain(catalog: Catalog, seed: int, group_name: str, without: str = "") -> tuple[dict, dict]:
    """Grouped split when the catalog has subject ids; otherwise plain, and ``without`` says why not."""
    if catalog.groups is not None:
        parts = grouped_stratified_split(catalog.labels, catalog.groups, FRACTIONS, seed)
        how = f"stratified {describe_fractions(FRACTIONS)} train/val/test grouped by {group_name}, seed {seed}"
    else:
        parts = stratified_split(catalog.labels, FRACTIONS, seed)
        how = f"stratified {describe_fractions(FRACTIONS)} train/val/test, seed {seed}"
        how += f"; not grouped by {group_name} ({without or 'no subject ids'}), so a {group_name} may sit in two splits"
    return dict(zip(("train", "val", "test"), parts)), {"val_split": how, "test_split": how}


# --------------------------------------------------------------------------------------------- HAM10000
HAM_CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
HAM_IMAGE_DIRS = ("images", "HAM10000_images_part_1", "HAM10000_images_part_2")
HAM_METADATA = "HAM10000_metadata.csv"
HAM_SPLIT = "dermamnist_split_info.csv"


def subject_overlap(catalog: Catalog, parts: dict) -> dict:
    """Images of each later split whose subject also appears in an earlier one, e.g. ``train-test``."""
    if catalog.groups is None:
        return {}
    groups = np.asarray(catalog.groups).astype(str)
    out = {}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        seen = set(groups[parts[a]].tolist())
        out[f"{a}-{b}"] = int(sum(g in seen for g in groups[parts[b]].tolist()))
    return out


class HAM10000Source(Source):
    name = "isic"
    folder = "ham10000"
    official = False  # True: the DermaMNIST split file decides train/val/test (the `dermamnist` dataset)
    manual_download = (
        "HAM10000 from https://doi.org/10.7910/DVN/DBW86T: unzip the image parts into images/ "
        "and put HAM10000_metadata.csv beside it; dermamnist_split_info.csv (optional) gives the DermaMNIST split"
    )

    def info(self, data_dir=None) -> DatasetInfo:
        return DatasetInfo(
            self.name, "multi-class", HAM_CLASSES, 3,
            {"train": (228, 359, 769, 80, 779, 4693, 99), "val": (33, 52, 110, 12, 111, 671, 14),
             "test": (66, 103, 220, 23, 223, 1341, 29)},
            "https://doi.org/10.7910/DVN/DBW86T (HAM10000, ISIC 2018 task 3); split from MedMNIST DermaMNIST",
            "CC BY-NC 4.0",
            "10,015 dermoscopy images of 7 diagnoses; published counts are DermaMNIST's official split"
            + ("." if self.official else " (`isic` itself splits 70/10/20 grouped by lesion_id)."),
            ("ham10000/HAM10000_metadata.csv", "ham10000/images/ISIC_*.jpg", "ham10000/dermamnist_split_info.csv"),
        )

    def locate(self, data_dir=None) -> Path:
        root = self.data_root(data_dir) / "ham10000"
        if not (root / HAM_METADATA).is_file():
            raise self.missing(f"{HAM_METADATA} (and images/ISIC_*.jpg)", root)
        if not any((root / d).is_dir() for d in HAM_IMAGE_DIRS):
            raise self.missing("the images/ folder with ISIC_*.jpg", root)
        return root

    def catalog(self, root: Path) -> Catalog:
        meta = {r["image_id"]: r for r in read_csv(root / HAM_METADATA, ("lesion_id", "image_id", "dx"))}
        files = [root / HAM_METADATA]
        split_file = root / HAM_SPLIT
        if self.official and not split_file.is_file():
            raise DataError(f"dermamnist: {HAM_SPLIT} not found in {root}.",
                            f"place the official DermaMNIST {HAM_SPLIT} (columns split,index,image_id,dx,label) in "
                            f"{root}, or use --dataset isic (split grouped by lesion).")
        if self.official:
            rows = read_csv(split_file, ("split", "index", "image_id", "dx", "label"))
            files.append(split_file)
            ids = [r["image_id"] for r in rows]
            split = np.asarray([r["split"] for r in rows])
            labels = []
            for r in rows:
                if r["dx"] not in HAM_CLASSES or str(HAM_CLASSES.index(r["dx"])) != r["label"].strip():
                    raise DataError(
                        f"{split_file}: image {r['image_id']} has dx {r['dx']!r} with label {r['label']!r}, "
                        f"which does not match the DermaMNIST order {', '.join(HAM_CLASSES)}.",
                        "use the official dermamnist_split_info.csv or delete it to split by lesion instead.",
                    )
                labels.append(HAM_CLASSES.index(r["dx"]))
            bad = sorted(set(split.tolist()) - {"train", "val", "test"})
            if bad:
                raise DataError(f"{split_file} has unknown split name(s) {bad}.", "use train, val and test only.")
            notes = {"split_file": HAM_SPLIT}
        else:
            ids = list(meta)
            split = None
            for image_id, r in meta.items():
                if r["dx"] not in HAM_CLASSES:
                    raise DataError(f"{root / HAM_METADATA}: image {image_id} has unknown dx {r['dx']!r}.",
                                    f"dx must be one of {', '.join(HAM_CLASSES)}.")
            labels = [HAM_CLASSES.index(meta[i]["dx"]) for i in ids]
            notes = {"split_file": None}
        groups = np.asarray([meta[i]["lesion_id"] if i in meta else i for i in ids])
        found = index_images([root / d for d in HAM_IMAGE_DIRS])
        absent = [i for i in ids if i not in found]
        if absent:
            raise missing_images(absent, str(root / "images"))
        paths = [found[i] for i in ids]
        notes["native_size"] = peek_size(paths[0]) if paths else None
        return Catalog(np.asarray(labels), np.asarray(ids), split, groups, files + paths, paths, notes)

    def assign(self, catalog: Catalog, seed: int):
        if catalog.split is not None:
            parts, notes = official_assign(catalog)
            overlap = subject_overlap(catalog, parts)
            shared = ", ".join(f"{k} {v}" for k, v in overlap.items())
            return parts, {"val_split": "official (DermaMNIST dermamnist_split_info.csv)",
                           "test_split": "official (DermaMNIST dermamnist_split_info.csv)",
                           "subject_overlap": overlap,
                           "warning": f"the official DermaMNIST split shares lesions across splits (images whose "
                                      f"lesion_id is in an earlier split: {shared}); use --dataset isic for a "
                                      "lesion-grouped split"}
        return _grouped_or_plain(catalog, seed, "lesion_id")

    def decode(self, root: Path, catalog: Catalog, image_size) -> np.ndarray:
        return read_images(catalog.paths, image_size, "RGB")


# --------------------------------------------------------------------------------------------- ISIC 2019
ISIC19_COLUMNS = ("MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK")
ISIC19_CLASSES = ("mel", "nv", "bcc", "ak", "bkl", "df", "vasc", "scc")
ISIC19_GT = "ISIC_2019_Training_GroundTruth.csv"
ISIC19_IMAGES = "ISIC_2019_Training_Input"
ISIC19_META = "ISIC_2019_Training_Metadata.csv"


class ISIC2019Source(Source):
    """ISIC 2019 training set; UNK has no training images by design (it marks test-time outliers),
    so it is not a class here: rows labelled UNK, if any, are skipped and counted in the notes."""

    name = "isic2019"
    folder = "isic2019"
    manual_download = (
        "ISIC 2019 training data from https://challenge.isic-archive.com/data/#2019: unzip "
        f"{ISIC19_IMAGES}.zip here and put {ISIC19_GT} (and optionally {ISIC19_META}) beside it"
    )

    def info(self, data_dir=None) -> DatasetInfo:
        return DatasetInfo(
            "isic2019", "multi-class", ISIC19_CLASSES, 3,
            {"train": (4522, 12875, 3323, 867, 2624, 239, 253, 628)},
            "https://challenge.isic-archive.com/data/#2019 (ISIC 2019 training set)",
            "CC BY-NC 4.0",
            "25,331 dermoscopy images of 8 diagnoses (published counts are the whole official training "
            "set; augbench splits it 70/10/20, grouped by lesion_id when the metadata file is present). "
            "UNK has no training images and is not a class.",
            (f"isic2019/{ISIC19_GT}", f"isic2019/{ISIC19_IMAGES}/*.jpg", f"isic2019/{ISIC19_META}"),
        )

    def locate(self, data_dir=None) -> Path:
        root = self.data_root(data_dir) / "isic2019"
        if not (root / ISIC19_GT).is_file():
            raise self.missing(f"{ISIC19_GT} (and {ISIC19_IMAGES}/*.jpg)", root)
        if not (root / ISIC19_IMAGES).is_dir():
            raise self.missing(f"the {ISIC19_IMAGES}/ folder with ISIC_*.jpg", root)
        return root

    def catalog(self, root: Path) -> Catalog:
        gt = root / ISIC19_GT
        rows = read_csv(gt, ("image",) + ISIC19_COLUMNS)
        ids, labels, skipped = [], [], 0
        for line, r in enumerate(rows, start=2):
            try:
                hot = [float(r[c]) for c in ISIC19_COLUMNS]
            except (TypeError, ValueError):
                raise DataError(f"{gt} line {line} ({r.get('image')}): class columns must be 0 or 1.",
                                "use the official ground-truth file.") from None
            ones = [i for i, v in enumerate(hot) if v >= 0.5]
            if len(ones) != 1:
                raise DataError(
                    f"{gt} line {line} ({r['image']}) marks {len(ones)} classes; each image needs exactly one.",
                    "use the official ground-truth file (one-hot rows).",
                )
            if ISIC19_COLUMNS[ones[0]] == "UNK":
                skipped += 1
                continue
            ids.append(r["image"])
            labels.append(ones[0])
        files = [gt]
        groups = None
        meta_file = root / ISIC19_META
        if meta_file.is_file():
            meta = {m["image"]: m.get("lesion_id") or "" for m in read_csv(meta_file, ("image", "lesion_id"))}
            groups = np.asarray([meta.get(i) or i for i in ids])
            files.append(meta_file)
        found = index_images([root / ISIC19_IMAGES])
        absent = [i for i in ids if i not in found]
        if absent:
            raise missing_images(absent, str(root / ISIC19_IMAGES))
        paths = [found[i] for i in ids]
        return Catalog(np.asarray(labels, dtype=np.int64), np.asarray(ids), None, groups, files + paths, paths,
                       {"skipped_unk_rows": skipped, "native_size": peek_size(paths[0]) if paths else None})

    def assign(self, catalog: Catalog, seed: int):
        return _grouped_or_plain(catalog, seed, "lesion_id", f"no {ISIC19_META}")

    def decode(self, root: Path, catalog: Catalog, image_size) -> np.ndarray:
        # ISIC 2019 mixes sizes (600x450 up to 1024x1024), so native size only works on uniform copies.
        return read_images(catalog.paths, image_size, "RGB")


class DermaMNISTSource(HAM10000Source):
    """The same files under the official DermaMNIST split (for the MedMNIST reproductions)."""

    name = "dermamnist"
    # its own cache entries: the split file orders (and fingerprints) the images differently, and one
    # shared name would make each dataset's entry evict the other's (datasets.cache drops stale entries)
    cache_name = "dermamnist"
    official = True


@DATASETS.register("isic", order=10, summary="HAM10000 / ISIC 2018 task 3, 7 classes, split 70/10/20 grouped by lesion")
def _isic():
    return HAM10000Source()


@DATASETS.register("dermamnist", order=12,
                   summary="HAM10000 with the official DermaMNIST split (shares lesions across splits)")
def _dermamnist():
    return DermaMNISTSource()


@DATASETS.register("isic2019", order=11, summary="ISIC 2019 training set, 8 classes, split 70/10/20")
def _isic2019():
    return ISIC2019Source()

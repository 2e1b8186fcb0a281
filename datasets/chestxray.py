"""Kermany pediatric chest X-rays (Mendeley v2): `chest_xray/{train,test}/{NORMAL,PNEUMONIA}`.

The release has no usable validation folder, so 10% of train is held out per class (seeded),
grouped by patient: a patient's X-rays go to val or stay in train, never both. The patient id is
read from the file name (``patient_id``): ``person1000_bacteria_2931`` -> ``person1000``;
``IM-0115-0001`` -> ``IM-0115`` and ``NORMAL2-IM-1427-0001`` -> ``NORMAL2-IM-1427``: the number
after ``IM-`` is the patient, the numbers after it count the patient's images, including the
extra views such as ``IM-0439-0001-0002`` (patient ``IM-0439``, beside ``IM-0439-0001``). The
official test folder reuses 170 training patient ids by that rule (e.g. ``person100``; 320 of
its 390 pneumonia images); whether they are the same children cannot be told from the files, so
the training images of those ids (457, all pneumonia) are left out: the published test folder
stays whole and no patient id is in two splits.
The files are gray pictures stored as RGB JPEGs; they are decoded as one gray channel, as
PneumoniaMNIST is, which also lets JPEG decoding skip the colour planes.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from augbench.datasets.registry import DATASETS
from augbench.datasets.folder import scan_class_tree
from augbench.datasets.images import peek_size, read_images
from augbench.datasets.source import Catalog, Source, carved_val_assign
from augbench.datasets.types import DatasetInfo

CLASSES = ("NORMAL", "PNEUMONIA")
_PERSON = re.compile(r"^(person\d+)_")
_IM_PATIENT = re.compile(r"^((?:NORMAL2-)?IM-\d+)-")


def patient_id(file_name: str) -> str:
    """The patient a Kermany file belongs to, from its name (see the module docstring)."""
    stem = Path(file_name).stem
    match = _PERSON.match(stem)
    if match:
        return match.group(1)
    match = _IM_PATIENT.match(stem)
    return match.group(1) if match else stem  # an unknown naming: each file is its own patient


class ChestXRaySource(Source):
    name = "chestxray"
    folder = "chest_xray"
    manual_download = (
        "download ChestXRay2017.zip from https://data.mendeley.com/datasets/rscbjbr9sj/2 and unzip it so that "
        "chest_xray/train/NORMAL/*.jpeg etc. exist"
    )

    def info(self, data_dir=None) -> DatasetInfo:
        return DatasetInfo(
            "chestxray", "binary", ("normal", "pneumonia"), 1,
            {"train": (1341, 3875), "test": (234, 390)},
            "https://data.mendeley.com/datasets/rscbjbr9sj/2 (Kermany et al. 2018, v2)",
            "CC BY 4.0",
            "Pediatric chest X-rays; published counts are the official train/test folders "
            "(augbench holds out 10% of train as val, grouped by patient).",
            tuple(f"chest_xray/{s}/{c}/*.jpeg" for s in ("train", "test") for c in CLASSES),
        )

    def locate(self, data_dir=None) -> Path:
        root = self.data_root(data_dir) / "chest_xray"
        absent = [f"{s}/{c}" for s in ("train", "test") for c in CLASSES if not (root / s / c).is_dir()]
        if absent:
            raise self.missing(f"the folder(s) {', '.join(absent)}", root,
                               "the layout is chest_xray/{train,test}/{NORMAL,PNEUMONIA}/*.jpeg")
        return root

    def catalog(self, root: Path) -> Catalog:
        paths, labels, split = [], [], []
        for s in ("train", "test"):
            p, lab = scan_class_tree(root / s, CLASSES)
            paths += p
            labels += lab
            split += [s] * len(p)
        ids = [str(p.relative_to(root)) for p in paths]
        groups = np.asarray([patient_id(p.name) for p in paths])
        return Catalog(np.asarray(labels), np.asarray(ids), np.asarray(split), groups, files=paths, paths=paths,
                       notes={"native_size": peek_size(paths[0]), "group_name": "patient id"})

    def assign(self, catalog: Catalog, seed: int):
        test_patients = set(np.asarray(catalog.groups)[catalog.split == "test"].tolist())
        clash = (catalog.split == "train") & np.isin(catalog.groups, list(test_patients))
        trimmed = Catalog(catalog.labels, catalog.ids, np.where(clash, "dropped", catalog.split), catalog.groups,
                          notes=catalog.notes)
        parts, notes = carved_val_assign(trimmed, seed, 0.1)
        notes["dropped_train_images"] = int(clash.sum())
        notes["train_split"] = (f"official train folder minus {int(clash.sum())} image(s) whose patient id is also in "
                                "the official test folder")
        return parts, notes

    def decode(self, root: Path, catalog: Catalog, image_size) -> np.ndarray:
        return read_images(catalog.paths, image_size, "L")


@DATASETS.register("chestxray", order=30, summary="Kermany chest X-rays (224 px gray), val carved from train")
def _chestxray():
    return ChestXRaySource()

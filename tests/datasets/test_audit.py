"""The split audit: shared subjects, exact and near duplicates, on hand-built and real images."""
from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from augbench import datasets
from augbench.datasets.audit import NEAR_THRESHOLD, audit_splits, nearest, pixel_vectors
from augbench.datasets.types import DatasetInfo, Split, Splits

INFO = DatasetInfo("toy", "binary", ("a", "b"), 1, {}, "", "")


def _random_images(n, seed):
    rng = np.random.default_rng(seed)
    # smooth random blobs, so a brightness shift keeps the picture while other images differ
    base = rng.integers(0, 255, (n, 4, 4, 1)).astype(np.float32)
    return np.kron(base, np.ones((1, 8, 8, 1))).astype(np.uint8)


def _split(images, labels, prefix, groups=None):
    return Split(images, np.asarray(labels), np.asarray([f"{prefix}{i}" for i in range(len(images))]),
                 None if groups is None else np.asarray(groups))


def test_planted_copies_are_found_and_unrelated_images_are_not():
    train = _random_images(20, 0)
    test = _random_images(6, 1)
    test[0] = train[3]  # exact copy
    test[1] = np.clip(train[7].astype(int) + 6, 0, 255).astype(np.uint8)  # re-exposed copy
    splits = Splits(_split(train, np.arange(20) % 2, "tr"), _split(_random_images(4, 2), [0, 1, 0, 1], "va"),
                    _split(test, [1, 0, 0, 0, 1, 1], "te"), INFO)
    report = audit_splits(splits)
    totals = report.totals("train-test")
    assert totals["exact_dup"] == 1 and totals["near_dup"] == 1
    row_b = next(r for r in report.rows if r.pair == "train-test" and r.label == 1)
    assert row_b.exact == 1 and any("te0 = tr3" in e for e in row_b.examples)
    assert report.totals("train-val") == {"shared_subjects": 0, "exact_dup": 0, "near_dup": 0}
    assert report.any_shared and "exact dup" in report.warning()
    assert report.summary()["audit_exact_dup_train_test"] == 1


def test_shared_subjects_are_counted_per_class():
    imgs = _random_images(10, 3)
    splits = Splits(_split(imgs[:6], [0, 0, 1, 1, 0, 1], "tr", ["p1", "p1", "p2", "p3", "p4", "p5"]),
                    _split(imgs[6:8], [0, 1], "va", ["p9", "p2"]),
                    _split(imgs[8:], [0, 1], "te", ["p1", "p8"]), INFO)
    report = audit_splits(splits)
    by = {(r.pair, r.label): r.shared_subjects for r in report.rows}
    assert by[("train-val", 1)] == 1 and by[("train-val", 0)] == 0
    assert by[("train-test", 0)] == 1 and by[("train-test", 1)] == 0


def test_a_planted_copy_of_a_real_training_image_is_caught(tmp_path, data_dir):
    """A folder: tree of real HAM10000 photos with one photo duplicated under another name."""
    images = sorted((data_dir / "ham10000" / "images").glob("ISIC_*.jpg"))[:60]
    root = tmp_path / "tree"
    for c, chunk in (("a", images[:30]), ("b", images[30:])):
        (root / c).mkdir(parents=True)
        for path in chunk:
            shutil.copy(path, root / c / path.name)
    # the same photo 20 times in class a: wherever the seeded split puts them, copies straddle splits
    for k in range(20):
        shutil.copy(images[0], root / "a" / f"copy{k}.jpg")
    # and 20 re-saved versions of another photo (JPEG quality 60-98, brightened): same picture, new bytes
    with Image.open(images[1]) as im:
        photo = im.convert("RGB")
    for k in range(20):
        ImageEnhance.Brightness(photo).enhance(1 + k / 100).save(root / "b" / f"resaved{k}.jpg", quality=60 + 2 * k)
    splits = datasets.load_dataset(f"folder:{root}", image_size=28, cache_dir=tmp_path / "cache")
    report = audit_splits(splits)
    pairs = ("train-val", "train-test", "val-test")
    assert sum(report.totals(p)["exact_dup"] for p in pairs) >= 1
    assert not report.has_subjects and "no subject ids" in report.lines()[1]
    near_rows = [r for r in report.rows if r.near]
    assert near_rows and all(report.class_names[r.label] == "b" for r in near_rows)
    assert any("resaved" in e for r in near_rows for e in r.examples if e.startswith("near"))


def test_near_duplicates_on_real_photos_are_one_lesion(ham28, data_dir, cache_dir):
    """dermamnist's near pairs (train vs test) must be photos of one lesion by the real metadata, and the
    lesion-grouped isic split must have none: the threshold finds re-shot lesions, not look-alikes."""
    with open(data_dir / "ham10000" / "HAM10000_metadata.csv", newline="") as fh:
        lesion = {r["image_id"]: r["lesion_id"] for r in csv.DictReader(fh)}
    corr, where = nearest(pixel_vectors(ham28.test.images), pixel_vectors(ham28.train.images))
    found = np.flatnonzero(corr >= NEAR_THRESHOLD)
    assert len(found) >= 5
    assert all(lesion[ham28.test.ids[j]] == lesion[ham28.train.ids[where[j]]] for j in found)
    isic = datasets.load_dataset("isic", data_dir=data_dir, image_size=28, cache_dir=cache_dir)
    assert not audit_splits(isic).any_shared


def test_cli_audit_reports_the_official_dermamnist_overlap(capsys, data_dir):
    from augbench.benchmark.cli import main

    if not (data_dir / "ham10000" / "dermamnist_split_info.csv").is_file():
        pytest.skip("dermamnist_split_info.csv not present")
    assert main(["data", "audit", "isic", "--split", "official", "--data-dir", str(data_dir)]) == 0
    captured = capsys.readouterr()
    # the warning goes to stderr, the table to stdout; 693: counted from the CSVs in test_isic.py
    assert "warning:" in captured.err and "test vs train: 693 shared subjects" in captured.err
    assert "warning:" not in captured.out
    assert main(["data", "audit", "isic", "--data-dir", str(data_dir)]) == 0
    captured = capsys.readouterr()
    assert "warning:" not in captured.out + captured.err and "| (none) |" in captured.out  # lesion-grouped: clean

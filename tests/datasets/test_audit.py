"""The split audit: shared subjects, exact and near duplicates, on hand-built and real images."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import datasets
from datasets.audit import audit_splits
from datasets.types import DatasetInfo, Split, Splits

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
    splits = datasets.load_dataset(f"folder:{root}", image_size=28, cache_dir=tmp_path / "cache")
    report = audit_splits(splits)
    assert sum(report.totals(p)["exact_dup"] for p in ("train-val", "train-test", "val-test")) >= 1
    assert not report.has_subjects and "no subject ids" in report.lines()[1]


def test_cli_audit_reports_the_official_dermamnist_overlap(capsys, data_dir):
    from benchmark.cli import main

    if not (data_dir / "ham10000" / "dermamnist_split_info.csv").is_file():
        pytest.skip("dermamnist_split_info.csv not present")
    assert main(["data", "audit", "isic", "--split", "official", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "test vs train: 693 shared subjects" in out  # 693: counted from the CSVs in test_isic.py
    assert main(["data", "audit", "isic", "--data-dir", str(data_dir)]) == 0
    assert "shared subjects" not in capsys.readouterr().out.split("warning:")[-1]

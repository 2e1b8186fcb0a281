"""`folder:<path>` trees: real chest X-ray files, plus small trees written per test."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from augbench import datasets
from augbench.datasets import DataError


def write_tree(root, spec, size=(20, 20)):
    """spec: {class: [mode, ...]} -> one image per mode, pixel value encodes the class."""
    for k, (name, modes) in enumerate(spec.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i, mode in enumerate(modes):
            value = 40 + 50 * k
            if mode == "L":
                img = Image.new("L", size, value)
            else:
                img = Image.new("RGB", size, (value, 255 - value, 7))
            img.save(root / name / f"img{i:03d}.png")
    return root


def test_real_tree_counts_and_split(data_dir, cache_dir):
    s = datasets.load_dataset(f"folder:{data_dir / 'chest_xray' / 'test'}", image_size=16, cache_dir=cache_dir)
    assert s.info.class_names == ("NORMAL", "PNEUMONIA")
    total = [a + b + c for a, b, c in zip(s.train.counts(2), s.val.counts(2), s.test.counts(2))]
    assert total == [234, 390]  # README: chest_xray/test counts
    for c, n in enumerate(total):
        assert abs(s.train.counts(2)[c] - 0.7 * n) <= 1 and abs(s.test.counts(2)[c] - 0.2 * n) <= 1
    assert s.notes["val_split"].startswith("stratified 70/10/20 train/val/test, seed 0; no subjects.csv")


def test_relative_path_resolves_against_data_dir(data_dir):
    d = datasets.describe_dataset("folder:chest_xray/test", data_dir=data_dir)
    assert sum(d["totals"].values()) == 624


def test_gray_tree_stays_one_channel(tmp_path):
    tree = write_tree(tmp_path / "tree", {"a": ["L"] * 10, "b": ["L"] * 10})
    s = datasets.load_dataset(f"folder:{tree}", cache_dir=tmp_path / "cache")
    assert s.channels == 1 and s.image_size == 20
    assert datasets.dataset_info(f"folder:{tree}").channels == 1
    assert s.train.counts(2) == [7, 7] and s.val.counts(2) == [1, 1] and s.test.counts(2) == [2, 2]
    assert (s.train.images[s.train.labels == 0] == 40).all() and (s.train.images[s.train.labels == 1] == 90).all()


def test_mixed_gray_and_colour_becomes_rgb(tmp_path):
    tree = write_tree(tmp_path / "tree", {"a": ["L"] * 5, "b": ["RGB"] * 5})
    s = datasets.load_dataset(f"folder:{tree}", image_size=8, cache_dir=tmp_path / "cache")
    assert s.channels == 3
    gray = np.concatenate([x.images[x.labels == 0] for x in (s.train, s.val, s.test)])
    assert (gray == 40).all(), "gray images are replicated into all three channels"
    assert datasets.dataset_info(f"folder:{tree}").channels == 3


def test_empty_class_folder_is_named(tmp_path):
    tree = write_tree(tmp_path / "tree", {"a": ["L"] * 3})
    (tree / "empty_class").mkdir()
    with pytest.raises(DataError) as err:
        datasets.load_dataset(f"folder:{tree}")
    assert "empty_class" in str(err.value)


def test_corrupt_image_is_named_with_the_fix(tmp_path):
    tree = write_tree(tmp_path / "tree", {"a": ["L"] * 3, "b": ["L"] * 3})
    (tree / "b" / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError) as err:
        datasets.load_dataset(f"folder:{tree}", image_size=8, cache_dir=tmp_path / "cache")
    assert "broken.png" in str(err.value) and "delete" in err.value.fix


def test_truncated_jpeg_is_named(tmp_path):
    tree = write_tree(tmp_path / "tree", {"a": ["RGB"] * 3, "b": ["RGB"] * 3})
    Image.new("RGB", (64, 64), (200, 10, 10)).save(tree / "a" / "cut.jpg", quality=90)
    data = (tree / "a" / "cut.jpg").read_bytes()
    (tree / "a" / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError) as err:
        datasets.load_dataset(f"folder:{tree}", image_size=8, cache_dir=tmp_path / "cache")
    assert "cut.jpg" in str(err.value)


def test_single_class_is_refused(tmp_path):
    tree = write_tree(tmp_path / "tree", {"only": ["L"] * 3})
    with pytest.raises(DataError) as err:
        datasets.load_dataset(f"folder:{tree}")
    assert "one subfolder per class" in str(err.value)


def test_nonexistent_folder_is_named(tmp_path):
    with pytest.raises(DataError) as err:
        datasets.load_dataset(f"folder:{tmp_path / 'missing'}")
    assert "missing" in str(err.value)


def test_differing_sizes_need_an_image_size(tmp_path):
    tree = write_tree(tmp_path / "tree", {"a": ["L"] * 3, "b": ["L"] * 3})
    Image.new("L", (30, 10), 5).save(tree / "b" / "wide.png")
    with pytest.raises(DataError) as err:
        datasets.load_dataset(f"folder:{tree}", cache_dir=tmp_path / "cache")
    assert "--image-size" in err.value.fix
    s = datasets.load_dataset(f"folder:{tree}", image_size=12, cache_dir=tmp_path / "cache")
    assert s.train.images.shape[1:] == (12, 12, 1)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    tree = write_tree(tmp_path / "tree", {"a": ["L"] * 3})
    (tree / "b").mkdir()
    for i in range(3):
        Image.fromarray(np.full((20, 20), 40000, dtype=np.uint16)).save(tree / "b" / f"deep{i}.png")
    s = datasets.load_dataset(f"folder:{tree}", cache_dir=tmp_path / "cache")
    deep = np.concatenate([x.images[x.labels == 1] for x in (s.train, s.val, s.test)])
    assert s.channels == 1 and abs(int(deep.mean()) - round(40000 / 257)) <= 1


def test_subjects_csv_keeps_each_subject_in_one_split(tmp_path):
    import csv as _csv

    from PIL import Image

    root = tmp_path / "tree"
    rows = []
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(30):
            Image.fromarray(np.full((8, 8), 8 * i, np.uint8)).save(root / c / f"{i}.png")
            rows.append({"file": f"{c}/{i}.png", "subject": f"{c}-s{i // 3}"})  # 3 images per subject
    with open(root / "subjects.csv", "w", newline="") as fh:
        w = _csv.DictWriter(fh, ["file", "subject"])
        w.writeheader()
        w.writerows(rows)
    subject = {r["file"]: r["subject"] for r in rows}
    s = datasets.load_dataset(f"folder:{root}", image_size=None, cache_dir=tmp_path / "cache")
    where = {}
    for name in ("train", "val", "test"):
        for i in getattr(s, name).ids:
            where.setdefault(subject[i], set()).add(name)
    assert len(where) == 20 and all(len(v) == 1 for v in where.values())
    assert "grouped by subjects.csv" in s.notes["val_split"]

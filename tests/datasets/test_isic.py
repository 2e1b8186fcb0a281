"""HAM10000 (`isic`) on the real files, and ISIC 2019 on a small fixture written in its format."""
from __future__ import annotations

import csv
from collections import defaultdict

import numpy as np
import pytest
from PIL import Image

from augbench import datasets
from augbench.datasets import DataError

# Expected values from /work/shared/data/README.md (DermaMNIST official split).
HAM_COUNTS = {
    "train": [228, 359, 769, 80, 779, 4693, 99],
    "val": [33, 52, 110, 12, 111, 671, 14],
    "test": [66, 103, 220, 23, 223, 1341, 29],
}


def test_dermamnist_counts_match_published_dermamnist_split(ham28):
    for split in ("train", "val", "test"):
        assert getattr(ham28, split).counts(7) == HAM_COUNTS[split], split
    assert ham28.info.class_names == ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
    assert ham28.notes["val_split"].startswith("official")


def test_ham10000_images_are_resized_rgb(ham28):
    assert ham28.train.images.shape == (7007, 28, 28, 3)
    assert ham28.train.images.dtype == np.uint8
    assert ham28.image_size == 28 and ham28.channels == 3
    # dermoscopy: skin tones, so red dominates blue on average
    assert ham28.train.images[..., 0].mean() > ham28.train.images[..., 2].mean()


def test_ham10000_keeps_the_split_files_order_and_labels(ham28, data_dir):
    with open(data_dir / "ham10000" / "dermamnist_split_info.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "val"]
    assert list(ham28.val.ids) == [r["image_id"] for r in rows]
    assert ham28.val.labels.tolist() == [int(r["label"]) for r in rows]


def test_ham10000_second_load_comes_from_cache(ham28, data_dir, cache_dir):
    again = datasets.load_dataset("dermamnist", data_dir=data_dir, image_size=28, cache_dir=cache_dir)
    assert again.notes["cache_hit"] is True
    assert np.array_equal(again.test.images, ham28.test.images)


def test_ham10000_pixels_match_a_direct_decode(ham28, data_dir):
    image_id = ham28.test.ids[5]
    with Image.open(data_dir / "ham10000" / "images" / f"{image_id}.jpg") as im:
        direct = np.asarray(im.convert("RGB").resize((28, 28), Image.Resampling.BOX), dtype=np.float32)
    # draft decoding differs slightly from a full decode; it must be the same picture
    assert np.abs(ham28.test.images[5].astype(np.float32) - direct).mean() < 6


@pytest.fixture(scope="module")
def ham_without_split_file(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("ham-nosplit")
    (root / "ham10000").mkdir()
    (root / "ham10000" / "images").symlink_to(data_dir / "ham10000" / "images")
    (root / "ham10000" / "HAM10000_metadata.csv").symlink_to(data_dir / "ham10000" / "HAM10000_metadata.csv")
    return root


def test_without_split_file_no_lesion_is_in_two_splits(ham_without_split_file, data_dir):
    with open(data_dir / "ham10000" / "HAM10000_metadata.csv", newline="") as fh:
        lesion = {r["image_id"]: r["lesion_id"] for r in csv.DictReader(fh)}
    source = datasets.DATASETS.create("isic")
    root = source.locate(ham_without_split_file)
    catalog = source.catalog(root)
    parts, notes = source.assign(catalog, seed=0)
    seen = defaultdict(set)
    for split, idx in parts.items():
        for image_id in catalog.ids[idx]:
            seen[lesion[image_id]].add(split)
    assert all(len(s) == 1 for s in seen.values())
    assert sum(len(idx) for idx in parts.values()) == 10015
    assert "lesion_id" in notes["val_split"]


def test_without_split_file_each_class_is_split_about_70_10_20(ham_without_split_file):
    d = datasets.describe_dataset("isic", data_dir=ham_without_split_file)
    totals = np.array([d["counts"][s] for s in ("train", "val", "test")], dtype=float)
    share = totals / totals.sum(axis=0)
    assert (totals > 0).all(), "every class must appear in every split"
    assert np.allclose(share[:, 5], [0.7, 0.1, 0.2], atol=0.02)  # nv: thousands of images
    assert np.allclose(share.sum(axis=1) / 7, [0.7, 0.1, 0.2], atol=0.06)


def test_without_split_file_split_depends_on_seed_only(ham_without_split_file):
    a = datasets.describe_dataset("isic", data_dir=ham_without_split_file, seed=1)
    b = datasets.describe_dataset("isic", data_dir=ham_without_split_file, seed=1)
    c = datasets.describe_dataset("isic", data_dir=ham_without_split_file, seed=2)
    assert a["counts"] == b["counts"]
    assert a["counts"] != c["counts"]


def test_missing_metadata_names_the_file_and_place(tmp_path):
    (tmp_path / "ham10000" / "images").mkdir(parents=True)
    with pytest.raises(DataError) as err:
        datasets.load_dataset("isic", data_dir=tmp_path)
    assert "HAM10000_metadata.csv" in str(err.value) and str(tmp_path / "ham10000") in str(err.value)
    assert "DVN/DBW86T" in err.value.fix


def test_missing_images_are_listed(tmp_path):
    root = tmp_path / "ham10000"
    (root / "images").mkdir(parents=True)
    (root / "HAM10000_metadata.csv").write_text(
        "lesion_id,image_id,dx,dx_type,age,sex,localization\nHAM_1,ISIC_0000001,nv,histo,50,male,back\n")
    with pytest.raises(DataError) as err:
        datasets.describe_dataset("isic", data_dir=tmp_path)
    assert "ISIC_0000001" in str(err.value) and "images" in err.value.fix


# ------------------------------------------------------------------------------------------ ISIC 2019
COLUMNS = ["MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK"]
FIXTURE_COUNTS = [13, 30, 10, 10, 10, 10, 10, 10]  # 13 -> 9.1/1.3/2.6: test takes the largest remainder


def write_isic2019(root, counts=FIXTURE_COUNTS, extra_rows=(), metadata=False, size=(24, 18)):
    base = root / "isic2019"
    images = base / "ISIC_2019_Training_Input"
    images.mkdir(parents=True)
    rows, meta = [], []
    rng = np.random.default_rng(0)
    k = 0
    for label, n in enumerate(counts):
        for _ in range(n):
            name = f"ISIC_{k:07d}"
            colour = np.array([label * 30, 255 - label * 30, 128], dtype=np.uint8)
            pixels = np.clip(colour + rng.integers(-10, 10, size=(size[1], size[0], 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(images / f"{name}.jpg", quality=95)
            rows.append([name] + ["1.0" if i == label else "0.0" for i in range(9)])
            meta.append([name, f"lesion_{k // 2}"])  # two photos per lesion
            k += 1
    rows.extend(extra_rows)
    with open(base / "ISIC_2019_Training_GroundTruth.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["image"] + COLUMNS] + rows)
    if metadata:
        with open(base / "ISIC_2019_Training_Metadata.csv", "w", newline="") as fh:
            csv.writer(fh).writerows([["image", "age_approx", "lesion_id"]] + [[n, 50, g] for n, g in meta])
    return base


def test_isic2019_fixture_loads_all_eight_classes(tmp_path, cache_dir):
    write_isic2019(tmp_path)
    s = datasets.load_dataset("isic2019", data_dir=tmp_path, image_size=16, cache_dir=cache_dir)
    assert s.info.class_names == ("mel", "nv", "bcc", "ak", "bkl", "df", "vasc", "scc")
    total = [a + b + c for a, b, c in zip(s.train.counts(8), s.val.counts(8), s.test.counts(8))]
    assert total == FIXTURE_COUNTS
    assert s.train.counts(8) == [9, 21, 7, 7, 7, 7, 7, 7]
    assert s.test.counts(8) == [3, 6, 2, 2, 2, 2, 2, 2]
    assert s.train.images.shape[1:] == (16, 16, 3)
    # colour encodes the class in the fixture: the decoded pixels must follow their labels
    red = s.train.images[..., 0].reshape(len(s.train), -1).mean(axis=1)
    assert np.corrcoef(red, s.train.labels)[0, 1] > 0.95


def test_isic2019_native_size_keeps_file_size(tmp_path, cache_dir):
    write_isic2019(tmp_path, counts=[3] * 8)
    s = datasets.load_dataset("isic2019", data_dir=tmp_path, cache_dir=cache_dir)
    assert s.train.images.shape[1:] == (18, 24, 3)


def test_isic2019_unk_rows_are_skipped_and_counted(tmp_path):
    write_isic2019(tmp_path, counts=[3] * 8, extra_rows=[["ISIC_9999999"] + ["0.0"] * 8 + ["1.0"]])
    d = datasets.describe_dataset("isic2019", data_dir=tmp_path)
    assert sum(d["totals"].values()) == 24
    assert d["split"]["skipped_unk_rows"] == 1


def test_isic2019_groups_lesions_when_metadata_present(tmp_path):
    write_isic2019(tmp_path, metadata=True)
    source = datasets.DATASETS.create("isic2019")
    catalog = source.catalog(source.locate(tmp_path))
    parts, notes = source.assign(catalog, seed=0)
    where = {}
    for split, idx in parts.items():
        for g in catalog.groups[idx]:
            assert where.setdefault(g, split) == split
    assert "grouped by lesion_id" in notes["val_split"] and "not grouped" not in notes["val_split"]


def test_isic2019_without_metadata_says_it_is_not_grouped(tmp_path):
    write_isic2019(tmp_path, counts=[3] * 8)
    d = datasets.describe_dataset("isic2019", data_dir=tmp_path)
    assert "not grouped by lesion_id (no ISIC_2019_Training_Metadata.csv)" in d["split"]["val_split"]


def test_isic2019_row_with_two_classes_is_named(tmp_path):
    write_isic2019(tmp_path, counts=[2] * 8, extra_rows=[["ISIC_8888888", "1.0", "1.0"] + ["0.0"] * 7])
    with pytest.raises(DataError) as err:
        datasets.describe_dataset("isic2019", data_dir=tmp_path)
    assert "ISIC_8888888" in str(err.value)


def test_isic2019_missing_layout_names_expected_files(tmp_path):
    with pytest.raises(DataError) as err:
        datasets.describe_dataset("isic2019", data_dir=tmp_path)
    assert "ISIC_2019_Training_GroundTruth.csv" in str(err.value)
    assert str(tmp_path / "isic2019") in str(err.value)


# --- no lesion in two splits, checked against the real metadata (not the loader's own output) ----------
def _lesions(data_dir):
    with open(data_dir / "ham10000" / "HAM10000_metadata.csv", newline="") as fh:
        return {r["image_id"]: r["lesion_id"] for r in csv.DictReader(fh)}


def test_default_isic_split_shares_no_lesion_even_with_the_split_file(data_dir):
    assert (data_dir / "ham10000" / "dermamnist_split_info.csv").is_file()  # present: isic must ignore it
    lesion = _lesions(data_dir)
    source = datasets.DATASETS.create("isic")
    catalog = source.catalog(source.locate(data_dir))
    parts, notes = source.assign(catalog, seed=0)
    where = defaultdict(set)
    for split, idx in parts.items():
        for image_id in catalog.ids[idx]:
            where[lesion[image_id]].add(split)
    assert sum(len(idx) for idx in parts.values()) == len(lesion) == 10015
    assert all(len(s) == 1 for s in where.values())
    assert "grouped by lesion_id" in notes["val_split"]


def test_dermamnist_overlap_is_counted_from_the_real_csvs(data_dir):
    lesion = _lesions(data_dir)
    with open(data_dir / "ham10000" / "dermamnist_split_info.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    train_lesions = {lesion[r["image_id"]] for r in rows if r["split"] == "train"}
    expected = sum(lesion[r["image_id"]] in train_lesions for r in rows if r["split"] == "test")
    assert expected == 693  # the figure the protocol issue measured
    source = datasets.DATASETS.create("dermamnist")
    catalog = source.catalog(source.locate(data_dir))
    _, notes = source.assign(catalog, seed=0)
    assert notes["subject_overlap"]["train-test"] == expected
    assert "shares lesions" in notes["warning"]


def test_dermamnist_without_its_split_file_names_the_file(ham_without_split_file):
    with pytest.raises(DataError, match="dermamnist_split_info.csv"):
        datasets.DATASETS.create("dermamnist").catalog(ham_without_split_file / "ham10000")

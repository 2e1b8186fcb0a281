"""PneumoniaMNIST / BreastMNIST / generic MedMNIST npz on the real official files."""
from __future__ import annotations

import numpy as np
import pytest

from augbench import datasets
from augbench.datasets import DataError

# Expected values from /work/shared/data/README.md.
PUBLISHED = {
    "pneumonia": {"train": [1214, 3494], "val": [135, 389], "test": [234, 390]},
    "breast": {"train": [147, 399], "val": [21, 57], "test": [42, 114]},
}


@pytest.mark.parametrize("name", ["pneumonia", "breast"])
def test_official_split_counts(name, data_dir):
    s = datasets.load_dataset(name, data_dir=data_dir)
    for split, counts in PUBLISHED[name].items():
        assert getattr(s, split).counts(2) == counts
    assert s.train.images.shape[1:] == (28, 28, 1)
    assert s.notes["val_split"] == "official" and s.notes["cache"] is None


def test_pixels_are_the_files_pixels(data_dir):
    s = datasets.load_dataset("breast", data_dir=data_dir)
    with np.load(data_dir / "medmnist" / "breastmnist.npz") as raw:
        assert np.array_equal(s.test.images[..., 0], raw["test_images"])
        assert np.array_equal(s.test.labels, raw["test_labels"].reshape(-1))


def test_resize_to_64_keeps_brightness_and_is_cached(data_dir, cache_dir):
    native = datasets.load_dataset("pneumonia", data_dir=data_dir)
    big = datasets.load_dataset("pneumonia", data_dir=data_dir, image_size=64, cache_dir=cache_dir)
    assert big.train.images.shape == (4708, 64, 64, 1)
    assert abs(big.train.images.mean() - native.train.images.mean()) < 2
    assert big.notes["image_size"] == 64 and big.notes["cache"].startswith(str(cache_dir))
    again = datasets.load_dataset("pneumonia", data_dir=data_dir, image_size=64, cache_dir=cache_dir)
    assert again.notes["cache_hit"] and np.array_equal(again.val.images, big.val.images)


def test_generic_name_relative_and_absolute(data_dir):
    rel = datasets.load_dataset("medmnist:breastmnist.npz", data_dir=data_dir)
    absolute = datasets.load_dataset(f"medmnist:{data_dir / 'medmnist' / 'breastmnist.npz'}")
    assert rel.train.counts(2) == absolute.train.counts(2) == PUBLISHED["breast"]["train"]


def test_generic_unknown_file_infers_classes(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 30), ("val", 6), ("test", 9)):
        arrays[f"{split}_images"] = rng.integers(0, 255, size=(n, 28, 28, 3), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 3).reshape(-1, 1).astype(np.uint8)
    np.savez(tmp_path / "toymnist.npz", **arrays)
    info = datasets.dataset_info(f"medmnist:{tmp_path / 'toymnist.npz'}")
    assert info.n_classes == 3 and info.channels == 3 and info.counts["train"] == (10, 10, 10)
    s = datasets.load_dataset(f"medmnist:{tmp_path / 'toymnist.npz'}")
    assert s.channels == 3 and s.test.counts(3) == [3, 3, 3]


def test_multilabel_file_is_refused(tmp_path):
    arrays = {f"{s}_images": np.zeros((4, 28, 28), np.uint8) for s in ("train", "val", "test")}
    arrays.update({f"{s}_labels": np.zeros((4, 14), np.uint8) for s in ("train", "val", "test")})
    np.savez(tmp_path / "chestmnist.npz", **arrays)
    with pytest.raises(DataError) as err:
        datasets.load_dataset(f"medmnist:{tmp_path / 'chestmnist.npz'}")
    assert "multi-label" in str(err.value)


def test_file_without_medmnist_keys_is_named(tmp_path):
    np.savez(tmp_path / "odd.npz", x=np.zeros(3))
    with pytest.raises(DataError) as err:
        datasets.load_dataset(f"medmnist:{tmp_path / 'odd.npz'}")
    assert "odd.npz" in str(err.value) and "train_labels" in str(err.value)


def test_missing_file_says_where_and_where_from(tmp_path):
    with pytest.raises(DataError) as err:
        datasets.load_dataset("pneumonia", data_dir=tmp_path)
    assert "pneumoniamnist.npz" in str(err.value)
    assert str(tmp_path / "medmnist") in err.value.fix
    assert "28209eda62fecd6e6a2d98b1501bb15f" in err.value.fix and "zenodo" in err.value.fix


# Split fingerprints (ids, labels, pixels; they enter every fit and cell hash) computed with the
# loader as it was before sets were loaded by native size (commit e176cb9): a 28-px run, a native
# run and a 64-px run made from the 28-px file must keep their hashes, or finished cells would rerun.
HASHES_BEFORE = {
    ("pneumonia", None): "6c69668e55e8e70a", ("pneumonia", 28): "6c69668e55e8e70a",
    ("pneumonia", 64): "aff9503efbdf6f99",
    ("breast", None): "67b33424c8d4917d", ("breast", 28): "67b33424c8d4917d", ("breast", 64): "db9ea8036a6a3e63",
}


@pytest.mark.parametrize("name,size", list(HASHES_BEFORE))
def test_split_fingerprints_of_existing_runs_are_unchanged(name, size, data_dir, cache_dir):
    from augbench.datasets.fingerprint import split_fingerprint

    if size == 64 and (data_dir / "medmnist" / f"{name}mnist_64.npz").is_file():
        pytest.skip("a native 64 px file is present, so 64 px loads read it (a different, intended fingerprint)")
    s = datasets.load_dataset(name, data_dir=data_dir, image_size=size, cache_dir=cache_dir)
    assert split_fingerprint(s) == HASHES_BEFORE[(name, size)]


def test_load_notes_name_the_native_file_read(data_dir):
    s = datasets.load_dataset("pneumonia", data_dir=data_dir, image_size=28)
    assert s.notes["native_file"] == "pneumoniamnist.npz" and s.notes["native_size"] == "28x28"
    assert "warning" not in s.notes
    assert s.notes["source"] == str(data_dir / "medmnist" / "pneumoniamnist.npz")


def test_generic_name_of_an_official_file_brings_its_metadata(data_dir):
    info = datasets.dataset_info("medmnist:pneumoniamnist.npz", data_dir=data_dir)
    assert info.class_names == ("normal", "pneumonia") and info.counts["test"] == (234, 390)
    assert info.published_totals == {"train": 4708, "val": 524, "test": 624}


def test_data_info_counts_match_the_readme(data_dir):
    d = datasets.describe_dataset("breast", data_dir=data_dir)
    assert d["counts"] == PUBLISHED["breast"] and d["published_counts"] == PUBLISHED["breast"]
    assert d["published_totals"] == {"train": 546, "val": 78, "test": 156}
    assert d["native_files"] == "breastmnist.npz (28 px)"

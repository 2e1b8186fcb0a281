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

"""Native sizes: which MedMNIST file a load at a given size reads, and `benchmark data fetch --size`.

The 28 px file is the real BreastMNIST from the shared data (linked, not copied); the 64 px file is
built here with the real labels and random pixels, so a load that read it is told apart from one
that enlarged the 28 px file by the pixels alone.
"""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
from PIL import Image

from augbench import datasets
from augbench.benchmark.cli import main
from augbench.datasets import DataError
from augbench.datasets.medmnist_catalog import CATALOG
from tests.datasets.conftest import FileHandler

SPLITS = ("train", "val", "test")
BREAST_64_MD5 = "742edef2a1fd1524b2efff4bd7ba9364"  # the official breastmnist_64.npz (MedMNIST release metadata)


def _box(images: np.ndarray, size: int) -> np.ndarray:
    """PIL's box filter, image by image: what shrinking is documented to do."""
    return np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.BOX)) for im in images])


def _write_64(path, data_dir, seed=0, side=64):
    rng = np.random.default_rng(seed)
    arrays = {}
    with np.load(data_dir / "medmnist" / "breastmnist.npz") as real:
        for s in SPLITS:
            arrays[f"{s}_labels"] = real[f"{s}_labels"]
            arrays[f"{s}_images"] = rng.integers(0, 256, size=(len(real[f"{s}_labels"]), side, side), dtype=np.uint8)
    np.savez(path, **arrays)
    return arrays


@pytest.fixture
def sized_dir(tmp_path, data_dir):
    """A data dir with breastmnist.npz (real, 28 px) and breastmnist_64.npz (built)."""
    folder = tmp_path / "data" / "medmnist"
    folder.mkdir(parents=True)
    (folder / "breastmnist.npz").symlink_to(data_dir / "medmnist" / "breastmnist.npz")
    arrays = _write_64(folder / "breastmnist_64.npz", data_dir)
    return tmp_path / "data", arrays


def test_requested_64_reads_the_64_file_unresized(sized_dir, tmp_path):
    root, arrays = sized_dir
    s = datasets.load_dataset("breast", data_dir=root, image_size=64, cache_dir=tmp_path / "cache")
    assert np.array_equal(s.test.images[..., 0], arrays["test_images"])
    assert s.notes["native_file"] == "breastmnist_64.npz" and s.notes["native_size"] == "64x64"
    assert "no resize" in s.notes["native_choice"] and "warning" not in s.notes
    assert s.train.counts(2) == [147, 399]


def test_requested_32_shrinks_the_64_file(sized_dir, tmp_path):
    root, arrays = sized_dir
    s = datasets.load_dataset("breast", data_dir=root, image_size=32, cache_dir=tmp_path / "cache")
    assert s.notes["native_file"] == "breastmnist_64.npz" and "warning" not in s.notes
    assert np.array_equal(s.val.images[..., 0], _box(arrays["val_images"], 32))


def test_requested_28_still_reads_the_28_file(sized_dir, data_dir):
    root, _ = sized_dir
    from augbench.datasets.fingerprint import split_fingerprint

    s = datasets.load_dataset("breast", data_dir=root, image_size=28)
    with np.load(data_dir / "medmnist" / "breastmnist.npz") as raw:
        assert np.array_equal(s.train.images[..., 0], raw["train_images"])
    assert s.notes["native_file"] == "breastmnist.npz"
    assert split_fingerprint(s) == "67b33424c8d4917d"  # as before native sizes (test_medmnist.HASHES_BEFORE)


def test_requested_128_without_its_file_enlarges_the_64_file_and_says_how_to_fetch(sized_dir, tmp_path):
    root, _ = sized_dir
    s = datasets.load_dataset("breast", data_dir=root, image_size=128, cache_dir=tmp_path / "cache")
    assert s.image_size == 128 and s.notes["native_file"] == "breastmnist_64.npz"
    assert f"benchmark data fetch breast --size 128 --data-dir {root}" in s.notes["warning"]
    assert "breastmnist_128.npz" in s.notes["warning"] and "enlarged" in s.notes["warning"]


def test_64_with_only_the_28_file_enlarges_it_as_before_with_a_warning(tmp_path, data_dir):
    folder = tmp_path / "medmnist"
    folder.mkdir()
    (folder / "breastmnist.npz").symlink_to(data_dir / "medmnist" / "breastmnist.npz")
    s = datasets.load_dataset("breast", data_dir=tmp_path, image_size=64, cache_dir=tmp_path / "cache")
    assert s.notes["native_file"] == "breastmnist.npz" and s.image_size == 64
    assert "benchmark data fetch breast --size 64" in s.notes["warning"]


def test_only_a_larger_file_is_shrunk_and_the_missing_one_named(tmp_path, data_dir):
    folder = tmp_path / "medmnist"
    folder.mkdir()
    arrays = _write_64(folder / "breastmnist_64.npz", data_dir)
    s = datasets.load_dataset("breast", data_dir=tmp_path, image_size=28, cache_dir=tmp_path / "cache")
    assert np.array_equal(s.test.images[..., 0], _box(arrays["test_images"], 28))
    assert "warning" not in s.notes
    assert "breastmnist.npz, the native 28 px file, is absent" in s.notes["native_choice"]
    assert "benchmark data fetch breast --size 28" in s.notes["native_choice"]


def test_a_file_added_later_is_read_not_the_cached_enlargement(tmp_path, data_dir):
    folder = tmp_path / "medmnist"
    folder.mkdir()
    (folder / "breastmnist.npz").symlink_to(data_dir / "medmnist" / "breastmnist.npz")
    cache = tmp_path / "cache"
    datasets.load_dataset("breast", data_dir=tmp_path, image_size=64, cache_dir=cache)
    arrays = _write_64(folder / "breastmnist_64.npz", data_dir)
    s = datasets.load_dataset("breast", data_dir=tmp_path, image_size=64, cache_dir=cache)
    assert not s.notes["cache_hit"] and np.array_equal(s.train.images[..., 0], arrays["train_images"])
    again = datasets.load_dataset("breast", data_dir=tmp_path, image_size=64, cache_dir=cache)
    assert again.notes["cache_hit"]


def test_no_file_at_all_names_the_fetch_command_for_the_size(tmp_path):
    with pytest.raises(DataError) as err:
        datasets.load_dataset("pathmnist", data_dir=tmp_path, image_size=64)
    assert "pathmnist.npz" in err.value.problem and "pathmnist_224.npz" in err.value.problem
    assert f"benchmark data fetch pathmnist --size 64 --data-dir {tmp_path}" in err.value.fix
    assert "55aa9c1e0525abe5a6b9d8343a507616" in err.value.fix  # pathmnist_64's official md5


def test_a_file_whose_images_are_not_its_native_size_is_refused(tmp_path, data_dir):
    folder = tmp_path / "medmnist"
    folder.mkdir()
    _write_64(folder / "breastmnist_64.npz", data_dir, side=28)
    with pytest.raises(DataError) as err:
        datasets.load_dataset("breast", data_dir=tmp_path, image_size=64)
    assert "28x28" in err.value.problem and "not that file" in err.value.problem


def test_data_info_says_which_file_a_size_reads(sized_dir, capsys):
    root, _ = sized_dir
    assert main(["data", "info", "breast", "--data-dir", str(root), "--image-size", "64"]) == 0
    out = capsys.readouterr().out
    assert "native_file: breastmnist_64.npz" in out
    assert "native_files: breastmnist.npz (28 px), breastmnist_64.npz (64 px)" in out


# --- fetch ------------------------------------------------------------------------------------------------
@pytest.fixture
def served_64(tmp_path, data_dir):
    served = tmp_path / "served"
    served.mkdir()
    arrays = _write_64(served / "breastmnist_64.npz", data_dir)
    (tmp_path / "data").mkdir()
    return served / "breastmnist_64.npz", arrays


def test_fetch_size_64_through_the_cli(serve, served_64, tmp_path, monkeypatch, capsys):
    path, arrays = served_64
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    entry = CATALOG["breastmnist"]
    monkeypatch.setitem(CATALOG, "breastmnist", dataclasses.replace(entry, md5={**entry.md5, 64: md5}))
    url = serve(path.parent)
    data = tmp_path / "data"
    assert main(["data", "fetch", "breast", "--size", "64", "--base-url", url, "--data-dir", str(data)]) == 0
    dest = data / "medmnist" / "breastmnist_64.npz"
    assert capsys.readouterr().out.strip() == f"fetched {dest}"
    assert FileHandler.requested == ["/breastmnist_64.npz"]
    assert hashlib.md5(dest.read_bytes()).hexdigest() == md5
    s = datasets.load_dataset("breast", data_dir=data, image_size=64, cache_dir=tmp_path / "cache")
    assert s.notes["native_file"] == "breastmnist_64.npz"
    assert np.array_equal(s.val.images[..., 0], arrays["val_images"])


def test_fetch_with_the_wrong_md5_saves_nothing(serve, served_64, tmp_path, capsys):
    path, _ = served_64
    url = serve(path.parent)  # the table keeps the official md5, which this file does not have
    data = tmp_path / "data"
    assert main(["data", "fetch", "breast", "--size", "64", "--base-url", url, "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "md5" in err and BREAST_64_MD5 in err and "nothing was saved" in err
    assert not list(data.rglob("breastmnist_64*"))


def test_fetch_default_size_is_28_and_urls_follow_the_release(tmp_path):
    source = datasets.DATASETS.create("pathmnist")
    assert [f.path for f in source.fetch_files()] == ["medmnist/pathmnist.npz"]
    (big,) = source.fetch_files(224)
    assert big.path == "medmnist/pathmnist_224.npz" and big.md5 == "2c51a510bcdc9cf8ddb2af93af1eadec"
    assert big.url == "https://zenodo.org/records/10519652/files/pathmnist_224.npz?download=1"


def test_fetch_refuses_a_size_that_is_not_published(tmp_path, capsys):
    assert main(["data", "fetch", "breast", "--size", "100", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no native 100 px file" in err and "28 | 64 | 128 | 224" in err
    assert main(["data", "fetch", "fashion-mnist", "--size", "64", "--data-dir", str(tmp_path)]) == 2
    assert "one size only" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_dermamnist_npz_says_its_split_shares_lesions_and_keeps_a_size_warning(tmp_path):
    folder = tmp_path / "medmnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 14), ("val", 7), ("test", 7)):
        arrays[f"{split}_images"] = rng.integers(0, 256, size=(n, 28, 28, 3), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 7).reshape(-1, 1).astype(np.uint8)
    np.savez(folder / "dermamnist.npz", **arrays)
    s = datasets.load_dataset("dermamnist-npz", data_dir=tmp_path, image_size=64, cache_dir=tmp_path / "cache")
    assert "shares lesions" in s.notes["warning"] and "--dataset isic" in s.notes["warning"]
    assert "benchmark data fetch dermamnist-npz --size 64" in s.notes["warning"]
    assert s.info.class_names[5] == "nv" and s.channels == 3

"""Fashion-MNIST from Debian's dataset-fashion-mnist files, and the Improved BAGAN imbalanced profile."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from augbench import datasets
from augbench.datasets import DataError

SYSTEM = Path("/usr/share/datasets/fashion-mnist")
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz"]
# Improved BAGAN imbalanced train profile (issue text), classes 0..9.
PROFILE = [4166, 73, 139, 210, 287, 370, 422, 387, 545, 651]


@pytest.fixture(scope="module", autouse=True)
def installed():
    if not all((SYSTEM / f).is_file() for f in FILES):
        pytest.fail("Fashion-MNIST files missing: run `apt-get install -y dataset-fashion-mnist`")


@pytest.fixture(scope="module")
def fashion():
    return datasets.load_dataset("fashion-mnist", seed=0)


def test_official_counts_with_val_carved(fashion):
    assert [a + b for a, b in zip(fashion.train.counts(10), fashion.val.counts(10))] == [6000] * 10
    assert fashion.val.counts(10) == [600] * 10
    assert fashion.test.counts(10) == [1000] * 10
    assert fashion.train.images.shape[1:] == (28, 28, 1)


def test_images_match_the_idx_file(fashion):
    with gzip.open(SYSTEM / "t10k-images-idx3-ubyte.gz") as fh:
        raw = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    assert np.array_equal(fashion.test.images[..., 0], raw)


def test_imbalanced_profile_train_counts(fashion):
    imb = datasets.load_dataset("fashion-mnist-imbalanced", seed=0)
    assert imb.train.counts(10) == PROFILE
    assert imb.test.counts(10) == [1000] * 10
    assert list(imb.val.ids) == list(fashion.val.ids)
    assert set(imb.train.ids) <= set(fashion.train.ids), "subsample of the same seed's train split"
    other = datasets.load_dataset("fashion-mnist-imbalanced", seed=1)
    assert other.train.counts(10) == PROFILE and set(other.train.ids) != set(imb.train.ids)


def test_data_dir_copy_wins_over_system_files(tmp_path):
    (tmp_path / "fashion-mnist").mkdir()
    for f in FILES:
        (tmp_path / "fashion-mnist" / f).symlink_to(SYSTEM / f)
    s = datasets.load_dataset("fashion-mnist", data_dir=tmp_path)
    assert s.notes["source"] == str(tmp_path / "fashion-mnist")


def test_corrupt_idx_file_is_named(tmp_path):
    (tmp_path / "fashion-mnist").mkdir()
    for f in FILES:
        (tmp_path / "fashion-mnist" / f).symlink_to(SYSTEM / f)
    bad = tmp_path / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    bad.unlink()
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 20))
    with pytest.raises(DataError) as err:
        datasets.load_dataset("fashion-mnist", data_dir=tmp_path)
    assert "train-labels-idx1-ubyte.gz" in str(err.value)


def test_missing_files_mention_the_debian_package(tmp_path, monkeypatch):
    from augbench.datasets import fashion_mnist

    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "nowhere")
    with pytest.raises(DataError) as err:
        datasets.load_dataset("fashion-mnist", data_dir=tmp_path)
    assert "dataset-fashion-mnist" in err.value.fix and str(tmp_path / "fashion-mnist") in err.value.fix

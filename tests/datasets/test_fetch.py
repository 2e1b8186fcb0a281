"""fetch_dataset against a local HTTP server: success with checksum, mismatch, unreachable host."""
from __future__ import annotations

import hashlib
import socket

import pytest

from augbench import datasets
from augbench.datasets import DataError
from augbench.datasets.fetch import fetch_dataset

BREAST_MD5 = "750601b1f35ba3300ea97c75c52ff8f6"  # /work/shared/data/README.md


def test_fetch_downloads_and_verifies(serve, data_dir, tmp_path):
    url = serve(data_dir / "medmnist")
    paths = fetch_dataset("breast", tmp_path, base_url=url)
    assert paths == [tmp_path / "medmnist" / "breastmnist.npz"]
    assert hashlib.md5(paths[0].read_bytes()).hexdigest() == BREAST_MD5
    s = datasets.load_dataset("breast", data_dir=tmp_path)
    assert s.train.counts(2) == [147, 399]


def test_fetch_skips_a_verified_file(serve, data_dir, tmp_path):
    url = serve(data_dir / "medmnist")
    first = fetch_dataset("breast", tmp_path, base_url=url)[0]
    mtime = first.stat().st_mtime_ns
    assert fetch_dataset("breast", tmp_path, base_url="http://127.0.0.1:9")[0] == first  # no request needed
    assert first.stat().st_mtime_ns == mtime


def test_checksum_mismatch_saves_nothing(serve, tmp_path):
    bad = tmp_path / "served"
    bad.mkdir()
    (bad / "breastmnist.npz").write_bytes(b"this is not the official file")
    url = serve(bad)
    with pytest.raises(DataError) as err:
        fetch_dataset("breast", tmp_path / "data", base_url=url)
    assert "md5" in str(err.value) and BREAST_MD5 in str(err.value)
    assert not list((tmp_path / "data").rglob("breastmnist.npz*"))


def test_unreachable_server_names_files_and_places(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError) as err:
        fetch_dataset("breast", tmp_path, base_url=f"http://127.0.0.1:{port}", timeout=2)
    assert "breastmnist.npz" in str(err.value)
    assert str(tmp_path / "medmnist" / "breastmnist.npz") in err.value.fix
    assert "zenodo.org" in err.value.fix and BREAST_MD5 in err.value.fix


def test_fashion_mnist_fetch_lists_all_four_files_when_offline(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError) as err:
        fetch_dataset("fashion-mnist", tmp_path, base_url=f"http://127.0.0.1:{port}", timeout=2)
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert str(tmp_path / "fashion-mnist" / name) in err.value.fix


def test_datasets_without_direct_files_say_what_to_download(tmp_path):
    with pytest.raises(DataError) as err:
        fetch_dataset("chestxray", tmp_path)
    assert "mendeley" in err.value.fix and str(tmp_path / "chest_xray") in err.value.fix

"""The MedMNIST table: every 2D single-label set, four native sizes each, checksums, registered names."""
from __future__ import annotations

import re

import pytest

from augbench import datasets
from augbench.datasets.medmnist_catalog import CATALOG, NAMES, SIZES

# The eleven 2D single-label sets of MedMNIST v2 (the list), and the names augbench gives them.
FLAGS = ("pathmnist", "dermamnist", "octmnist", "pneumoniamnist", "retinamnist", "breastmnist", "bloodmnist",
         "tissuemnist", "organamnist", "organcmnist", "organsmnist")
REGISTERED = {"pneumonia": "pneumoniamnist", "breast": "breastmnist", "dermamnist-npz": "dermamnist",
              "pathmnist": "pathmnist", "octmnist": "octmnist", "retinamnist": "retinamnist",
              "bloodmnist": "bloodmnist", "tissuemnist": "tissuemnist", "organamnist": "organamnist",
              "organcmnist": "organcmnist", "organsmnist": "organsmnist"}
# Spot checks typed from the MedMNIST release metadata (medmnist 3.0.2 info.py) and from
# /work/shared/data/README.md for the two 28 px files there.
FACTS = {
    ("pneumoniamnist", 28): "28209eda62fecd6e6a2d98b1501bb15f",
    ("breastmnist", 28): "750601b1f35ba3300ea97c75c52ff8f6",
    ("pathmnist", 64): "55aa9c1e0525abe5a6b9d8343a507616",
    ("dermamnist", 224): "8974907d8e169bef5f5b96bc506ae45d",
    ("organsmnist", 128): "ded0c5fa01a95dc4978b956f613e9b8e",
}
TOTALS = {"tissuemnist": (165466, 23640, 47280), "octmnist": (97477, 10832, 1000), "retinamnist": (1080, 120, 400)}


def test_the_table_holds_exactly_the_eleven_sets():
    assert sorted(CATALOG) == sorted(FLAGS)
    assert NAMES == REGISTERED


@pytest.mark.parametrize("flag", FLAGS)
def test_every_set_has_four_sizes_with_md5s_and_distinct_files(flag):
    entry = CATALOG[flag]
    assert tuple(sorted(entry.md5)) == SIZES == (28, 64, 128, 224)
    assert all(re.fullmatch(r"[0-9a-f]{32}", m) for m in entry.md5.values())
    names = [entry.filename(s) for s in SIZES]
    assert names == [f"{flag}.npz", f"{flag}_64.npz", f"{flag}_128.npz", f"{flag}_224.npz"]
    for size, name in zip(SIZES, names):
        assert entry.url(size) == f"https://zenodo.org/records/10519652/files/{name}?download=1"


def test_no_two_files_share_a_name_or_a_checksum():
    files = [(e.filename(s), e.md5[s]) for e in CATALOG.values() for s in SIZES]
    assert len(files) == 44
    assert len({f for f, _ in files}) == 44 and len({m for _, m in files}) == 44


def test_spot_checks_against_the_release():
    for (flag, size), md5 in FACTS.items():
        assert CATALOG[flag].md5[size] == md5
    for flag, totals in TOTALS.items():
        assert tuple(CATALOG[flag].totals[s] for s in ("train", "val", "test")) == totals
    assert CATALOG["dermamnist"].licence == "CC BY-NC 4.0" and CATALOG["pathmnist"].licence == "CC BY 4.0"
    assert len(CATALOG["organamnist"].class_names) == 11 and CATALOG["bloodmnist"].channels == 3


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_registered_metadata_is_consistent(name):
    info = datasets.dataset_info(name)  # static: needs no file
    entry = CATALOG[REGISTERED[name]]
    assert info.name == name and info.channels in (1, 3) and info.licence
    assert info.task == ("binary" if info.n_classes == 2 else "multi-class")
    assert set(info.published_totals) == {"train", "val", "test"}
    for split, per_class in info.counts.items():  # only where augbench has published per-class counts
        assert len(per_class) == info.n_classes and sum(per_class) == entry.totals[split]
    assert info.files == tuple(f"medmnist/{entry.filename(s)}" for s in SIZES)


def test_per_class_counts_only_where_published():
    with_counts = sorted(f for f, e in CATALOG.items() if e.counts)
    assert with_counts == ["breastmnist", "dermamnist", "pneumoniamnist"]
    assert datasets.dataset_info("pathmnist").counts == {}


def test_dermamnist_npz_does_not_replace_the_ham10000_dataset():
    assert {"dermamnist", "dermamnist-npz"} <= set(datasets.dataset_names())
    assert type(datasets.DATASETS.create("dermamnist")).__name__ == "DermaMNISTSource"
    npz = datasets.DATASETS.create("dermamnist-npz")
    assert npz.fetch_files()[0].filename == "dermamnist.npz"
    # same classes in the same order as the HAM10000 datasets, so their metrics line up
    assert datasets.dataset_info("dermamnist-npz").class_names == datasets.dataset_info("dermamnist").class_names

from pathlib import Path

import pytest

from augbench import datasets
from augbench.datasets import DataError, UnknownNameError, dataset_info, dataset_names, resolve_data_dir

REPO = Path(__file__).resolve().parents[2]


def test_import_resolves_to_this_repo_not_hugging_face():
    assert Path(datasets.__file__).resolve().parent == REPO / "datasets"
    assert hasattr(datasets, "load_dataset") and hasattr(datasets, "DATASETS")


def test_all_issue_datasets_are_registered():
    names = dataset_names()
    for name in ("isic", "isic2019", "pneumonia", "breast", "medmnist", "chestxray", "fashion-mnist",
                 "fashion-mnist-imbalanced", "folder", "synthetic"):
        assert name in names


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownNameError) as err:
        datasets.load_dataset("isci")
    assert "'isic'" in str(err.value)


def test_parametric_name_without_argument_explains_the_form():
    with pytest.raises(UnknownNameError) as err:
        datasets.load_dataset("folder")
    assert "folder:" in err.value.fix


@pytest.mark.parametrize("name", ["isic", "isic2019", "pneumonia", "breast", "chestxray", "fashion-mnist",
                                  "fashion-mnist-imbalanced", "synthetic"])
def test_static_metadata_records_are_consistent(name):
    info = dataset_info(name)
    assert info.name == name and info.source and info.licence and info.channels in (1, 3)
    assert info.counts, "published counts missing"
    for split, counts in info.counts.items():
        assert len(counts) == info.n_classes, split
    assert info.task == ("binary" if info.n_classes == 2 else "multi-class")


def test_resolve_data_dir_prefers_argument_then_environment(tmp_path, monkeypatch):
    other = tmp_path / "env"
    other.mkdir()
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(other))
    assert resolve_data_dir(tmp_path) == tmp_path
    assert resolve_data_dir() == other


def test_missing_data_dir_says_how_to_set_it(monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_DIR", raising=False)
    with pytest.raises(DataError) as err:
        datasets.load_dataset("pneumonia")
    assert "BENCHMARK_DATA_DIR" in err.value.fix and "--data-dir" in err.value.fix


def test_nonexistent_data_dir_is_named(tmp_path):
    with pytest.raises(DataError) as err:
        resolve_data_dir(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(err.value)


def test_image_size_below_8_is_refused():
    with pytest.raises(datasets.UserError) as err:
        datasets.load_dataset("synthetic", image_size=4)
    assert "8" in err.value.fix


def test_every_entry_has_a_summary_for_listings():
    for name in dataset_names():
        entry = datasets.DATASETS.entry(name)
        assert entry.meta.get("summary"), name
    assert datasets.DATASETS.entry("folder:/x").parametric

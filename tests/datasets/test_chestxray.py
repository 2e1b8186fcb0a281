"""Kermany chest X-rays on the real files: official train/test, val carved from train."""
from __future__ import annotations

import numpy as np
import pytest

from augbench import datasets
from augbench.datasets import DataError

# Expected values from /work/shared/data/README.md.
TRAIN = [1341, 3875]
TEST = [234, 390]


def test_train_plus_val_is_the_official_train_folder_minus_test_patients(chest28):
    total = [a + b for a, b in zip(chest28.train.counts(2), chest28.val.counts(2))]
    dropped = chest28.notes["dropped_train_images"]
    assert total[0] == TRAIN[0] and total[1] == TRAIN[1] - dropped and 0 < dropped < 600
    assert chest28.test.counts(2) == TEST


def test_val_is_a_stratified_tenth_of_train(chest28):
    carved = [a + b for a, b in zip(chest28.train.counts(2), chest28.val.counts(2))]
    for c, n in enumerate(carved):
        assert abs(chest28.val.counts(2)[c] - 0.1 * n) <= 3  # whole patients: not exactly a tenth
    assert chest28.notes["val_split"] == "stratified 10% of train grouped by patient id, seed 0"
    assert not set(chest28.val.ids) & set(chest28.train.ids)
    assert all(i.startswith("train/") for i in chest28.val.ids)


def test_gray_pictures_load_as_one_channel(chest28):
    assert chest28.train.images.shape[1:] == (28, 28, 1)
    assert chest28.info.channels == 1 and chest28.notes["native_size"] == "224x224"
    assert 40 < chest28.train.images.mean() < 200


def test_val_depends_on_seed_only(data_dir, cache_dir, chest28):
    same = datasets.load_dataset("chestxray", data_dir=data_dir, image_size=28, cache_dir=cache_dir, seed=0)
    other = datasets.load_dataset("chestxray", data_dir=data_dir, image_size=28, cache_dir=cache_dir, seed=1)
    assert list(same.val.ids) == list(chest28.val.ids)
    assert set(other.val.ids) != set(chest28.val.ids)
    assert other.notes["cache_hit"], "a new seed must reuse the decoded images"
    assert np.array_equal(other.test.images, chest28.test.images)


def test_describe_reports_counts_and_imbalance(data_dir):
    d = datasets.describe_dataset("chestxray", data_dir=data_dir)
    assert d["counts"]["test"] == TEST
    # the official train folder less the pneumonia images of patients the test folder also names
    assert 0 < sum(TRAIN) - sum(d["counts"]["train"]) - sum(d["counts"]["val"]) < 600
    assert d["imbalance_ratio"] == pytest.approx(d["counts"]["train"][1] / d["counts"]["train"][0])
    assert d["smallest_class"] == "normal"


def test_missing_class_folder_is_named(tmp_path):
    for s in ("train", "test"):
        (tmp_path / "chest_xray" / s / "NORMAL").mkdir(parents=True)
    (tmp_path / "chest_xray" / "test" / "PNEUMONIA").mkdir()
    with pytest.raises(DataError) as err:
        datasets.load_dataset("chestxray", data_dir=tmp_path)
    assert "train/PNEUMONIA" in str(err.value) and "mendeley" in err.value.fix


def test_carved_val_shares_no_patient_with_train(data_dir):
    """Patient ids from the file names on disk, parsed here independently of the loader."""
    import re

    def patient(name):  # the prefix up to the first number: person1000, IM-0439, NORMAL2-IM-1427
        stem = name.rsplit(".", 1)[0]
        m = re.match(r"(person\d+)_", stem) or re.match(r"((?:NORMAL2-)?IM-\d+)-", stem)
        assert m, name
        return m.group(1)

    source = datasets.DATASETS.create("chestxray")
    catalog = source.catalog(source.locate(data_dir))
    parts, _ = source.assign(catalog, seed=0)
    on_disk = {f"train/{c}/{p.name}" for c in ("NORMAL", "PNEUMONIA") for p in (data_dir / "chest_xray" / "train" / c).iterdir()}
    test_patients = {patient(p.name) for c in ("NORMAL", "PNEUMONIA") for p in (data_dir / "chest_xray" / "test" / c).iterdir()}
    kept = set(catalog.ids[parts["train"]]) | set(catalog.ids[parts["val"]])
    assert kept == {i for i in on_disk if patient(i.split("/")[-1]) not in test_patients}
    train_patients = {patient(i.split("/")[-1]) for i in catalog.ids[parts["train"]]}
    val_patients = {patient(i.split("/")[-1]) for i in catalog.ids[parts["val"]]}
    assert train_patients and val_patients and not train_patients & val_patients
    assert not (train_patients | val_patients) & test_patients


def test_patient_id_groups_the_extra_views_of_one_patient():
    from augbench.datasets.chestxray import patient_id

    # the real train folder holds IM-0439-0001.jpeg beside IM-0439-0001-0001/-0002.jpeg
    assert {patient_id(n) for n in ("IM-0439-0001.jpeg", "IM-0439-0001-0001.jpeg", "IM-0439-0001-0002.jpeg")} \
        == {"IM-0439"}
    assert patient_id("NORMAL2-IM-1427-0001-0002.jpeg") == "NORMAL2-IM-1427" != patient_id("IM-1427-0001.jpeg")
    assert patient_id("person1000_bacteria_2931.jpeg") == "person1000"

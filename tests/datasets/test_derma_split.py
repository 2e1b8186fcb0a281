"""`benchmark data derma-split`: DermaMNIST's split recovered as HAM10000 ids, on real HAM10000 images.

MedMNIST made dermamnist.npz by shrinking HAM10000's full-resolution images; its exact filter is
not published. The npz built here imitates that from the shared 200x150 copies: a full JPEG
decode shrunk with PIL's bicubic filter, a different path from the loader's (draft decode, box
filter), so the command has to find each image among all 10,015 of its class by likeness, not by
identical pixels.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from augbench import datasets
from augbench.benchmark.cli import main

CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")


def _pick(data_dir, per_class=4, extra=2, seed=0):
    """About 30 real HAM10000 image ids, every class, in a shuffled order, with their labels."""
    with open(data_dir / "ham10000" / "HAM10000_metadata.csv", newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: r["image_id"])
    rng = np.random.default_rng(seed)
    chosen = []
    for c, dx in enumerate(CLASSES):
        ids = [r["image_id"] for r in rows if r["dx"] == dx]
        chosen += [(i, c) for i in rng.choice(ids, per_class + (extra if dx == "nv" else 0), replace=False)]
    return [chosen[i] for i in rng.permutation(len(chosen))]


def _npz(path, data_dir, picked, side=28):
    """Train/val/test of the picked images, shrunk from a full decode (bicubic); returns the truth rows."""
    cuts = {"train": picked[:18], "val": picked[18:23], "test": picked[23:]}
    arrays, truth = {}, []
    for split, items in cuts.items():
        images = []
        for index, (image_id, label) in enumerate(items):
            with Image.open(data_dir / "ham10000" / "images" / f"{image_id}.jpg") as im:
                images.append(np.asarray(im.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)))
            truth.append({"split": split, "index": str(index), "image_id": str(image_id), "dx": CLASSES[label],
                          "label": str(label)})
        arrays[f"{split}_images"] = np.stack(images).astype(np.uint8)
        arrays[f"{split}_labels"] = np.array([[label] for _, label in items], dtype=np.uint8)
    np.savez(path, **arrays)
    return truth


@pytest.mark.parametrize("side", [28, 64])
def test_recovers_which_ham10000_image_each_dermamnist_image_is(tmp_path, data_dir, side, capsys):
    picked = _pick(data_dir)
    assert len(picked) == 30
    truth = _npz(tmp_path / "dermamnist.npz", data_dir, picked, side)
    out = tmp_path / "split.csv"
    assert main(["data", "derma-split", "--npz", str(tmp_path / "dermamnist.npz"), "--data-dir", str(data_dir),
                 "--out", str(out)]) == 0
    assert "30 DermaMNIST images matched" in capsys.readouterr().out
    with open(out, newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["split", "index", "image_id", "dx", "label"]
        assert list(reader) == truth


def test_the_written_file_is_what_dermamnist_reads(tmp_path, data_dir):
    picked = _pick(data_dir, seed=1)
    truth = _npz(tmp_path / "dermamnist.npz", data_dir, picked)
    ham = tmp_path / "data" / "ham10000"
    ham.mkdir(parents=True)
    (ham / "images").symlink_to(data_dir / "ham10000" / "images")
    (ham / "HAM10000_metadata.csv").symlink_to(data_dir / "ham10000" / "HAM10000_metadata.csv")
    assert main(["data", "derma-split", "--npz", str(tmp_path / "dermamnist.npz"),
                 "--data-dir", str(tmp_path / "data")]) == 0  # default --out: the data dir's split file
    s = datasets.load_dataset("dermamnist", data_dir=tmp_path / "data", image_size=28,
                              cache_dir=tmp_path / "cache")
    assert list(s.val.ids) == [r["image_id"] for r in truth if r["split"] == "val"]
    assert (len(s.train), len(s.val), len(s.test)) == (18, 5, 7)


def test_an_existing_split_file_is_kept_unless_forced(tmp_path, data_dir, capsys):
    out = tmp_path / "split.csv"
    out.write_text("keep me\n")
    assert main(["data", "derma-split", "--npz", str(tmp_path / "x.npz"), "--data-dir", str(data_dir),
                 "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_text() == "keep me\n"


def test_a_missing_npz_says_how_to_get_it(tmp_path, data_dir, capsys):
    assert main(["data", "derma-split", "--npz", str(tmp_path / "absent.npz"), "--data-dir", str(data_dir),
                 "--out", str(tmp_path / "split.csv")]) == 2
    assert "benchmark data fetch dermamnist-npz" in capsys.readouterr().err


def test_images_that_are_not_ham10000_write_nothing(tmp_path, data_dir, capsys):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 6), ("val", 2), ("test", 2)):
        arrays[f"{split}_images"] = rng.integers(0, 256, size=(n, 28, 28, 3), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 7).reshape(-1, 1).astype(np.uint8)
    np.savez(tmp_path / "noise.npz", **arrays)
    out = tmp_path / "split.csv"
    assert main(["data", "derma-split", "--npz", str(tmp_path / "noise.npz"), "--data-dir", str(data_dir),
                 "--out", str(out)]) == 2
    assert "match no HAM10000 image" in capsys.readouterr().err and not out.exists()


def test_two_images_wanting_one_match_are_assigned_one_to_one():
    from augbench.datasets.derma_split import _assign

    query = np.array([[0.0], [1.0]])
    pool = np.array([[0.6], [5.0], [9.0]])  # 0.6 is nearest to both; the cheapest one-to-one split is 0->0.6, 1->5
    chosen, best, runner_up, second = _assign(query, pool)
    assert chosen.tolist() == [0, 1]
    assert np.allclose(best, [0.36, 16.0]) and runner_up.tolist() == [1, 0]

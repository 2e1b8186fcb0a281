"""The resize cache: hit on reload, rebuilt when a source file changes, never fatal."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from augbench import datasets


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    for k, name in enumerate(("a", "b")):
        (root / name).mkdir(parents=True)
        for i in range(5):
            Image.new("L", (12, 12), 30 + 100 * k).save(root / name / f"{i}.png")
    return root


def load(tree, cache, size=10):
    return datasets.load_dataset(f"folder:{tree}", image_size=size, cache_dir=cache)


def test_second_load_hits_and_sizes_are_kept_apart(tree, tmp_path):
    cache = tmp_path / "cache"
    first = load(tree, cache)
    assert first.notes["cache_hit"] is False
    assert load(tree, cache).notes["cache_hit"] is True
    assert load(tree, cache, size=8).notes["cache_hit"] is False
    assert len(list(cache.glob("*.npz"))) == 2


def test_changed_file_invalidates_and_replaces_the_entry(tree, tmp_path):
    cache = tmp_path / "cache"
    old = load(tree, cache)
    target = tree / "a" / "0.png"
    Image.new("L", (12, 12), 250).save(target)
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # make sure the mtime moves
    new = load(tree, cache)
    assert new.notes["cache_hit"] is False
    assert new.notes["cache"] != old.notes["cache"]
    all_pixels = np.concatenate([s.images for s in (new.train, new.val, new.test)])
    assert (all_pixels == 250).any()
    assert len(list(cache.glob("*.npz"))) == 1, "the stale entry is removed"


def test_damaged_entry_is_rebuilt(tree, tmp_path):
    cache = tmp_path / "cache"
    path = load(tree, cache).notes["cache"]
    with open(path, "wb") as fh:
        fh.write(b"garbage")
    again = load(tree, cache)
    assert again.notes["cache_hit"] is False and again.train.images.shape[1:] == (10, 10, 1)


def test_unwritable_cache_warns_and_still_loads(tree, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.warns(UserWarning, match="cache"):
        s = load(tree, blocker / "cache")
    assert s.notes["cache"] is None and len(s.train) == 6  # 5 per class -> 3/1/1


def test_default_cache_dir_follows_augbench_cache(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("AUGBENCH_CACHE", str(tmp_path / "env-cache"))
    s = load(tree, None)
    assert s.notes["cache"].startswith(str(tmp_path / "env-cache" / "datasets"))

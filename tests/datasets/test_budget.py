"""Real-image budgets: exact counts, nesting across budgets, seed stability, target counts."""
from __future__ import annotations

import numpy as np
import pytest

from augbench import datasets
from augbench.datasets import Split, UserError
from augbench.core.values import Budget
from augbench.datasets.budget import apply_budget, default_minority, target_counts

COUNTS = [200, 40, 25, 7]


@pytest.fixture
def split():
    labels = np.repeat(np.arange(4), COUNTS)
    rng = np.random.default_rng(123)
    order = rng.permutation(len(labels))  # interleave classes, as real splits are
    labels = labels[order]
    images = np.zeros((len(labels), 8, 8, 1), np.uint8)
    images[:, 0, 0, 0] = labels
    return Split(images, labels, np.array([f"img{i}" for i in range(len(labels))]))


def ids_of(result, c):
    s = result.split
    return set(s.ids[s.labels == c])


def test_default_minority_is_every_class_below_the_largest():
    assert default_minority(COUNTS) == [1, 2, 3]
    assert default_minority([5, 9, 9, 2]) == [0, 3]
    assert default_minority([10, 10]) == []


def test_exact_counts_and_majority_untouched(split):
    r = apply_budget(split, 4, 10, [1, 2, 3], seed=0)
    assert r.split.counts(4) == [200, 10, 10, 7]
    assert r.effective == {1: 10, 2: 10, 3: 7}  # class 3 has only 7: kept whole
    assert r.original == {1: 40, 2: 25, 3: 7}
    assert r.requested == Budget(count=10) and r.label == "10"
    assert ids_of(r, 0) == set(split.ids[split.labels == 0])
    assert (r.split.images[:, 0, 0, 0] == r.split.labels).all(), "images travel with their labels"


def test_budgets_are_nested_for_one_seed(split):
    small, mid, big = (apply_budget(split, 4, b, [1, 2], seed=3) for b in (5, 12, 30))
    for c in (1, 2):
        assert ids_of(small, c) <= ids_of(mid, c) <= ids_of(big, c)
    assert len(ids_of(big, 2)) == 25


def test_same_seed_same_subset_other_seed_other_subset(split):
    a = apply_budget(split, 4, 10, [1], seed=1)
    b = apply_budget(split, 4, 10, [1], seed=1)
    c = apply_budget(split, 4, 10, [1], seed=2)
    assert ids_of(a, 1) == ids_of(b, 1)
    assert ids_of(a, 1) != ids_of(c, 1)


def test_subset_of_a_class_does_not_depend_on_other_minority_classes(split):
    a = apply_budget(split, 4, 10, [1], seed=4)
    b = apply_budget(split, 4, 10, [1, 2, 3], seed=4)
    assert ids_of(a, 1) == ids_of(b, 1)


def test_draws_cover_the_class_evenly_over_seeds(split):
    members = np.flatnonzero(split.labels == 1)
    hits = {i: 0 for i in split.ids[members]}
    for seed in range(200):
        for i in ids_of(apply_budget(split, 4, 10, [1], seed=seed), 1):
            hits[i] += 1
    freq = np.array(list(hits.values())) / 200
    assert abs(freq.mean() - 10 / 40) < 1e-9
    assert freq.min() > 0.12 and freq.max() < 0.40  # binomial(200, .25): +-4.5 sd


def test_budget_none_or_all_keeps_everything(split):
    for b in (None, "all"):
        r = apply_budget(split, 4, b, [1, 2, 3], seed=0)
        assert r.split.counts(4) == COUNTS and r.requested.is_all and r.effective == {1: 40, 2: 25, 3: 7}


@pytest.mark.parametrize("bad", [0, -5, "ten", 2.5, True])
def test_invalid_budget_is_a_user_error(split, bad):
    with pytest.raises(UserError):
        apply_budget(split, 4, bad, [1], seed=0)


def test_out_of_range_minority_is_a_user_error(split):
    with pytest.raises(UserError):
        apply_budget(split, 4, 10, [4], seed=0)


def test_budget_on_real_pneumonia_train(data_dir):
    s = datasets.load_dataset("pneumonia", data_dir=data_dir)
    minority = default_minority(s.train.counts(2))
    assert minority == [0]  # README: 1214 normal vs 3494 pneumonia
    r = apply_budget(s.train, 2, 50, minority, seed=0)
    assert r.split.counts(2) == [50, 3494] and r.original == {0: 1214}


def test_target_counts_modes():
    original, effective = {1: 40, 2: 25, 3: 7}, {1: 10, 2: 10, 3: 7}
    assert target_counts(original, effective, "original", 200) == {1: 40, 2: 25, 3: 7}
    assert target_counts(original, effective, "balanced", 200) == {1: 200, 2: 200, 3: 200}
    assert target_counts(original, effective, "30", 200) == {1: 30, 2: 30, 3: 30}
    assert target_counts(original, effective, 8, 200) == {1: 10, 2: 10, 3: 8}  # never below effective
    with pytest.raises(UserError):
        target_counts(original, effective, "lots", 200)
    with pytest.raises(UserError):
        target_counts(original, effective, 0, 200)


# --- budget-true validation -----------------------------------------------------------------------------
from augbench.datasets.budget import apply_val_budget, outside_budget  # noqa: E402

VAL_COUNTS = [60, 12, 9, 3]


@pytest.fixture
def val_split():
    labels = np.repeat(np.arange(4), VAL_COUNTS)
    labels = labels[np.random.default_rng(5).permutation(len(labels))]
    return Split(np.zeros((len(labels), 8, 8, 1), np.uint8), labels, np.array([f"v{i}" for i in range(len(labels))]))


def test_val_budget_scales_each_budgeted_class_like_train(split, val_split):
    r = apply_budget(split, 4, 10, [1, 2, 3], seed=0)
    vb = apply_val_budget(val_split, 4, r, seed=0)
    # class 1: 10 of 40 train kept -> 12 * 10/40 = 3 val; class 2: 10/25 of 9 = 3.6 -> 4; class 3 was not cut
    assert vb.kept == {1: 3, 2: 4, 3: 3}
    assert vb.split.counts(4) == [60, 3, 4, 3]
    tiny = apply_val_budget(val_split, 4, apply_budget(split, 4, 1, [1, 2], seed=0), seed=0)
    assert tiny.kept[1] == 1 and tiny.kept[2] == 1  # never below one image: selection needs the class


def test_val_budget_is_nested_and_seeded(split, val_split):
    ids = {}
    for b in (5, 20, 35):
        vb = apply_val_budget(val_split, 4, apply_budget(split, 4, b, [1], seed=2), seed=2)
        ids[b] = set(vb.split.ids[vb.split.labels == 1])
    assert ids[5] <= ids[20] <= ids[35] and len(ids[5]) < len(ids[35])
    other = apply_val_budget(val_split, 4, apply_budget(split, 4, 20, [1], seed=3), seed=3)
    assert set(other.split.ids[other.split.labels == 1]) != ids[20]


def test_full_val_budget_keeps_every_val_image(split, val_split):
    vb = apply_val_budget(val_split, 4, apply_budget(split, 4, 10, [1, 2], seed=0), seed=0, mode="full")
    assert vb.split.counts(4) == VAL_COUNTS and vb.mode == "full"
    with pytest.raises(UserError):
        apply_val_budget(val_split, 4, apply_budget(split, 4, 10, [1], seed=0), seed=0, mode="half")


def test_outside_budget_is_exactly_the_images_the_budget_dropped(split):
    r = apply_budget(split, 4, 10, [1, 2], seed=4)
    for c in (1, 2):
        beyond = set(outside_budget(split, r, c).ids)
        kept = ids_of(r, c)
        assert not beyond & kept
        assert beyond | kept == set(split.ids[split.labels == c])
    assert len(outside_budget(split, r, 0)) == 0  # the majority class keeps everything

"""The `real` control's reserve on the real HAM10000 metadata: out-of-budget images of the class only,
in the budget's own seeded order (nested across budgets), and never a lesion of the test split."""
from __future__ import annotations

import numpy as np
import pytest

from augbench import datasets
from augbench.datasets.budget import apply_budget, reserve_order


@pytest.fixture(scope="module")
def isic28(data_dir, cache_dir):
    return datasets.load_dataset("isic", data_dir=data_dir, image_size=28, cache_dir=cache_dir)


def test_reserve_is_the_rest_of_the_class_outside_the_budget(isic28):
    train, k = isic28.train, 7
    budgeted = apply_budget(train, k, 10, [3, 6], seed=0)
    for c in (3, 6):
        reserve = reserve_order(train, budgeted, c, seed=0)
        assert (train.labels[reserve] == c).all()
        assert not set(reserve.tolist()) & set(budgeted.kept_index.tolist())
        assert len(reserve) == int((train.labels == c).sum()) - 10
        assert len(set(reserve.tolist())) == len(reserve)


def test_reserve_is_nested_like_the_budget(isic28):
    """The first 40 reserve images at budget 10 are exactly the 40 images budget 50 adds."""
    train, k = isic28.train, 7
    b10 = apply_budget(train, k, 10, [6], seed=1)
    b50 = apply_budget(train, k, 50, [6], seed=1)
    first = reserve_order(train, b10, 6, seed=1)[:40]
    added = sorted(set(b50.kept_index.tolist()) - set(b10.kept_index.tolist()))
    assert sorted(first.tolist()) == added
    # and the rest at 50 is the same sequence as the rest at 10 after those 40
    np.testing.assert_array_equal(reserve_order(train, b50, 6, seed=1), reserve_order(train, b10, 6, seed=1)[40:])


def test_reserve_shares_no_lesion_with_the_test_split(isic28):
    train, test = isic28.train, isic28.test
    assert train.groups is not None and test.groups is not None
    budgeted = apply_budget(train, 7, 10, [0, 1, 2, 3, 4, 6], seed=0)
    test_lesions = set(test.groups.tolist())
    for c in (0, 1, 2, 3, 4, 6):
        reserve = reserve_order(train, budgeted, c, seed=0)
        assert not set(train.groups[reserve].tolist()) & test_lesions


def test_a_class_inside_its_budget_has_no_reserve(isic28):
    budgeted = apply_budget(isic28.train, 7, 10_000, [3], seed=0)
    assert len(reserve_order(isic28.train, budgeted, 3, seed=0)) == 0

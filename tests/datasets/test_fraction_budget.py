"""Fraction budgets (``'5%'``): that share of each minority class, rounded, at least one, nested
with each other and with count budgets, on the real chest X-ray and PneumoniaMNIST labels."""
import numpy as np
import pytest

from augbench import datasets
from augbench.core.values import Budget, parse_budgets
from augbench.datasets import UserError
from augbench.datasets.budget import apply_budget


def _kept(result, split, c):
    return set(result.kept_index[split.labels[result.kept_index] == c].tolist())


@pytest.fixture(scope="module")
def pneumonia(data_dir):
    return datasets.load_dataset("pneumonia", data_dir=data_dir).train


def test_fraction_counts_round_half_up_and_keep_at_least_one():
    def kept(budget, n):
        return Budget.parse(budget).images_for(n)

    assert kept("5%", 1341) == 67  # 67.05
    assert kept("10%", 25) == 3  # 2.5 rounds up
    assert kept("5%", 9) == 1  # 0.45: never an empty class
    assert kept("100%", 40) == 40 and kept(None, 40) == 40 and kept(10, 4) == 4


def test_fractions_keep_that_share_of_each_minority_class_and_nest(pneumonia):
    counts = pneumonia.counts(2)
    minority = [int(np.argmin(counts))]
    c = minority[0]
    previous = set()
    for budget in ("5%", "10%", "50%", "100%"):
        result = apply_budget(pneumonia, 2, budget, minority, seed=3)
        share = float(budget[:-1]) / 100
        assert result.effective[c] == max(1, round(share * counts[c] + 1e-9))
        kept = _kept(result, pneumonia, c)
        assert previous <= kept  # 5 % inside 10 % inside 50 % ...
        previous = kept
        majority = 1 - c
        assert (pneumonia.labels[result.kept_index] == majority).sum() == counts[majority]


def test_count_and_fraction_budgets_nest_with_each_other(pneumonia):
    counts = pneumonia.counts(2)
    c = int(np.argmin(counts))
    ten = _kept(apply_budget(pneumonia, 2, 10, [c], seed=0), pneumonia, c)
    half = _kept(apply_budget(pneumonia, 2, "50%", [c], seed=0), pneumonia, c)
    assert len(ten) == 10 and ten < half


def test_a_fraction_of_the_smallest_chestxray_class(data_dir):
    train = datasets.load_dataset("chestxray", data_dir=data_dir, image_size=28).train
    counts = train.counts(2)
    c = int(np.argmin(counts))
    result = apply_budget(train, 2, "5%", [c], seed=0)
    assert result.effective[c] == int(np.floor(0.05 * counts[c] + 0.5)) and result.label == "5%"


@pytest.mark.parametrize("text", ["0%", "150%", "x%", "-5%"])
def test_bad_fractions_are_user_errors(text):
    with pytest.raises(UserError):
        parse_budgets(text)


def test_mixed_budget_list_parses_in_order():
    assert [b.label() for b in parse_budgets("10,5%,12.50%,all,100%")] == ["10", "5%", "12.5%", "all", "100%"]

"""Compute counted, not predicted: the fit that ran is counted (its probe left out), its sampling is
counted apart, counting changes nothing about the fit, and the count lands on the budget."""
import numpy as np
import pytest
import torch

from augbench.benchmark.settings import ComputeSettings
from augbench.benchmark.compute import COUNT_TOLERANCE, counted_record, counting, plan_length
from augbench.benchmark.fit import _uncounted
from augbench.generators import create_generator

SETTINGS = {"batch_size": 8, "base_channels": 8, "latent_dim": 8}


def _data(n=24, size=32):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8), np.array([0] * (n - 6) + [1] * 6)


def test_a_matmul_is_counted_and_a_paused_one_is_not():
    a, b = torch.ones(4, 5), torch.ones(5, 3)
    counter = counting()
    with counter:
        a @ b
        _uncounted(lambda *args: a @ b, counter)(1, 2)
    assert counter.total == 2 * 4 * 5 * 3  # one multiply-add per (i, k, j): 2 FLOPs each


def test_counting_does_not_change_the_fit():
    images, labels = _data()
    plain = create_generator("dcgan", steps=3, **SETTINGS).fit(images, labels, 2, seed=1)
    counter = counting()
    with counter:
        counted = create_generator("dcgan", steps=3, **SETTINGS).fit(images, labels, 2, seed=1)
    assert counter.total > 0
    assert np.array_equal(plain.sample(1, 16, seed=2), counted.sample(1, 16, seed=2))


@pytest.mark.parametrize("arm", ["dcgan", "cwgan-gp"])
def test_the_counted_fit_lands_on_the_flops_budget(arm, tmp_path):
    images, labels = _data()
    budget = 8.0e9  # 20+ units of either arm: whole units cannot leave 5 % unspent
    settings, bought = plan_length(ComputeSettings(budget="flops", flops=budget), arm, {**SETTINGS, "steps": 1}, images,
                                   labels, 2, device="cpu", seed=0, cache_dir=tmp_path)
    assert bought["compute_units"] > 3
    train, sample = counting(), counting()
    with train:
        gen = create_generator(arm, **settings).fit(images, labels, 2, seed=0)
    with sample:
        gen.sample(1, 40, seed=0)
    record = counted_record({**bought, "compute_budget": budget}, train.total, sample.total)
    assert abs(record["compute_counted_vs_budget"] - 1.0) <= COUNT_TOLERANCE, record
    assert "compute_note" not in record
    assert record["compute_flops_counted"] == pytest.approx(bought["compute_flops"], rel=0.01)  # plan = count
    assert 0 < record["compute_sample_flops"] < record["compute_flops_counted"]


def test_a_count_off_the_budget_says_why():
    bought = {"compute_mode": "flops", "compute_budget": 100.0, "compute_flops_per_unit": 30.0,
              "compute_over_budget": 0.0}
    assert "whole units" in counted_record(bought, 80.0, 5.0)["compute_note"]
    assert "differs" in counted_record(bought, 140.0, 5.0)["compute_note"]
    assert "exceed the budget" in counted_record({**bought, "compute_over_budget": 1.0}, 300.0, 5.0)["compute_note"]
    steps_mode = counted_record({"compute_mode": "steps"}, 80.0, 5.0)
    assert steps_mode == {"compute_flops_counted": 80.0, "compute_sample_flops": 5.0}  # no budget to compare to


def test_a_torch_without_the_dispatch_mode_runs_uncounted_and_says_so(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dispatch(name, *args, **kwargs):
        if name == "torch.utils._python_dispatch":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dispatch)
    counter = counting()
    with counter:
        torch.ones(3) @ torch.ones(3)
    record = counted_record({"compute_mode": "flops", "compute_budget": 10.0}, counter.total, 0.0)
    assert "not counted" in record["compute_note"] and "compute_counted_vs_budget" not in record

"""Compute budgets: the FLOP counter agrees with torch's, measured costs predict real fits, and a
FLOPs budget gives every learned arm the same compute."""
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from augbench.benchmark.settings import ComputeSettings
from augbench import datasets
from augbench.benchmark.cli import build_parser
from augbench.benchmark.compute import _fit_cost, _flop_counter, measure, plan_length
from augbench.benchmark.gridfile import spec_from_args
from augbench.core.errors import UserError


def test_counter_matches_torchs_flop_counter_on_forward_and_backward():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 28 * 28, 10))
    x = torch.randn(4, 1, 28, 28)
    ours = _flop_counter()
    with ours:
        model(x).sum().backward()
    reference = FlopCounterMode(display=False)
    with reference:
        model(x).sum().backward()
    assert ours.total == reference.get_total_flops() > 0
    # the linear layer alone, by hand: forward 2*N*in*out, backward twice that (input and weight grads)
    linear = nn.Linear(64, 32)
    ours = _flop_counter()
    with ours:
        linear(torch.randn(5, 64, requires_grad=True)).sum().backward()
    assert ours.total == 3 * 2 * 5 * 64 * 32


@pytest.fixture(scope="module")
def real(data_dir):
    train = datasets.load_dataset("pneumonia", data_dir=data_dir).train
    idx = np.concatenate([np.flatnonzero(train.labels == c)[:48] for c in (0, 1)])
    return train.images[idx], train.labels[idx]


SMALL = {"dcgan": {"batch_size": 16, "base_channels": 8},
         "bagan-gp": {"batch_size": 16, "width": 0.25, "ae_epochs": 1},
         "latent-smote": {"batch_size": 16, "base_channels": 8},
         "opengan": {"batch_size": 16, "base_channels": 8, "encoder_steps": 20, "encoder_channels": 8}}


@pytest.mark.parametrize("arm, units", [("dcgan", 6), ("bagan-gp", 5), ("latent-smote", 3), ("opengan", 4)])
def test_measured_cost_predicts_the_flops_of_a_longer_fit(real, arm, units):
    images, labels = real  # 96 images = 6 batches of 16: the measuring fits run on 4 of them
    cost = measure(arm, SMALL[arm], images, labels, 2)
    knob = cost.knob
    actual, _ = _fit_cost(arm, {**SMALL[arm], knob: units}, images, labels, 2, "cpu", 0)
    assert cost.unit_flops > 0
    # steps cost the same on any pool; passes (pre-training, epochs) are scaled from 4 to 6 batches
    assert cost.flops(units) == pytest.approx(actual, rel=0.05 if knob == "epochs" or cost.fixed_flops else 1e-9)


@pytest.fixture(scope="module")
def larger(data_dir):
    train = datasets.load_dataset("pneumonia", data_dir=data_dir).train
    idx = np.concatenate([np.flatnonzero(train.labels == c)[:100] for c in (0, 1)])
    return train.images[idx], train.labels[idx]


@pytest.mark.parametrize("arm", ["opengan", "bagan-gp"])
def test_fixed_costs_counted_in_steps_are_not_scaled_by_the_pool(larger, arm):
    """200 images = 12.5 batches, measured on 4 and 8: opengan's encoder phase is counted in steps
    (the same on any pool) beside its feature bank (one pass); bagan-gp's pre-training is epochs. A
    cost that scaled the whole fixed part by the pool ratio was 2.09x (opengan) and 1.05x (bagan-gp)
    the real fit's FLOPs here."""
    images, labels = larger
    cost = measure(arm, SMALL[arm], images, labels, 2)
    actual, _ = _fit_cost(arm, {**SMALL[arm], cost.knob: 3}, images, labels, 2, "cpu", 0)
    assert cost.fixed_flops > 0
    assert cost.flops(3) == pytest.approx(actual, rel=0.03)


def test_a_flops_budget_gives_each_arm_the_same_compute_within_one_unit(real, tmp_path):
    images, labels = real
    budget = 2e11
    got = {}
    for arm in ("dcgan", "bagan-gp", "latent-smote"):
        settings, bought = plan_length(ComputeSettings(budget="flops", flops=budget), arm, SMALL[arm], images, labels, 2,
                                       device="cpu", seed=0, cache_dir=tmp_path)
        assert settings[bought["compute_knob"]] == bought["compute_units"]
        assert budget - bought["compute_flops_per_unit"] < bought["compute_flops"] <= budget
        assert bought["compute_flops_per_unit"] < 0.05 * budget  # a unit fine enough to land within 5 %
        got[arm] = bought["compute_units"]
    assert bought["compute_knob"] == "steps"  # latent-smote: steps, not whole epochs
    assert got["dcgan"] > got["bagan-gp"]  # a bagan-gp step costs more, and pre-training comes first
    assert list(tmp_path.glob("*.json"))  # measured once, then cached


def test_steps_mode_leaves_settings_and_reports_the_cost(real, tmp_path):
    images, labels = real
    settings, bought = plan_length(None, "dcgan", {**SMALL["dcgan"], "steps": 7}, images, labels, 2, device="cpu",
                                   seed=0, cache_dir=tmp_path)
    assert settings["steps"] == 7 and bought["compute_mode"] == "steps" and bought["compute_units"] == 7
    assert bought["compute_flops"] == pytest.approx(7 * bought["compute_flops_per_unit"])


def _spec(*settings):
    return spec_from_args(build_parser().parse_args(["run", "--dataset", "pneumonia", "--preset", "smoke",
                                                     "--generators", "dcgan", *settings]))[0]


@pytest.mark.parametrize("settings, words", [(["compute.budget=flops"], "needs compute.flops"),
                                              (["compute.budget=minutes"], "not one of"),
                                              (["compute.budget=flops", "compute.flops=-1"], "positive")])
def test_bad_compute_blocks_fail_before_the_run(settings, words):
    with pytest.raises(UserError, match=words):
        _spec(*settings)


def test_a_compute_block_enters_the_fit_hash_only_when_set():
    plain, budgeted = _spec(), _spec("compute.budget=flops", "compute.flops=1e12")
    assert "compute" not in plain.fits()[0].config()
    assert budgeted.fits()[0].config()["compute"] == {"budget": "flops", "flops": 1e12}
    assert plain.fits()[0].hash != budgeted.fits()[0].hash

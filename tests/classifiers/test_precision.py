"""The classifier's precision: float32 on CPU by default (the published recipe), ``cpu_bf16: auto``
= bf16 autocast only where the CPU has native bf16, ``cpu_bf16: true`` = bf16 on any CPU."""
import pytest
import torch
from torch import nn

from augbench.classifiers._precision import training_precision
from augbench.classifiers.training import TrainConfig, train_classifier
from augbench.core.errors import UserError
from augbench.core.precision import ENV_VAR

CPU = torch.device("cpu")


@pytest.mark.parametrize("env", ["0", "1"])
def test_cpu_default_is_float32_whatever_the_cpu(monkeypatch, env):
    monkeypatch.setenv(ENV_VAR, env)
    assert training_precision(CPU, True, False).dtype is None
    assert TrainConfig().cpu_bf16 is False


@pytest.mark.parametrize("env, expected", [("0", None), ("1", torch.bfloat16)])
def test_cpu_bf16_auto_follows_detection(monkeypatch, env, expected):
    monkeypatch.setenv(ENV_VAR, env)
    assert training_precision(CPU, True, "auto").dtype is expected


def test_cpu_bf16_true_still_forces_bf16(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "0")
    assert training_precision(CPU, True, True).dtype is torch.bfloat16


def test_a_bad_cpu_bf16_value_is_a_user_error():
    with pytest.raises(UserError, match="cpu_bf16"):
        training_precision(CPU, True, "sometimes")


@pytest.mark.parametrize("env, cpu_bf16, dtype", [("0", "auto", torch.float32), ("1", "auto", torch.bfloat16),
                                                   ("1", False, torch.float32)])
def test_training_runs_and_reports_the_resolved_precision(monkeypatch, toy, env, cpu_bf16, dtype):
    monkeypatch.setenv(ENV_VAR, env)
    seen = set()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 14 * 14, 2))
    model[0].register_forward_hook(lambda module, args, out: seen.add(out.dtype) if module.training else None)
    result = train_classifier(model, toy(32, seed=0), toy(16, seed=1),
                              TrainConfig(epochs=1, batch_size=16, cpu_bf16=cpu_bf16), n_classes=2)
    assert seen == {dtype}
    assert result.precision.startswith("bf16" if dtype is torch.bfloat16 else "float32")

"""``amp`` in every learned arm: bf16 autocast on CPU only where the CPU runs bf16 natively.

Detection is forced with AUGBENCH_CPU_BF16 so both outcomes are checked on any machine; what a fit
really ran in is observed on the convolutions' output dtypes during training.
"""
import numpy as np
import pytest
import torch
from torch import nn

from augbench.benchmark.presets import load_preset
from augbench.core.errors import UserError
from augbench.core.precision import ENV_VAR
from augbench.generators import create_generator, generator_names

TINY = {"bagan": dict(ae_epochs=1, gan_steps=1, batch_size=4, width=0.125),
        "bagan-gp": dict(ae_epochs=1, gan_steps=1, batch_size=4, width=0.125, bn_recalibration=0),
        "dcgan": dict(steps=1, batch_size=4, base_channels=4)}


def _learned_arms():
    return [g for g in generator_names() if create_generator(g).learned]


@pytest.fixture
def conv_dtypes(monkeypatch):
    """Output dtypes of every (transposed) convolution run with autograd on, i.e. in training."""
    seen = set()
    for cls in (nn.Conv2d, nn.ConvTranspose2d):
        original = cls.forward

        def spy(self, *args, _original=original, **kwargs):
            out = _original(self, *args, **kwargs)
            if torch.is_grad_enabled():
                seen.add(out.dtype)
            return out

        monkeypatch.setattr(cls, "forward", spy)
    return seen


def _quick(arm: str, **overrides) -> dict:
    """The quick preset's settings for ``arm`` with networks and steps shrunk for a test."""
    return {**load_preset("quick")["generators"][arm], **TINY[arm], **overrides}


def _fit(arm: str, **config):
    images = np.random.default_rng(0).integers(0, 256, (12, 28, 28, 3), dtype=np.uint8)
    return create_generator(arm, **config).fit(images, np.arange(12) % 3, 3, seed=0)


@pytest.mark.parametrize("arm", ["bagan", "bagan-gp"])
def test_quick_preset_amp_runs_float32_on_a_cpu_without_native_bf16(monkeypatch, conv_dtypes, arm):
    monkeypatch.setenv(ENV_VAR, "0")
    config = _quick(arm)
    assert config["amp"] is True  # the preset asks for mixed precision where it helps
    assert create_generator(arm, **config).precision_for("cpu").dtype is None
    gen = _fit(arm, **config)
    assert conv_dtypes == {torch.float32}
    assert gen.describe()["precision"].startswith("float32") and "lacks native bf16" in gen.describe()["precision"]


@pytest.mark.parametrize("arm", ["bagan", "bagan-gp"])
def test_quick_preset_amp_runs_bf16_on_a_cpu_with_native_bf16(monkeypatch, conv_dtypes, arm):
    monkeypatch.setenv(ENV_VAR, "1")
    gen = _fit(arm, **_quick(arm))
    assert gen.precision.dtype is torch.bfloat16
    assert torch.bfloat16 in conv_dtypes
    assert gen.describe()["precision"].startswith("bf16 autocast")
    assert np.isfinite([v for row in gen.history for k, v in row.items() if k not in ("phase",)]).all()


@pytest.mark.parametrize("env, amp, uses_bf16", [("1", "float32", False), ("1", False, False), ("0", "bf16", True)])
def test_an_explicit_setting_wins_over_detection(monkeypatch, conv_dtypes, env, amp, uses_bf16):
    monkeypatch.setenv(ENV_VAR, env)
    _fit("bagan-gp", **_quick("bagan-gp", amp=amp))
    if uses_bf16:
        assert torch.bfloat16 in conv_dtypes
    else:
        assert conv_dtypes == {torch.float32}


def test_conditional_gans_resolve_amp_the_same_way(monkeypatch, conv_dtypes):
    monkeypatch.setenv(ENV_VAR, "1")
    gen = _fit("dcgan", **TINY["dcgan"], amp=True)
    assert torch.bfloat16 in conv_dtypes and gen.describe()["precision"].startswith("bf16")
    conv_dtypes.clear()
    monkeypatch.setenv(ENV_VAR, "0")
    gen = _fit("dcgan", **TINY["dcgan"], amp=True)
    assert conv_dtypes == {torch.float32} and gen.describe()["precision"].startswith("float32")


@pytest.mark.parametrize("preset", ["smoke", "quick", "paper"])
def test_no_learned_arm_defaults_to_bf16_on_a_cpu_without_native_bf16(monkeypatch, preset):
    """The issue's done-when: with detection forced off, nothing resolves to bf16 autocast by default."""
    monkeypatch.setenv(ENV_VAR, "0")
    settings = load_preset(preset)["generators"]
    for arm in _learned_arms():
        resolved = create_generator(arm, **settings.get(arm, {})).precision_for("cpu")
        assert resolved.dtype is None, (preset, arm, resolved.label)


def test_ddpm_stays_float32_on_cpu_unless_bf16_is_forced(monkeypatch):
    """Its U-Net measured slower in bf16 even on a CPU with AMX (perf/cpu_precision.py)."""
    monkeypatch.setenv(ENV_VAR, "1")
    assert create_generator("ddpm").precision_for("cpu").dtype is None
    assert create_generator("ddpm", amp="bf16").precision_for("cpu").dtype is torch.bfloat16
    assert create_generator("latent-smote").precision_for("cpu").dtype is torch.bfloat16


def test_unknown_amp_values_fail_when_the_arm_is_built():
    for arm in _learned_arms():
        with pytest.raises(UserError, match="amp"):
            create_generator(arm, amp="fast")

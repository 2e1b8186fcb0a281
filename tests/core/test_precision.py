"""core/precision.py: native-bf16 detection, its override, and what each setting resolves to."""
import platform
from pathlib import Path

import pytest
import torch

import augbench.core.precision as precision
from augbench.core.errors import UserError
from augbench.core.precision import ENV_VAR, cpu_bf16_support, parse_setting, resolve_precision


@pytest.fixture
def fresh_probe():
    """Forget the cached hardware probe before and after a test that fakes the hardware."""
    precision._probe_cpu.cache_clear()
    yield
    precision._probe_cpu.cache_clear()


@pytest.mark.parametrize("value, expected", [(True, "auto"), ("auto", "auto"), (" AUTO ", "auto"), (False, "float32"),
                                             ("float32", "float32"), ("fp32", "float32"), ("bf16", "bf16"),
                                             ("bfloat16", "bf16")])
def test_setting_spellings(value, expected):
    assert parse_setting(value) == expected


@pytest.mark.parametrize("value", ["yes", "fp16", 1, 0, None, 2.0])
def test_unknown_settings_are_user_errors_naming_the_key(value):
    with pytest.raises(UserError, match="cpu_bf16="):
        parse_setting(value, key="cpu_bf16")


def test_override_off_makes_auto_float32_on_cpu(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "0")
    assert not cpu_bf16_support().native
    p = resolve_precision("cpu", True)
    assert p.dtype is None and p.name == "float32"
    assert "lacks native bf16" in p.label and ENV_VAR in p.label


def test_override_on_makes_auto_bf16_on_cpu(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    p = resolve_precision(torch.device("cpu"), "auto")
    assert p.dtype is torch.bfloat16 and p.name == "bf16" and "native bf16" in p.label


@pytest.mark.parametrize("env", ["0", "1", "auto"])
def test_explicit_settings_win_over_detection(monkeypatch, env):
    monkeypatch.setenv(ENV_VAR, env)
    assert resolve_precision("cpu", "bf16").dtype is torch.bfloat16
    assert resolve_precision("cpu", "float32").dtype is None
    assert resolve_precision("cpu", False).dtype is None


def test_forcing_bf16_on_a_cpu_without_it_says_it_will_be_slow(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "0")
    assert "expect it slow" in resolve_precision("cpu", "bf16").label
    monkeypatch.setenv(ENV_VAR, "1")
    assert "slow" not in resolve_precision("cpu", "bf16").label


def test_a_bad_override_is_a_user_error(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "maybe")
    with pytest.raises(UserError, match=ENV_VAR):
        resolve_precision("cpu", True)


def test_autocast_context_really_runs_the_resolved_dtype(monkeypatch):
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    monkeypatch.setenv(ENV_VAR, "1")
    with resolve_precision("cpu", True).autocast():
        assert (a @ b).dtype is torch.bfloat16
    monkeypatch.setenv(ENV_VAR, "0")
    with resolve_precision("cpu", True).autocast():
        assert not torch.is_autocast_enabled("cpu")
        assert (a @ b).dtype is torch.float32


def _fake_x86(monkeypatch, *, avx512_bf16: bool, amx: bool, onednn: bool):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn, raising=False)


def test_an_avx2_only_cpu_is_not_native(monkeypatch, fresh_probe):
    """The AMD EPYC case: no bf16 flags and no oneDNN bf16 path -> float32 for ``amp: true``."""
    _fake_x86(monkeypatch, avx512_bf16=False, amx=False, onednn=False)
    assert not cpu_bf16_support().native
    assert resolve_precision("cpu", True).dtype is None


def test_plain_avx512_is_not_native_even_though_onednn_emulates_bf16(monkeypatch, fresh_probe):
    _fake_x86(monkeypatch, avx512_bf16=False, amx=False, onednn=True)
    support = cpu_bf16_support()
    assert not support.native and "AVX512-BF16" in support.reason


@pytest.mark.parametrize("avx512_bf16, amx", [(True, False), (False, True), (True, True)])
def test_bf16_flags_with_a_onednn_path_are_native(monkeypatch, fresh_probe, avx512_bf16, amx):
    _fake_x86(monkeypatch, avx512_bf16=avx512_bf16, amx=amx, onednn=True)
    assert cpu_bf16_support().native
    assert resolve_precision("cpu", True).dtype is torch.bfloat16


def test_bf16_flags_without_a_onednn_path_are_not_native(monkeypatch, fresh_probe):
    _fake_x86(monkeypatch, avx512_bf16=True, amx=True, onednn=False)
    assert not cpu_bf16_support().native


def test_detection_agrees_with_the_kernels_cpu_flags(monkeypatch, fresh_probe):
    """On this machine: the verdict matches /proc/cpuinfo (read independently of torch)."""
    cpuinfo = Path("/proc/cpuinfo")
    if platform.machine().lower() != "x86_64" or not cpuinfo.exists():
        pytest.skip("needs Linux on x86_64")
    monkeypatch.delenv(ENV_VAR, raising=False)
    flags = set(next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")).split())
    expected = bool({"avx512_bf16", "amx_bf16"} & flags) and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert cpu_bf16_support().native == expected


def test_detection_survives_a_torch_without_the_private_probes(monkeypatch, fresh_probe):
    """torch.cpu._is_* and torch.ops.mkldnn._is_mkldnn_bf16_supported are private: where a torch
    release drops them, the flags come from /proc/cpuinfo and a missing oneDNN probe means float32."""
    cpuinfo = Path("/proc/cpuinfo")
    if platform.machine().lower() != "x86_64" or not cpuinfo.exists():
        pytest.skip("needs Linux on x86_64")
    monkeypatch.delenv(ENV_VAR, raising=False)
    onednn = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    flags = set(next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")).split())
    assert cpu_bf16_support().native == (bool({"avx512_bf16", "amx_bf16"} & flags) and onednn)
    precision._probe_cpu.cache_clear()

    def gone():
        raise AttributeError("no such op")

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", gone, raising=False)
    assert not cpu_bf16_support().native
    assert resolve_precision("cpu", True).dtype is None


def test_cuda_resolution_without_a_gpu(monkeypatch):
    """Only the decision is tested (no GPU needed): native bf16, else fp16 where the loss is scaled."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert resolve_precision("cuda", True).dtype is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)  # emulated only
    assert resolve_precision("cuda:0", True, cuda_fp16=True).dtype is torch.float16
    assert resolve_precision("cuda", True).dtype is None
    assert resolve_precision("cuda", "bf16").dtype is torch.bfloat16
    assert resolve_precision("cuda", False).dtype is None

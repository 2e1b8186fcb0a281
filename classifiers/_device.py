"""Device and mixed-precision choices for classifier training, in one place.

(generators/_gan_utils.py has its own resolve_device; classifiers may not import generators.)
"""
from __future__ import annotations

import contextlib

import torch

from datasets.errors import UserError
from datasets.precision import Precision, parse_setting, resolve_precision


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> CUDA when present, else CPU; a CUDA request without CUDA is a user error."""
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise UserError(f"unknown device {device!r}.", "use 'auto', 'cpu', 'cuda' or 'cuda:N'.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} requested but PyTorch sees no CUDA GPU.",
                        "use --device cpu (or auto), or install a CUDA build of PyTorch.")
    if dev.type not in ("cpu", "cuda"):
        raise UserError(f"device {device!r} is not supported.", "use 'auto', 'cpu' or 'cuda[:N]'.")
    return dev


def training_precision(device: torch.device, amp: bool, cpu_bf16=False) -> Precision:
    """The classifier's precision, resolved by datasets/precision.py like the generators' ``amp``.

    CUDA with ``amp``: bfloat16 where the GPU has it natively (no loss scaling needed), float16
    with loss scaling on older GPUs. On CPU float32 stays the default because the MedMNIST reference
    recipe is float32; ``cpu_bf16`` opts in: ``"auto"`` = bf16 autocast only where the CPU runs bf16
    natively (AVX512-BF16/AMX; elsewhere it is ~19x slower), ``True`` = bf16 on any CPU.
    """
    if device.type == "cuda":
        return resolve_precision(device, bool(amp), key="amp", cuda_fp16=True)
    return resolve_precision(device, _cpu_setting(cpu_bf16), key="cpu_bf16")


def _cpu_setting(cpu_bf16) -> str:
    """``cpu_bf16`` predates ``auto``: there ``True`` forces bf16 (as it always did)."""
    if cpu_bf16 is True:
        return "bf16"
    if cpu_bf16 is False or cpu_bf16 is None:
        return "float32"
    return parse_setting(cpu_bf16, key="cpu_bf16")


def autocast_dtype(device: torch.device, amp: bool, cpu_bf16=False) -> torch.dtype | None:
    """The autocast dtype of :func:`training_precision` (None = float32)."""
    return training_precision(device, amp, cpu_bf16).dtype


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)

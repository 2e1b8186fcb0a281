"""Device and mixed-precision choices for classifier training, in one place.

(generators/_gan_utils.py has its own resolve_device; classifiers may not import generators.)
"""
from __future__ import annotations

import contextlib

import torch

from datasets.errors import UserError


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


def autocast_dtype(device: torch.device, amp: bool, cpu_bf16: bool) -> torch.dtype | None:
    """bfloat16 where the GPU has it (no loss scaling needed), float16 on older GPUs, None for float32.

    On CPU reduced precision is opt-in only (``cpu_bf16``): it is much faster on CPUs with AMX, but
    the MedMNIST reference recipe is float32.
    """
    if device.type == "cuda" and amp:
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_bf16:
        return torch.bfloat16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)

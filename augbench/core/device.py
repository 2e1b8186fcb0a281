"""Which device a piece of work runs on: one resolver for arms, classifiers, extractors and the runner.

``auto`` is resolved where the work runs (a Ray worker may have a GPU the driver lacks), and a CUDA
request on a machine without CUDA is the user's to fix, so it is an error here rather than a crash
deep inside the first forward pass.
"""
from __future__ import annotations

import torch

from augbench.core.errors import UserError


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> CUDA when present, else CPU; 'cpu', 'cuda' and 'cuda:N' as given, checked."""
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
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UserError(f"device {device!r} requested but only {torch.cuda.device_count()} GPU(s) are visible.",
                        f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}, or auto.")
    if dev.type not in ("cpu", "cuda"):
        raise UserError(f"device {device!r} is not supported.", "use 'auto', 'cpu' or 'cuda[:N]'.")
    return dev


def runtime_device(device: str) -> str:
    """The device string with 'auto' decided on this machine (the others pass through unchecked)."""
    return str(resolve_device(device)) if device == "auto" else device


def cuda_indices(device: str | torch.device) -> list[int]:
    """The CUDA device indices whose RNG a seeded block must fork ([] on CPU)."""
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    if dev.type != "cuda":
        return []
    return [dev.index if dev.index is not None else torch.cuda.current_device()]

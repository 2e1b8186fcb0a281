"""Input checks and device helpers shared by the non-adversarial learned arms (ddpm, latent-smote).

Both take their settings as constructor keywords from presets and the CLI, so a typo must fail with
the list of valid names instead of being silently ignored.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext

import numpy as np
import torch

from datasets.errors import UserError


def merge_config(name: str, defaults: dict, config: dict) -> dict:
    """Defaults overlaid with the user's settings (``None`` = keep the default); unknown keys are errors."""
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise UserError(f"generator {name!r} has no setting(s) {', '.join(unknown)}.",
                        f"use only: {', '.join(sorted(defaults))}.")
    return {**defaults, **{k: v for k, v in config.items() if v is not None}}


def check_labels(name: str, images: np.ndarray, labels: np.ndarray, n_classes: int) -> None:
    if len(labels) != len(images) or len(images) == 0:
        raise UserError(f"{name}: got {len(images)} images and {len(labels)} labels.",
                        "pass one label per image and at least one image.")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise UserError(f"{name}: labels span {labels.min()}..{labels.max()} but n_classes={n_classes}.",
                        "pass labels in 0..n_classes-1 (or the right n_classes).")


def device_generator(device: torch.device, seed: int) -> torch.Generator:
    """A seeded RNG living on ``device``, so training noise is drawn where it is used."""
    return torch.Generator(device=device).manual_seed(int(seed))


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on CUDA when enabled (no loss scaling needed); a no-op on the CPU."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@contextmanager
def private_global_rng(seed: int, device: torch.device):
    """Seed torch's global RNGs for a fit (weight init, dropout) and restore the caller's state after.

    Modules such as ``nn.Dropout`` can only draw from the global generator; without this a fit's
    result would depend on whatever ran before it.
    """
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield

"""Plumbing shared by the two autoencoder-initialised GANs (``bagan`` and ``bagan-gp``).

Both papers train an autoencoder first and then an adversarial phase, take their sizes from a
config dict, must reproduce a run from its seed and must stop on NaN. Keeping that plumbing here
means the two backend modules contain only what their papers disagree on: networks, latent prior
and losses.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from augbench.core.errors import DataError, UserError
from augbench.generators.base import check_finite

SUPPORTED_SIZES = (28, 32, 64)
#: settings that size a tensor, checked by merge_config
BAGAN_POSITIVE_INTS = ("batch_size", "latent_dim")


def check_choice(name: str, key: str, value, choices: tuple) -> None:
    if value not in choices:
        raise UserError(f"{name}: {key}={value!r} is not one of {', '.join(map(repr, choices))}.",
                        f"set {key} to one of {', '.join(map(repr, choices))}.")


def check_image_shape(name: str, image_shape: tuple[int, int, int]) -> None:
    """The networks are laid out for exactly these sizes; anything else would fail deep inside a conv."""
    height, width, channels = image_shape
    if height != width or height not in SUPPORTED_SIZES or channels not in (1, 3):
        raise UserError(
            f"generator {name!r} supports square 28, 32 or 64 px images with 1 or 3 channels, "
            f"got {height}x{width}x{channels}.",
            "load the dataset at image size 28, 32 or 64 (grey or RGB).",
        )


def check_sample_label(name: str, label: int, class_counts: list[int]) -> None:
    """A class the model never saw has no fitted prior (BAGAN) or an untrained embedding (BAGAN-GP)."""
    if not 0 <= label < len(class_counts):
        raise UserError(f"{name}: class {label} is out of range for {len(class_counts)} classes.",
                        f"ask for a class in 0..{len(class_counts) - 1}.")
    if class_counts[label] == 0:
        raise DataError(f"{name}: class {label} had no training images, so it cannot be generated.",
                        "fit the generator on data that contains at least one image of that class.")


def scaled(channels: int, width: float) -> int:
    """Channel count under the width multiplier (tests shrink nets; 1.0 is the paper's size)."""
    return max(1, int(round(channels * float(width))))


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    return max(1, math.ceil(n_images / batch_size))


def adam(params, lr: float, betas: tuple[float, float], eps: float, device: torch.device) -> torch.optim.Adam:
    """Adam with the fused kernel where PyTorch has one (CPU, CUDA): several times faster per step
    on the 5 M-parameter critics, which step five times per generator step."""
    return torch.optim.Adam(params, lr=float(lr), betas=(float(betas[0]), float(betas[1])), eps=float(eps),
                            fused=device.type in ("cpu", "cuda"))


def requires_grad(module: nn.Module, flag: bool) -> None:
    """Freeze the critic during a generator step so no time goes into its unused weight gradients."""
    for p in module.parameters():
        p.requires_grad_(flag)


def log_losses(history: list[dict], name: str, phase: str, step: int, **losses) -> dict:
    """Append one finite record to ``history`` (the training-curve source) or raise DivergenceError."""
    values = {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in losses.items()}
    check_finite(name, step, **values)
    record = {"phase": phase, "step": int(step), **values}
    history.append(record)
    return record


def class_counts(labels: np.ndarray, n_classes: int) -> list[int]:
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"labels must lie in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}.",
                        "pass n_classes equal to the dataset's number of classes.")
    return np.bincount(labels, minlength=n_classes).tolist()

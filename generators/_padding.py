"""Let power-of-two networks (U-Net, conv autoencoder) accept 28 px MedMNIST images.

Strided convolutions halve the size at every level, so 28 px would not survive three downsamplings
cleanly; padding to the next multiple and cropping the output back keeps every arm's images at the
dataset's exact size while the network sees a size it can halve.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Zero-pad NCHW ``x`` on the bottom/right to a multiple of ``multiple``; return it and the old (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))
    return x, (h, w)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo ``pad_to_multiple``."""
    return x[..., : size[0], : size[1]]

"""The single uint8 <-> network-tensor convention (MedMNIST's Normalize(0.5, 0.5) -> [-1, 1]).

Generators emit tanh outputs in [-1, 1] and classifiers consume the same range, so synthetic and
real images pass through exactly the same conversion.
"""
from __future__ import annotations

import numpy as np
import torch


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> float32 NCHW in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return t.div_(127.5).sub_(1.0)


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    """float NCHW in [-1, 1] -> uint8 NHWC (clipped, rounded)."""
    t = tensor.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round()
    return t.permute(0, 2, 3, 1).to(torch.uint8).numpy()

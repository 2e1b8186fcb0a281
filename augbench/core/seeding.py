"""Seeding, once: every fit, cell and network build draws from its own seed.

Weight initialisation and dropout can only draw from torch's global RNG, so without a seeded fork a
result would depend on whatever ran earlier in the same process (the previous cell, another arm).
Forking restores the caller's state afterwards.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from augbench.core.device import cuda_indices


@contextmanager
def seeded_global_rng(seed: int, device: str | torch.device = "cpu"):
    """Seed torch's global CPU RNG (and ``device``'s, on CUDA) for the block; restore it after."""
    with torch.random.fork_rng(devices=cuda_indices(device)):
        torch.manual_seed(int(seed))
        yield


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A private seeded RNG on ``device``, so noise is drawn where it is used and from no shared state."""
    return torch.Generator(device=device).manual_seed(int(seed))

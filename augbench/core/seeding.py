"""Seeding, once: every fit, cell and network build draws from its own seed.

Weight initialisation and dropout can only draw from torch's global RNG, so without a seeded fork a
result would depend on whatever ran earlier in the same process (the previous cell, another arm).
Forking restores the caller's state afterwards.

Every rule that derives one seed from another lives here as a named function, so ``grep`` finds one
place per rule and no module invents its own offset. The values are frozen: changing one changes
every seeded sample and fit the benchmark has recorded (scripts/fingerprint_outputs.py checks it).
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from augbench.core.device import cuda_indices

#: seeds per fit seed in the class rule: class c of fit seed s samples from s * CLASS_STRIDE + c
CLASS_STRIDE = 1000
#: the DiffAugment stream sits this far from the fit seed (a prime, so it meets no other rule's offset)
AUGMENT_OFFSET = 7919
#: the fork load() rebuilds networks in: their init is overwritten by the saved weights, so any fixed
#: seed serves; fixed, so loading never moves the caller's RNG and never depends on it
LOAD_SEED = 0


@contextmanager
def seeded_global_rng(seed: int, device: str | torch.device = "cpu"):
    """Seed torch's global CPU RNG (and ``device``'s, on CUDA) for the block; restore it after."""
    with torch.random.fork_rng(devices=cuda_indices(device)):
        torch.manual_seed(int(seed))
        yield


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A private seeded RNG on ``device``, so noise is drawn where it is used and from no shared state."""
    return torch.Generator(device=device).manual_seed(int(seed))


# --- derived seeds ------------------------------------------------------------------------------------
def class_seed(seed: int, label: int) -> int:
    """The sampling seed of class ``label`` under fit seed ``seed`` (``Generator.resample``): a class's
    images do not depend on which other classes are topped up, and the API and the CLI agree."""
    return int(seed) * CLASS_STRIDE + int(label)


def noise_seed(seed: int) -> int:
    """The seed of a learned arm's training noise (latents, timesteps, penalty pairs): one above the
    fit seed, which the batch stream and the network build use, so the two streams never coincide."""
    return int(seed) + 1


def augment_seed(seed: int) -> int:
    """The seed of a fit's DiffAugment stream: its own, so switching the policy on or off does not move
    the draws of the networks' noise."""
    return int(seed) + AUGMENT_OFFSET


def salted_rng(*words: int) -> np.random.Generator:
    """A numpy RNG from a seed and salts (``salted_rng(seed, label, 1)``): SeedSequence mixes the words,
    so streams that differ in one salt are independent, not shifted copies of each other."""
    return np.random.default_rng(np.random.SeedSequence([int(w) for w in words]))

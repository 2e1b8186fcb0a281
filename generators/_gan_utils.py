"""Pieces every adversarial backend needs, kept in one place so the backends differ only where their
papers differ: the gradient penalty (with the alpha distribution as an explicit choice, because
BAGAN-GP's reference code draws it from N(0, 1) where the paper says U(0, 1)), DCGAN weight init,
seeded batch iteration and latent draws.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from augbench.datasets.transforms import to_tensor


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *critic_args, alpha: str = "uniform",
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """mean((||grad_x D(x_hat)||_2 - 1)^2) with x_hat = real + a (fake - real), a per sample.

    ``alpha='uniform'`` is WGAN-GP's a ~ U(0, 1); ``alpha='normal'`` reproduces the BAGAN-GP
    reference code's a ~ N(0, 1). Extra ``critic_args`` (e.g. labels) are passed to the critic.
    """
    shape = (real.size(0),) + (1,) * (real.dim() - 1)
    if alpha == "uniform":
        a = torch.rand(shape, generator=generator, device="cpu").to(real.device, real.dtype)
    elif alpha == "normal":
        a = torch.randn(shape, generator=generator, device="cpu").to(real.device, real.dtype)
    else:
        raise ValueError(f"alpha must be 'uniform' or 'normal', not {alpha!r}")
    x_hat = (real.detach() + a * (fake.detach() - real.detach())).requires_grad_(True)
    out = critic(x_hat, *critic_args)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) conv weights with zero bias, BN gamma N(1, 0.02): the DCGAN paper's init."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d,)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class BatchStream:
    """Endless shuffled minibatches of (images in [-1, 1], labels), reproducible for a seed.

    Tiny budgets (10 images) are smaller than a batch: batches are then drawn with replacement so
    every step still sees ``batch_size`` images.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, device="cpu"):
        self.x = to_tensor(images)
        self.y = torch.as_tensor(labels, dtype=torch.long)
        self.batch_size = int(batch_size)
        self.rng = np.random.default_rng(seed)
        self.device = device
        self._order = np.empty(0, dtype=np.int64)

    def __iter__(self):
        return self

    def __next__(self):
        n = len(self.y)
        if n < self.batch_size:
            idx = self.rng.integers(0, n, self.batch_size)
        else:
            if len(self._order) < self.batch_size:
                self._order = self.rng.permutation(n)
            idx, self._order = self._order[: self.batch_size], self._order[self.batch_size:]
        idx = torch.from_numpy(np.asarray(idx))
        return self.x[idx].to(self.device), self.y[idx].to(self.device)


def balanced_labels(n: int, n_classes: int, generator: torch.Generator, device="cpu") -> torch.Tensor:
    """Uniform class labels for fake samples: the rebalancing draw BAGAN-style GANs rely on."""
    return torch.randint(0, n_classes, (n,), generator=generator).to(device)

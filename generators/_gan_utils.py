"""Pieces every adversarial backend needs, kept in one place so the backends differ only where their
papers differ: the gradient penalty (with the alpha distribution as an explicit choice, because
BAGAN-GP's reference code draws it from N(0, 1) where the paper says U(0, 1)), the non-saturating
BCE terms, DCGAN weight init, seeded batch iteration and latent draws.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

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


def bce_real_fake(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's BCE: reals towards 1, fakes towards 0 (Goodfellow et al. 2014)."""
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def bce_as_real(logits: torch.Tensor) -> torch.Tensor:
    """The generator's non-saturating BCE: its fakes scored towards 1, which keeps a gradient when
    the discriminator wins early (the saturating log(1 - D) would vanish there)."""
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


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


#: how a learned arm's real batches (and a conditional arm's generator-step labels) are drawn over
#: classes: ``natural`` = as the budgeted split has them (at budget 10 on isic ~1 % minority images),
#: ``balanced`` = every present class equally often, ``sqrt`` = in proportion to sqrt(class count)
CLASS_SAMPLING = ("natural", "balanced", "sqrt")


def class_shares(labels: np.ndarray, n_classes: int, mode: str) -> np.ndarray:
    """The share of draws each class gets under ``mode`` (classes absent from ``labels`` get none)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes).astype(np.float64)
    if mode == "natural":
        weights = counts
    elif mode == "balanced":
        weights = (counts > 0).astype(np.float64)
    elif mode == "sqrt":
        weights = np.sqrt(counts)
    else:
        raise ValueError(f"class_sampling must be one of {', '.join(CLASS_SAMPLING)}, not {mode!r}")
    return weights / weights.sum()


class BatchStream:
    """Endless shuffled minibatches of (images in [-1, 1], labels), reproducible for a seed.

    ``natural``: epochs of a permutation of the split (tiny budgets, smaller than a batch, are drawn
    with replacement so every step still sees ``batch_size`` images). ``balanced`` / ``sqrt``: each
    step draws how many images of each class it takes from :func:`class_shares`, and takes them from
    that class's own endless permutation, so a rare class's images are cycled through, not repeated
    at random.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, device="cpu",
                 class_sampling: str = "natural"):
        self.x = to_tensor(images)
        self.y = torch.as_tensor(labels, dtype=torch.long)
        self.batch_size = int(batch_size)
        self.rng = np.random.default_rng(seed)
        self.device = device
        self._order = np.empty(0, dtype=np.int64)
        self.class_sampling = class_sampling
        labels = np.asarray(labels, dtype=np.int64)
        n_classes = int(labels.max()) + 1 if len(labels) else 0
        self.shares = class_shares(labels, n_classes, class_sampling)
        self._members = [np.flatnonzero(labels == c) for c in range(n_classes)]
        self._queues = [np.empty(0, dtype=np.int64) for _ in range(n_classes)]

    def __iter__(self):
        return self

    def __next__(self):
        idx = self._natural() if self.class_sampling == "natural" else self._by_class()
        idx = torch.from_numpy(np.asarray(idx))
        return self.x[idx].to(self.device), self.y[idx].to(self.device)

    def _natural(self) -> np.ndarray:
        n = len(self.y)
        if n < self.batch_size:
            return self.rng.integers(0, n, self.batch_size)
        if len(self._order) < self.batch_size:
            self._order = self.rng.permutation(n)
        idx, self._order = self._order[: self.batch_size], self._order[self.batch_size:]
        return idx

    def _by_class(self) -> np.ndarray:
        per_class = self.rng.multinomial(self.batch_size, self.shares)
        taken = []
        for c, k in enumerate(per_class):
            while len(self._queues[c]) < k:
                self._queues[c] = np.concatenate([self._queues[c], self.rng.permutation(self._members[c])])
            taken.append(self._queues[c][:k])
            self._queues[c] = self._queues[c][k:]
        return self.rng.permutation(np.concatenate(taken))


def drawn_labels(n: int, shares: np.ndarray, generator: torch.Generator, device="cpu") -> torch.Tensor:
    """Class labels for fake samples drawn like the real batches. Equal shares over every class use
    the very draw of :func:`balanced_labels`, so a balanced fit keeps the random stream it had."""
    if np.allclose(shares, 1.0 / len(shares)):
        return balanced_labels(n, len(shares), generator, device)
    probs = torch.as_tensor(shares, dtype=torch.float64)
    return torch.multinomial(probs, n, replacement=True, generator=generator).to(device)


def balanced_labels(n: int, n_classes: int, generator: torch.Generator, device="cpu") -> torch.Tensor:
    """Uniform class labels for fake samples: the rebalancing draw BAGAN-style GANs rely on."""
    return torch.randint(0, n_classes, (n,), generator=generator).to(device)

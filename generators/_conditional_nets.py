"""Convolutional generator and discriminator bodies shared by the conditional GAN backends.

One pair of networks sized by resolution keeps DCGAN, cWGAN-GP and InfoGAN comparable: they differ
only in loss, normalisation and how the class enters, not in capacity. Every supported size is
``s * 2**k`` with a 3..7 px seed grid (28 = 7*4, 32 = 4*8, 64 = 4*16), so the generator is k stride-2
transposed convolutions from an s x s grid and the discriminator is its mirror image.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from augbench.core.errors import UserError

NORMS = ("batch", "layer", "none")


def resolution_plan(image_size: int) -> tuple[int, int]:
    """(seed grid size s, number of x2 stages k) with image_size == s * 2**k, or a UserError."""
    size, stages = int(image_size), 0
    while size % 2 == 0 and size > 7:
        size //= 2
        stages += 1
    if stages < 2 or not 3 <= size <= 7:
        raise UserError(
            f"image size {image_size} px is not supported by the convolutional GAN backends.",
            "resize the dataset to 28, 32 or 64 px (any s * 2**k with 3 <= s <= 7 and k >= 2 works).",
        )
    return size, stages


def check_image_shape(image_shape: tuple[int, int, int]) -> None:
    """Square images with 1 or 3 channels only: the nets are built for exactly that."""
    height, width, channels = image_shape
    if height != width:
        raise UserError(f"images are {height}x{width} px; the GAN backends need square images.",
                        "resize or crop the dataset to a square size such as 28, 32 or 64 px.")
    if channels not in (1, 3):
        raise UserError(f"images have {channels} channels; the GAN backends handle 1 (grey) or 3 (RGB).",
                        "convert the dataset to greyscale or RGB.")
    resolution_plan(height)


def _norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        # one group = normalise over (C, H, W) of each sample: layer norm that never mixes samples,
        # which keeps the per-sample gradient penalty of WGAN-GP well defined
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, not {kind!r}")


class ConditionalGenerator(nn.Module):
    """z (+ class) -> tanh image. The class enters as a learned embedding, or one-hot when
    ``embed_dim`` is 0 (InfoGAN, whose categorical code *is* a one-hot input). With ``cond_dim`` the
    condition is a given real vector of that length instead of a label (opengan's class features)."""

    def __init__(self, image_size: int, channels: int, latent_dim: int, n_classes: int,
                 base_channels: int, embed_dim: int = 0, cond_dim: int | None = None):
        super().__init__()
        seed_size, stages = resolution_plan(image_size)
        self.n_classes = int(n_classes)
        self.vector_condition = cond_dim is not None
        self.embed = nn.Embedding(n_classes, embed_dim) if embed_dim > 0 and cond_dim is None else None
        if cond_dim is None:
            cond_dim = embed_dim if embed_dim > 0 else n_classes
        width = base_channels * 2 ** (stages - 1)
        self.seed_shape = (width, seed_size, seed_size)
        self.project = nn.Linear(latent_dim + cond_dim, width * seed_size * seed_size, bias=False)
        self.seed_norm = nn.BatchNorm2d(width)
        ups: list[nn.Module] = []
        for _ in range(stages - 1):
            ups += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                    nn.ReLU(True)]
            width //= 2
        ups += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.ups = nn.Sequential(*ups)

    def condition(self, y: torch.Tensor) -> torch.Tensor:
        if self.vector_condition:
            return y.to(self.project.weight.dtype)
        if self.embed is not None:
            return self.embed(y)
        return F.one_hot(y, self.n_classes).to(self.project.weight.dtype)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.project(torch.cat([z, self.condition(y)], dim=1)).view(-1, *self.seed_shape)
        return self.ups(F.relu(self.seed_norm(h)))


class ConvTrunk(nn.Module):
    """Strided-conv feature extractor mirroring the generator. With ``n_classes`` the label is fed
    as an extra learned H x W input plane (cGAN-style input concatenation)."""

    def __init__(self, image_size: int, channels: int, base_channels: int, norm: str = "batch",
                 n_classes: int | None = None):
        super().__init__()
        seed_size, stages = resolution_plan(image_size)
        self.image_size = int(image_size)
        self.label_plane = nn.Embedding(n_classes, image_size * image_size) if n_classes else None
        width = base_channels
        layers: list[nn.Module] = [nn.Conv2d(channels + (1 if n_classes else 0), width, 4, 2, 1),
                                   nn.LeakyReLU(0.2, True)]  # no norm on the input layer (DCGAN paper)
        for _ in range(stages - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=(norm == "none")), _norm2d(norm, width * 2),
                       nn.LeakyReLU(0.2, True)]
            width *= 2
        self.convs = nn.Sequential(*layers)
        self.out_features = width * seed_size * seed_size

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_plane is not None:
            plane = self.label_plane(y).view(-1, 1, self.image_size, self.image_size).to(x.dtype)
            x = torch.cat([x, plane], dim=1)
        return self.convs(x).flatten(1)


class ConditionalCritic(nn.Module):
    """D(x, y) -> one unbounded score per image (a logit for DCGAN, a critic value for WGAN-GP)."""

    def __init__(self, image_size: int, channels: int, n_classes: int, base_channels: int, norm: str):
        super().__init__()
        self.trunk = ConvTrunk(image_size, channels, base_channels, norm, n_classes)
        self.head = nn.Linear(self.trunk.out_features, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x, y)).squeeze(1)


def spectral_normalised(module: nn.Module) -> nn.Module:
    """Put every conv and linear weight of ``module`` under spectral normalisation (SN-GAN), in place.

    Applied after weight init: the parametrisation stores the raw weight as ``original`` and divides
    by its largest singular value on each forward, so an init written into ``.weight`` afterwards
    would be lost. Embeddings (the label plane) are left alone: they act on the label, not on the
    image, so they do not change the critic's Lipschitz constant in x.
    """
    from torch.nn.utils.parametrizations import spectral_norm

    for layer in list(module.modules()):
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            spectral_norm(layer)
    return module


class AuxClassifierCritic(nn.Module):
    """D(x) -> (real/fake logit, class logits) from one unconditional trunk (AC-GAN): the class is
    something D must *recognise*, never an input it is given."""

    def __init__(self, image_size: int, channels: int, n_classes: int, base_channels: int, norm: str = "batch"):
        super().__init__()
        self.trunk = ConvTrunk(image_size, channels, base_channels, norm)
        self.source = nn.Linear(self.trunk.out_features, 1)
        self.classes = nn.Linear(self.trunk.out_features, n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.source(h).squeeze(1), self.classes(h)


class FeatureProjectionCritic(nn.Module):
    """D(x, f) -> one logit, conditioned on a feature vector ``f`` by projection (Miyato & Koyama
    2018, with the class embedding replaced by the given vector): ``psi(h) + <V h, f>``. A label
    plane cannot carry a real-valued condition; the inner product can, and it asks D the question
    that matters for opengan: does this image sit where ``f`` says in the metric space?"""

    def __init__(self, image_size: int, channels: int, cond_dim: int, base_channels: int, norm: str = "batch"):
        super().__init__()
        self.trunk = ConvTrunk(image_size, channels, base_channels, norm)
        self.head = nn.Linear(self.trunk.out_features, 1)
        self.project = nn.Linear(self.trunk.out_features, cond_dim, bias=False)

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x)
        return self.head(h).squeeze(1) + (self.project(h) * f.to(h.dtype)).sum(1)

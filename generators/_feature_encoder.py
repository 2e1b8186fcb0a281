"""A metric-learning image encoder that a generator can train on its own budget images.

opengan conditions its generator on where an image sits in a metric space rather than on a label id.
The harness's domain extractor (benchmark/fidelity/domain.py) is out of reach by design: generators
may not import the benchmark or the classifiers, and that extractor is trained on the *full* training
split, which would let images outside the budget shape the synthetic ones. So the encoder lives here
and is fitted inside the arm's own fit, on exactly the images the arm was given.

The loss is CosFace's large-margin cosine loss (Wang et al. 2018): unit-length features, one learned
unit-length proxy per class, logits ``s * (cos - m [y == c])``. Classes become tight angular clusters
with a margin between them, which is what makes "a budget image's feature plus a little noise" a
point that still belongs to that image's class.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from augbench.generators._conditional_nets import ConvTrunk


class MetricEncoder(nn.Module):
    """Image -> unit-length ``feat_dim`` vector, with one learned class proxy per class."""

    def __init__(self, image_size: int, channels: int, n_classes: int, base_channels: int, feat_dim: int):
        super().__init__()
        self.trunk = ConvTrunk(image_size, channels, base_channels, norm="batch")
        self.embed = nn.Linear(self.trunk.out_features, feat_dim)
        self.proxies = nn.Parameter(torch.randn(n_classes, feat_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(self.trunk(x)).float(), dim=1)

    def class_directions(self) -> torch.Tensor:
        """The proxies as unit vectors: each class's centre direction in the metric space."""
        return F.normalize(self.proxies.detach().float(), dim=1)

    def cosines(self, features: torch.Tensor) -> torch.Tensor:
        return features @ F.normalize(self.proxies.float(), dim=1).T


def large_margin_cosine_loss(cosines: torch.Tensor, labels: torch.Tensor, *, scale: float,
                             margin: float) -> torch.Tensor:
    """CosFace: cross-entropy of ``scale * (cos - margin * onehot(y))``."""
    penalty = margin * F.one_hot(labels, cosines.shape[1]).to(cosines.dtype)
    return F.cross_entropy(scale * (cosines - penalty), labels)


def perturbed(features: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Unit features moved by isotropic noise of expected length ``sigma``, back on the unit sphere.

    The noise is drawn on the CPU from ``generator`` (so a seed gives the same draw on any device) and
    scaled by 1/sqrt(dim), so ``sigma`` reads as a distance on the sphere whatever ``feat_dim`` is."""
    noise = torch.randn(features.shape, generator=generator).to(features.device, features.dtype)
    return F.normalize(features + sigma * noise / features.shape[1] ** 0.5, dim=1)

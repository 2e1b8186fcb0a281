"""Class-conditional DCGAN (Radford et al. 2016 architecture, Mirza & Osindero 2014 conditioning).

The plainest learned arm: the baseline the Wasserstein and auxiliary-code variants have to beat.
The class enters G as a learned embedding next to z and D as a learned extra input plane; the loss
is binary cross-entropy with the non-saturating generator objective. The step loop is the shared
template's (generators/_conditional_gan.py); see docs/generators.md (section dcgan).
"""
from __future__ import annotations

import torch

from augbench.generators import register_generator
from augbench.generators._conditional_gan import COMMON_DEFAULTS, ConditionalGAN, Losses
from augbench.generators._gan_utils import bce_as_real, bce_real_fake


@register_generator("dcgan", order=20)
class DCGAN(ConditionalGAN):
    DEFAULTS = {**COMMON_DEFAULTS, "embed_dim": 32}
    arch_keys = ("latent_dim", "base_channels", "embed_dim")

    def _critic_loss(self, real, labels, fake, cond, latent, rng) -> Losses:
        d_real, d_fake = self.D(real, cond), self.D(fake, cond)
        return Losses(bce_real_fake(d_real, d_fake),
                      {"d_real": torch.sigmoid(d_real).mean(), "d_fake": torch.sigmoid(d_fake).mean()})

    def _generator_loss(self, fake, cond, latent) -> Losses:
        return Losses(bce_as_real(self.D(fake, cond)))  # non-saturating, on classes drawn like the reals

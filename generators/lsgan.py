"""Conditional least-squares GAN (Mao et al. 2017, *Least Squares Generative Adversarial Networks*).

The dcgan arm with the sigmoid cross-entropy replaced by squared distances to target codes: D pushes
reals to ``b`` and fakes to ``a``, G pushes fakes to ``c`` (the paper's a=0, b=1, c=1 scheme). Fakes
that D already calls real but that lie far from the data still get a gradient, which the paper
credits for steadier training than BCE; the architecture, conditioning and step loop stay dcgan's, so
the comparison isolates the loss. See docs/generators.md (section lsgan).
"""
from __future__ import annotations

import torch

from augbench.generators import register_generator
from augbench.generators._conditional_gan import COMMON_DEFAULTS, ConditionalGAN, Losses


def half_squared(scores: torch.Tensor, target: float) -> torch.Tensor:
    return 0.5 * ((scores.float() - target) ** 2).mean()


@register_generator("lsgan", order=26)
class LSGAN(ConditionalGAN):
    DEFAULTS = {**COMMON_DEFAULTS, "embed_dim": 32, "ls_a": 0.0, "ls_b": 1.0, "ls_c": 1.0}
    arch_keys = ("latent_dim", "base_channels", "embed_dim")

    def _critic_loss(self, real, labels, fake, cond, latent, rng) -> Losses:
        d_real, d_fake = self.D(real, cond), self.D(fake, cond)
        loss = half_squared(d_real, float(self.config["ls_b"])) + half_squared(d_fake, float(self.config["ls_a"]))
        return Losses(loss, {"d_real": d_real.float().mean(), "d_fake": d_fake.float().mean()})

    def _generator_loss(self, fake, cond, latent) -> Losses:
        return Losses(half_squared(self.D(fake, cond), float(self.config["ls_c"])))

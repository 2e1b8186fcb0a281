"""Conditional WGAN with weight clipping (Arjovsky, Chintala & Bottou 2017, *Wasserstein GAN*).

Kept next to ``cwgan-gp`` because it is the original Wasserstein critic: the Lipschitz constraint is
enforced by clipping every critic weight to [-clip, clip], trained with RMSProp (the paper found
momentum optimisers unstable with clipping). Comparing the two arms shows what the gradient penalty
buys on small, imbalanced budgets. Networks, conditioning and the step loop are dcgan's (the shared
template, with the optimisers and the clipping as its hooks); see docs/generators.md (section wgan).
"""
from __future__ import annotations

import torch

from augbench.core.errors import UserError
from augbench.generators import register_generator
from augbench.generators._arm_utils import check_number
from augbench.generators._conditional_gan import COMMON_DEFAULTS, COMMON_POSITIVE_INTS, ConditionalGAN, Losses
from augbench.generators._conditional_nets import NORMS


@register_generator("wgan", order=25)
class WGAN(ConditionalGAN):
    # RMSProp has no betas: offering beta1/beta2 would accept settings that change nothing
    DEFAULTS = {**{k: v for k, v in COMMON_DEFAULTS.items() if k not in ("beta1", "beta2")},
                "embed_dim": 32, "n_critic": 5, "clip": 0.01, "lr": 5e-5, "critic_norm": "batch"}
    POSITIVE_INTS = COMMON_POSITIVE_INTS + ("n_critic",)
    arch_keys = ("latent_dim", "base_channels", "embed_dim", "critic_norm")

    def __init__(self, **config):
        super().__init__(**config)
        if self.config["critic_norm"] not in NORMS:
            raise UserError(f"critic_norm={self.config['critic_norm']!r} is not one of {', '.join(NORMS)}.",
                            "use 'batch' (the paper's DCGAN critic), 'layer' or 'none'.")
        check_number(self.name, "clip", self.config["clip"], strict=True, example=0.01)  # the paper's c

    def _optimisers(self):
        return (torch.optim.RMSprop(self.G.parameters(), lr=self.lr_g),
                torch.optim.RMSprop(self.D.parameters(), lr=self.lr_d))

    def _clipped(self) -> list[torch.Tensor]:
        """Every critic parameter that acts on the image; the label plane only shifts the first layer's
        input by a function of y, so it does not enter the Lipschitz constant in x and stays free."""
        plane = self.D.trunk.label_plane
        skip = {id(p) for p in plane.parameters()} if plane is not None else set()
        return [p for p in self.D.parameters() if id(p) not in skip]

    def _after_critic_step(self) -> None:
        clip = self.config["clip"]
        with torch.no_grad():
            for p in self._clipped():
                p.clamp_(-clip, clip)

    def _critic_loss(self, real, labels, fake, cond, latent, rng) -> Losses:
        c_real, c_fake = self.D(real, cond).float().mean(), self.D(fake, cond).float().mean()
        return Losses(c_fake - c_real, {"wasserstein": c_real - c_fake})

    def _generator_loss(self, fake, cond, latent) -> Losses:
        return Losses(-self.D(fake, cond).float().mean())

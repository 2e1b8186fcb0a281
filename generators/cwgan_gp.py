"""Conditional WGAN-GP (Gulrajani et al. 2017) on the shared DCGAN-shaped networks.

Included because the Wasserstein critic with gradient penalty trains stably on tiny, imbalanced
budgets where the BCE game of DCGAN often collapses. The critic uses per-sample layer norm instead of
batch norm: batch statistics would couple the samples and make the per-sample penalty meaningless.
The step loop (``n_critic`` critic updates per generator update) is the shared template's; see
docs/generators.md (section cwgan-gp).
"""
from __future__ import annotations

from augbench.core.errors import UserError
from augbench.generators import register_generator
from augbench.generators._conditional_gan import COMMON_DEFAULTS, COMMON_POSITIVE_INTS, ConditionalGAN, Losses
from augbench.generators._gan_utils import gradient_penalty


@register_generator("cwgan-gp", order=21)
class CWGANGP(ConditionalGAN):
    DEFAULTS = {**COMMON_DEFAULTS, "embed_dim": 32, "n_critic": 5, "gp_weight": 10.0, "beta2": 0.9,
                "critic_norm": "layer"}
    POSITIVE_INTS = COMMON_POSITIVE_INTS + ("n_critic",)
    arch_keys = ("latent_dim", "base_channels", "embed_dim", "critic_norm")

    def __init__(self, **config):
        super().__init__(**config)
        if self.config["critic_norm"] not in ("layer", "none"):
            raise UserError(f"critic_norm={self.config['critic_norm']!r} is not usable with a gradient penalty.",
                            "use 'layer' or 'none': batch norm mixes samples, which the per-sample penalty forbids.")

    def _critic_loss(self, real, labels, fake, cond, latent, rng) -> Losses:
        # fakes share the real batch's labels: interpolates then stay within one class
        c_real, c_fake = self.D(real, cond).float().mean(), self.D(fake, cond).float().mean()
        gp = gradient_penalty(self.D, real, fake, cond, alpha="uniform", generator=rng)
        return Losses(c_fake - c_real + self.config["gp_weight"] * gp, {"gp": gp, "wasserstein": c_real - c_fake})

    def _generator_loss(self, fake, cond, latent) -> Losses:
        return Losses(-self.D(fake, cond).float().mean())

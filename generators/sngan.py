"""Conditional SN-GAN (Miyato, Kataoka, Koyama & Yoshida 2018, *Spectral Normalization for
Generative Adversarial Networks*) with the hinge loss.

Spectral normalisation bounds each critic layer's Lipschitz constant by dividing its weight by its
largest singular value (one power iteration per forward), a constraint that costs almost nothing per
step, unlike a gradient penalty, and does not shrink the weights the way clipping does. Optimiser and
critic schedule follow the paper's conditional setup (Adam 2e-4, betas (0, 0.9), 5 critic updates).
The class enters D as dcgan's label input plane, not the projection discriminator the paper's
ImageNet run used; the step loop is the shared template's. See docs/generators.md (section sngan).
"""
from __future__ import annotations

from torch.nn import functional as F

from augbench.generators import register_generator
from augbench.generators._conditional_gan import COMMON_DEFAULTS, COMMON_POSITIVE_INTS, ConditionalGAN, Losses
from augbench.generators._conditional_nets import spectral_normalised


@register_generator("sngan", order=27)
class SNGAN(ConditionalGAN):
    DEFAULTS = {**COMMON_DEFAULTS, "embed_dim": 32, "n_critic": 5, "beta1": 0.0, "beta2": 0.9}
    POSITIVE_INTS = COMMON_POSITIVE_INTS + ("n_critic",)
    arch_keys = ("latent_dim", "base_channels", "embed_dim")
    critic_norm = "none"  # no normalisation layer in the critic: spectral normalisation is the only constraint

    def build(self):
        nets = super().build()  # DCGAN init first: the parametrisation then wraps the initialised weights
        spectral_normalised(nets["discriminator"])
        return nets

    def _critic_loss(self, real, labels, fake, cond, latent, rng) -> Losses:
        d_real, d_fake = self.D(real, cond).float(), self.D(fake, cond).float()
        loss = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
        return Losses(loss, {"d_real": d_real.mean(), "d_fake": d_fake.mean()})

    def _generator_loss(self, fake, cond, latent) -> Losses:
        return Losses(-self.D(fake, cond).float().mean())

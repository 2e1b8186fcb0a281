"""Auxiliary-classifier GAN (Odena, Olah & Shlens 2017, *Conditional Image Synthesis with Auxiliary
Classifier GANs*).

The class-conditional GAN both BAGAN papers compare against: G gets the class, D does not; D instead
predicts it with a second head. D maximises L_S + L_C (source log-likelihood plus class
log-likelihood on reals *and* fakes), G maximises L_C - L_S, here with the usual non-saturating
source term. The step loop is the shared template's; see docs/generators.md (section acgan).
"""
from __future__ import annotations

from torch.nn import functional as F

from augbench.generators import register_generator
from augbench.generators._conditional_gan import COMMON_DEFAULTS, ConditionalGAN, Losses
from augbench.generators._conditional_nets import AuxClassifierCritic
from augbench.generators._gan_utils import bce_as_real, bce_real_fake


@register_generator("acgan", order=28)
class ACGAN(ConditionalGAN):
    DEFAULTS = {**COMMON_DEFAULTS, "embed_dim": 32, "aux_weight": 1.0}
    arch_keys = ("latent_dim", "base_channels", "embed_dim")

    def _networks(self):
        size, _, channels = self.image_shape
        generator = self._make_generator(embed_dim=self.config["embed_dim"])
        return generator, AuxClassifierCritic(size, channels, self.n_classes, self.config["base_channels"])

    def _critic_loss(self, real, labels, fake, cond, latent, rng) -> Losses:
        # fakes carry the real batch's labels (the template's default): with uniform fake classes the
        # source head could call rare-class images fake just because they are rare among the reals
        s_real, c_real = self.D(real)
        s_fake, c_fake = self.D(fake)
        classes = F.cross_entropy(c_real, labels) + F.cross_entropy(c_fake, cond)
        return Losses(bce_real_fake(s_real, s_fake) + float(self.config["aux_weight"]) * classes,
                      {"aux_loss": classes, "aux_accuracy": (c_real.argmax(1) == labels).float().mean()})

    def _generator_loss(self, fake, cond, latent) -> Losses:
        s_gen, c_gen = self.D(fake)
        return Losses(bce_as_real(s_gen) + float(self.config["aux_weight"]) * F.cross_entropy(c_gen, cond))

"""Auxiliary-classifier GAN (Odena, Olah & Shlens 2017, *Conditional Image Synthesis with Auxiliary
Classifier GANs*).

The class-conditional GAN both BAGAN papers compare against: G gets the class, D does not; D instead
predicts it with a second head. D maximises L_S + L_C (source log-likelihood plus class
log-likelihood on reals *and* fakes), G maximises L_C - L_S, here with the usual non-saturating
source term. See docs/generators.md (section acgan).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from augbench.generators import register_generator
from augbench.generators._conditional_gan import ConditionalGAN
from augbench.generators._conditional_nets import AuxClassifierCritic


@register_generator("acgan", order=28, learned=True)
class ACGAN(ConditionalGAN):
    learned = True
    defaults = {"embed_dim": 32, "aux_weight": 1.0}
    arch_keys = ("latent_dim", "base_channels", "embed_dim")

    def _networks(self):
        size, _, channels = self.image_shape
        generator = self._make_generator(embed_dim=self.config["embed_dim"])
        critic = AuxClassifierCritic(size, channels, self.n_classes, self.config["base_channels"])
        return generator, critic

    def _train(self, stream, rng, progress) -> None:
        opt_g, opt_d = self._adam(self.G.parameters(), self.lr_g), self._adam(self.D.parameters(), self.lr_d)
        aux = float(self.config["aux_weight"])
        for step in range(1, self.config["steps"] + 1):
            real, y = next(stream)
            # fakes carry the real batch's labels: with uniform fake classes the source head could
            # call rare-class images fake just because they are rare among the reals
            with self._autocast():
                fake = self.G(self._latent(y, rng), y).detach()
                s_real, c_real = self.D(real)
                s_fake, c_fake = self.D(fake)
                source = (F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
                          + F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake)))
                classes = F.cross_entropy(c_real, y) + F.cross_entropy(c_fake, y)
                d_loss = source + aux * classes
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

            y_g = self._fake_labels(len(y), rng)
            with self._frozen(self.D), self._autocast():
                s_gen, c_gen = self.D(self.G(self._latent(y_g, rng), y_g))
                g_source = F.binary_cross_entropy_with_logits(s_gen, torch.ones_like(s_gen))
                g_classes = F.cross_entropy(c_gen, y_g)
                g_loss = g_source + aux * g_classes
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()

            self._log(step, progress, d_loss=d_loss.detach(), g_loss=g_loss.detach(),
                      aux_loss=classes.detach(), aux_accuracy=(c_real.argmax(1) == y).float().mean().detach())

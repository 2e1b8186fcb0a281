"""Class-conditional DCGAN (Radford et al. 2016 architecture, Mirza & Osindero 2014 conditioning).

The plainest learned arm: the baseline the Wasserstein and auxiliary-code variants have to beat.
The class enters G as a learned embedding next to z and D as a learned extra input plane; the loss
is binary cross-entropy with the non-saturating generator objective. See docs/generators.md (section dcgan).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from augbench.generators import register_generator
from augbench.generators._conditional_gan import ConditionalGAN
from augbench.generators._conditional_nets import ConditionalCritic


@register_generator("dcgan", order=20, learned=True)
class DCGAN(ConditionalGAN):
    learned = True
    defaults = {"embed_dim": 32}
    arch_keys = ("latent_dim", "base_channels", "embed_dim")

    def _networks(self):
        size, _, channels = self.image_shape
        generator = self._make_generator(embed_dim=self.config["embed_dim"])
        critic = ConditionalCritic(size, channels, self.n_classes, self.config["base_channels"],
                                   norm="batch")
        return generator, critic

    def _train(self, stream, rng, progress) -> None:
        opt_g, opt_d = self._adam(self.G.parameters(), self.lr_g), self._adam(self.D.parameters(), self.lr_d)
        for step in range(1, self.config["steps"] + 1):
            real, y = next(stream)
            # D: real vs fakes carrying the same labels, so D cannot tell them apart by class frequency
            with self._autocast():
                fake = self.G(self._latent(y, rng), y).detach()
                d_real, d_fake = self.D(real, y), self.D(fake, y)
                d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                          + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

            # G: non-saturating loss on uniformly drawn classes
            y_g = self._fake_labels(len(y), rng)
            with self._frozen(self.D), self._autocast():
                d_gen = self.D(self.G(self._latent(y_g, rng), y_g), y_g)
                g_loss = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()

            self._log(step, progress, d_loss=d_loss.detach(), g_loss=g_loss.detach(),
                      d_real=torch.sigmoid(d_real).mean().detach(), d_fake=torch.sigmoid(d_fake).mean().detach())

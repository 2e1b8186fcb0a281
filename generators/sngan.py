"""Conditional SN-GAN (Miyato, Kataoka, Koyama & Yoshida 2018, *Spectral Normalization for
Generative Adversarial Networks*) with the hinge loss.

Spectral normalisation bounds each critic layer's Lipschitz constant by dividing its weight by its
largest singular value (one power iteration per forward), a constraint that costs almost nothing per
step, unlike a gradient penalty, and does not shrink the weights the way clipping does. Optimiser and
critic schedule follow the paper's conditional setup (Adam 2e-4, betas (0, 0.9), 5 critic updates).
The class enters D as dcgan's label input plane, not the projection discriminator the paper's
ImageNet run used; see docs/generators.md (section sngan).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from augbench.generators import register_generator
from augbench.generators._conditional_gan import ConditionalGAN
from augbench.generators._conditional_nets import ConditionalCritic, spectral_normalised


@register_generator("sngan", order=27, learned=True)
class SNGAN(ConditionalGAN):
    learned = True
    defaults = {"embed_dim": 32, "n_critic": 5, "beta1": 0.0, "beta2": 0.9}
    arch_keys = ("latent_dim", "base_channels", "embed_dim")
    positive_ints = ("n_critic",)

    @property
    def real_batches_per_step(self) -> int:
        return self.config["n_critic"]

    def _networks(self):
        size, _, channels = self.image_shape
        generator = self._make_generator(embed_dim=self.config["embed_dim"])
        # no normalisation layer in the critic: spectral normalisation is the only constraint
        critic = ConditionalCritic(size, channels, self.n_classes, self.config["base_channels"], norm="none")
        return generator, critic

    def build(self):
        nets = super().build()  # DCGAN init first: the parametrisation then wraps the initialised weights
        spectral_normalised(nets["discriminator"])
        return nets

    def _train(self, stream, rng, progress) -> None:
        opt_g, opt_d = self._adam(self.G.parameters(), self.lr_g), self._adam(self.D.parameters(), self.lr_d)
        for step in range(1, self.config["steps"] + 1):
            for _ in range(self.config["n_critic"]):
                real, y = next(stream)
                with self._autocast():
                    fake = self.G(self._latent(y, rng), y).detach()
                    d_real, d_fake = self.D(real, y).float(), self.D(fake, y).float()
                    d_loss = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()

            y_g = self._fake_labels(len(y), rng)
            with self._frozen(self.D), self._autocast():
                g_loss = -self.D(self.G(self._latent(y_g, rng), y_g), y_g).float().mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()

            self._log(step, progress, d_loss=d_loss.detach(), g_loss=g_loss.detach(),
                      d_real=d_real.mean().detach(), d_fake=d_fake.mean().detach())

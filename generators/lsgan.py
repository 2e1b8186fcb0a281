"""Conditional least-squares GAN (Mao et al. 2017, *Least Squares Generative Adversarial Networks*).

The dcgan arm with the sigmoid cross-entropy replaced by squared distances to target codes: D pushes
reals to ``b`` and fakes to ``a``, G pushes fakes to ``c`` (the paper's a=0, b=1, c=1 scheme). Fakes
that D already calls real but that lie far from the data still get a gradient, which the paper
credits for steadier training than BCE; the architecture and conditioning stay dcgan's, so the
comparison isolates the loss. See docs/generators.md (section lsgan).
"""
from __future__ import annotations

import torch

from augbench.generators import register_generator
from augbench.generators._conditional_gan import ConditionalGAN
from augbench.generators._conditional_nets import ConditionalCritic


@register_generator("lsgan", order=26, learned=True)
class LSGAN(ConditionalGAN):
    learned = True
    defaults = {"embed_dim": 32, "ls_a": 0.0, "ls_b": 1.0, "ls_c": 1.0}
    arch_keys = ("latent_dim", "base_channels", "embed_dim")

    def _networks(self):
        size, _, channels = self.image_shape
        generator = self._make_generator(embed_dim=self.config["embed_dim"])
        critic = ConditionalCritic(size, channels, self.n_classes, self.config["base_channels"], norm="batch")
        return generator, critic

    @staticmethod
    def _half_squared(scores: torch.Tensor, target: float) -> torch.Tensor:
        return 0.5 * ((scores.float() - target) ** 2).mean()

    def _train(self, stream, rng, progress) -> None:
        opt_g, opt_d = self._adam(self.G.parameters(), self.lr_g), self._adam(self.D.parameters(), self.lr_d)
        a, b, c = (float(self.config[k]) for k in ("ls_a", "ls_b", "ls_c"))
        for step in range(1, self.config["steps"] + 1):
            real, y = next(stream)
            # fakes carry the real batch's labels, as in dcgan: D cannot score by class frequency
            with self._autocast():
                fake = self.G(self._latent(y, rng), y).detach()
                d_real, d_fake = self.D(real, y), self.D(fake, y)
                d_loss = self._half_squared(d_real, b) + self._half_squared(d_fake, a)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

            y_g = self._fake_labels(len(y), rng)
            with self._frozen(self.D), self._autocast():
                g_loss = self._half_squared(self.D(self.G(self._latent(y_g, rng), y_g), y_g), c)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()

            self._log(step, progress, d_loss=d_loss.detach(), g_loss=g_loss.detach(),
                      d_real=d_real.float().mean().detach(), d_fake=d_fake.float().mean().detach())

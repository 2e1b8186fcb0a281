"""Conditional WGAN-GP (Gulrajani et al. 2017) on the shared DCGAN-shaped networks.

Included because the Wasserstein critic with gradient penalty trains stably on tiny, imbalanced
budgets where the BCE game of DCGAN often collapses. The critic uses per-sample layer norm instead of
batch norm: batch statistics would couple the samples and make the per-sample penalty meaningless.
See docs/generators.md (section cwgan-gp).
"""
from __future__ import annotations

from augbench.core.errors import UserError
from augbench.generators import register_generator
from augbench.generators._conditional_gan import ConditionalGAN
from augbench.generators._conditional_nets import ConditionalCritic
from augbench.generators._gan_utils import gradient_penalty


@register_generator("cwgan-gp", order=21, learned=True)
class CWGANGP(ConditionalGAN):
    learned = True
    defaults = {"embed_dim": 32, "n_critic": 5, "gp_weight": 10.0, "beta2": 0.9, "critic_norm": "layer"}
    arch_keys = ("latent_dim", "base_channels", "embed_dim", "critic_norm")
    positive_ints = ("n_critic",)

    def __init__(self, **config):
        super().__init__(**config)
        if self.config["critic_norm"] not in ("layer", "none"):
            raise UserError(f"critic_norm={self.config['critic_norm']!r} is not usable with a gradient penalty.",
                            "use 'layer' or 'none': batch norm mixes samples, which the per-sample penalty forbids.")

    @property
    def real_batches_per_step(self) -> int:
        return self.config["n_critic"]

    def _networks(self):
        size, _, channels = self.image_shape
        generator = self._make_generator(embed_dim=self.config["embed_dim"])
        critic = ConditionalCritic(size, channels, self.n_classes, self.config["base_channels"],
                                   norm=self.config["critic_norm"])
        return generator, critic

    def _train(self, stream, rng, progress) -> None:
        opt_g, opt_d = self._adam(self.G.parameters(), self.lr_g), self._adam(self.D.parameters(), self.lr_d)
        gp_weight = self.config["gp_weight"]
        for step in range(1, self.config["steps"] + 1):
            for _ in range(self.config["n_critic"]):
                real, y = next(stream)
                # fakes share the real batch's labels: interpolates then stay within one class
                with self._autocast():
                    fake = self.G(self._latent(y, rng), y).detach()
                    c_real, c_fake = self.D(real, y).float().mean(), self.D(fake, y).float().mean()
                    gp = gradient_penalty(self.D, real, fake, y, alpha="uniform", generator=rng)
                    d_loss = c_fake - c_real + gp_weight * gp
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()

            y_g = self._fake_labels(len(y), rng)
            with self._frozen(self.D), self._autocast():
                g_loss = -self.D(self.G(self._latent(y_g, rng), y_g), y_g).float().mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()

            self._log(step, progress, d_loss=d_loss.detach(), g_loss=g_loss.detach(), gp=gp.detach(),
                      wasserstein=(c_real - c_fake).detach())

"""Conditional WGAN with weight clipping (Arjovsky, Chintala & Bottou 2017, *Wasserstein GAN*).

Kept next to ``cwgan-gp`` because it is the original Wasserstein critic: the Lipschitz constraint is
enforced by clipping every critic weight to [-clip, clip], trained with RMSProp (the paper found
momentum optimisers unstable with clipping). Comparing the two arms shows what the gradient penalty
buys on small, imbalanced budgets. Networks and conditioning are dcgan's; see docs/generators.md
(section wgan).
"""
from __future__ import annotations

import torch

from augbench.core.errors import UserError
from augbench.generators import register_generator
from augbench.generators._conditional_gan import ConditionalGAN
from augbench.generators._conditional_nets import NORMS, ConditionalCritic


@register_generator("wgan", order=25, learned=True)
class WGAN(ConditionalGAN):
    learned = True
    defaults = {"embed_dim": 32, "n_critic": 5, "clip": 0.01, "lr": 5e-5, "critic_norm": "batch"}
    arch_keys = ("latent_dim", "base_channels", "embed_dim", "critic_norm")
    positive_ints = ("n_critic",)

    def __init__(self, **config):
        super().__init__(**config)
        if self.config["critic_norm"] not in NORMS:
            raise UserError(f"critic_norm={self.config['critic_norm']!r} is not one of {', '.join(NORMS)}.",
                            "use 'batch' (the paper's DCGAN critic), 'layer' or 'none'.")
        clip = self.config["clip"]
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or clip <= 0:
            raise UserError(f"clip={clip!r} must be a positive number.", "use e.g. clip=0.01 (the paper's c).")

    def settings_defaults(self) -> dict:
        # RMSProp has no betas: offering beta1/beta2 would accept settings that change nothing
        return {k: v for k, v in super().settings_defaults().items() if k not in ("beta1", "beta2")}

    @property
    def real_batches_per_step(self) -> int:
        return self.config["n_critic"]

    def _networks(self):
        size, _, channels = self.image_shape
        generator = self._make_generator(embed_dim=self.config["embed_dim"])
        critic = ConditionalCritic(size, channels, self.n_classes, self.config["base_channels"],
                                   norm=self.config["critic_norm"])
        return generator, critic

    def _clipped(self) -> list[torch.Tensor]:
        """Every critic parameter that acts on the image; the label plane only shifts the first layer's
        input by a function of y, so it does not enter the Lipschitz constant in x and stays free."""
        plane = self.D.trunk.label_plane
        skip = {id(p) for p in plane.parameters()} if plane is not None else set()
        return [p for p in self.D.parameters() if id(p) not in skip]

    def _train(self, stream, rng, progress) -> None:
        opt_g = torch.optim.RMSprop(self.G.parameters(), lr=self.lr_g)
        opt_d = torch.optim.RMSprop(self.D.parameters(), lr=self.lr_d)
        clip, clipped = self.config["clip"], self._clipped()
        for step in range(1, self.config["steps"] + 1):
            for _ in range(self.config["n_critic"]):
                real, y = next(stream)
                with self._autocast():
                    fake = self.G(self._latent(y, rng), y).detach()
                    c_real, c_fake = self.D(real, y).float().mean(), self.D(fake, y).float().mean()
                    d_loss = c_fake - c_real
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                with torch.no_grad():
                    for p in clipped:
                        p.clamp_(-clip, clip)

            y_g = self._fake_labels(len(y), rng)
            with self._frozen(self.D), self._autocast():
                g_loss = -self.D(self.G(self._latent(y_g, rng), y_g), y_g).float().mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()

            self._log(step, progress, d_loss=d_loss.detach(), g_loss=g_loss.detach(),
                      wasserstein=(c_real - c_fake).detach())

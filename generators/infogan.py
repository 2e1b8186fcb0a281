"""InfoGAN (Chen et al. 2016) whose categorical code is tied to the class label.

The unsupervised InfoGAN learns *some* categorical factor, not necessarily the class. To be able to
ask for class c, Q's categorical output is trained with cross-entropy on the real images' labels
(as in the semi-supervised InfoGAN of Spurr et al. 2017), so code c comes to mean class c. By default
it is trained on real labels *only*: when Q also fits the fakes' codes it learns to read whatever
marks G leaves for them, and G's samples stop resembling the real class (seen on the bar toy set).
Any Q gives a valid lower bound on I(c; G(z, c)), so G still maximises a mutual-information bound.
Continuous codes stay unsupervised: uniform(-1, 1) inputs whose MI term is a fixed-variance Gaussian
log-likelihood (half the squared error), fitted on fakes. See docs/generators.md (section infogan).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from augbench.core.errors import UserError
from augbench.generators import register_generator
from augbench.generators._conditional_gan import ConditionalGAN
from augbench.generators._conditional_nets import ConvTrunk


class InfoDiscriminator(nn.Module):
    """Unconditional D with the Q head on the same trunk: Q costs one small MLP, as in the paper."""

    def __init__(self, image_size: int, channels: int, base_channels: int, n_classes: int, n_continuous: int,
                 q_hidden: int):
        super().__init__()
        self.trunk = ConvTrunk(image_size, channels, base_channels, norm="batch")
        self.d_head = nn.Linear(self.trunk.out_features, 1)
        self.q_head = nn.Sequential(nn.Linear(self.trunk.out_features, q_hidden), nn.LeakyReLU(0.2, True),
                                    nn.Linear(q_hidden, n_classes + n_continuous))
        self.n_classes = n_classes

    def forward(self, x: torch.Tensor):
        """-> (real/fake logit, class logits, predicted continuous codes)."""
        h = self.trunk(x)
        q = self.q_head(h)
        return self.d_head(h).squeeze(1), q[:, : self.n_classes], q[:, self.n_classes:]


@register_generator("infogan", order=22, learned=True)
class InfoGAN(ConditionalGAN):
    learned = True
    defaults = {"latent_dim": 62, "n_continuous": 2, "cat_weight": 1.0, "cont_weight": 1.0, "sup_weight": 1.0,
                "q_hidden": 128, "q_cat_on_fakes": False}
    arch_keys = ("latent_dim", "base_channels", "n_continuous", "q_hidden")
    positive_ints = ("q_hidden",)

    def __init__(self, **config):
        super().__init__(**config)
        n_cont = self.config["n_continuous"]
        if isinstance(n_cont, bool) or not isinstance(n_cont, int) or n_cont < 0:
            raise UserError(f"n_continuous={n_cont!r} must be a non-negative integer.", "use e.g. 2.")

    @property
    def generator_input_dim(self) -> int:
        return self.config["latent_dim"] + self.config["n_continuous"]

    def _latent(self, labels: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """[z ~ N(0, 1) | continuous codes ~ U(-1, 1)]; the class code is G's one-hot label input."""
        z = torch.randn(len(labels), self.config["latent_dim"], generator=rng)
        codes = torch.rand(len(labels), self.config["n_continuous"], generator=rng) * 2 - 1
        return torch.cat([z, codes], dim=1).to(self.device)

    def _networks(self):
        size, _, channels = self.image_shape
        cfg = self.config
        generator = self._make_generator(embed_dim=0)
        critic = InfoDiscriminator(size, channels, cfg["base_channels"], self.n_classes, cfg["n_continuous"],
                                   cfg["q_hidden"])
        return generator, critic

    def _info_loss(self, q_cat, q_cont, labels, latent, cat: bool = True) -> torch.Tensor:
        """-(lower bound on I(c; G(z, c))) up to constants: CE for the class code, Gaussian NLL for the rest."""
        loss = self.config["cat_weight"] * F.cross_entropy(q_cat, labels) if cat else q_cat.new_zeros(())
        if self.config["n_continuous"]:
            codes = latent[:, self.config["latent_dim"]:]
            loss = loss + self.config["cont_weight"] * 0.5 * F.mse_loss(q_cont, codes)
        return loss

    def _train(self, stream, rng, progress) -> None:
        opt_g, opt_d = self._adam(self.G.parameters(), self.lr_g), self._adam(self.D.parameters(), self.lr_d)
        for step in range(1, self.config["steps"] + 1):
            real, y = next(stream)
            # D and Q: adversarial BCE, class CE on the real labels, continuous-code recovery on fakes
            # (and the class code too when q_cat_on_fakes)
            y_f = self._fake_labels(len(y), rng)
            latent = self._latent(y_f, rng)
            with self._autocast():
                fake = self.G(latent, y_f).detach()
                d_real, q_real_cat, _ = self.D(real)
                d_fake, q_fake_cat, q_fake_cont = self.D(fake)
                adv = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                       + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
                sup = F.cross_entropy(q_real_cat, y)
                info_d = self._info_loss(q_fake_cat, q_fake_cont, y_f, latent, cat=self.config["q_cat_on_fakes"])
                d_loss = adv + self.config["sup_weight"] * sup + info_d
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

            # G: fool D and make its codes recoverable by Q
            y_g = self._fake_labels(len(y), rng)
            latent = self._latent(y_g, rng)
            with self._frozen(self.D), self._autocast():
                d_gen, q_cat, q_cont = self.D(self.G(latent, y_g))
                g_adv = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
                info = self._info_loss(q_cat, q_cont, y_g, latent)
            opt_g.zero_grad(set_to_none=True)
            (g_adv + info).backward()
            opt_g.step()

            self._log(step, progress, d_loss=adv.detach(), g_loss=g_adv.detach(), info_loss=info.detach(),
                      sup_loss=sup.detach())

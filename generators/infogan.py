"""InfoGAN (Chen et al. 2016) whose categorical code is tied to the class label.

The unsupervised InfoGAN learns *some* categorical factor, not necessarily the class. To be able to
ask for class c, Q's categorical output is trained with cross-entropy on the real images' labels
(as in the semi-supervised InfoGAN of Spurr et al. 2017), so code c comes to mean class c. By default
it is trained on real labels *only*: when Q also fits the fakes' codes it learns to read whatever
marks G leaves for them, and G's samples stop resembling the real class (seen on the bar toy set).
Any Q gives a valid lower bound on I(c; G(z, c)), so G still maximises a mutual-information bound.
Continuous codes stay unsupervised: uniform(-1, 1) inputs whose MI term is a fixed-variance Gaussian
log-likelihood (half the squared error), fitted on fakes. The step loop is the shared template's, its
critic step conditioned on freshly drawn classes (D never sees a label, so nothing ties the fakes to
the real batch's). See docs/generators.md (section infogan).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from augbench.generators import register_generator
from augbench.generators._conditional_gan import COMMON_DEFAULTS, COMMON_POSITIVE_INTS, ConditionalGAN, Losses
from augbench.generators._conditional_nets import ConvTrunk
from augbench.generators._gan_utils import bce_as_real, bce_real_fake


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


@register_generator("infogan", order=22)
class InfoGAN(ConditionalGAN):
    DEFAULTS = {**COMMON_DEFAULTS, "latent_dim": 62, "n_continuous": 2, "cat_weight": 1.0, "cont_weight": 1.0,
                "sup_weight": 1.0, "q_hidden": 128, "q_cat_on_fakes": False}
    POSITIVE_INTS = COMMON_POSITIVE_INTS + ("q_hidden",)
    NON_NEGATIVE_INTS = ("n_continuous",)
    arch_keys = ("latent_dim", "base_channels", "n_continuous", "q_hidden")

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

    def _critic_condition(self, real, labels, rng):
        return self._fake_labels(len(labels), rng)

    def _critic_loss(self, real, labels, fake, cond, latent, rng) -> Losses:
        """D and Q: adversarial BCE, class CE on the real labels, continuous-code recovery on fakes (and
        the class code too when q_cat_on_fakes). The record's d_loss is the adversarial part alone."""
        d_real, q_real_cat, _ = self.D(real)
        d_fake, q_fake_cat, q_fake_cont = self.D(fake)
        adv = bce_real_fake(d_real, d_fake)
        sup = F.cross_entropy(q_real_cat, labels)
        info_d = self._info_loss(q_fake_cat, q_fake_cont, cond, latent, cat=self.config["q_cat_on_fakes"])
        return Losses(adv + self.config["sup_weight"] * sup + info_d, {"d_loss": adv, "sup_loss": sup})

    def _generator_loss(self, fake, cond, latent) -> Losses:
        """G: fool D and make its codes recoverable by Q (the record's g_loss is the adversarial part)."""
        d_gen, q_cat, q_cont = self.D(fake)
        g_adv = bce_as_real(d_gen)
        info = self._info_loss(q_cat, q_cont, cond, latent)
        return Losses(g_adv + info, {"g_loss": g_adv, "info_loss": info})

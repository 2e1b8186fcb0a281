"""BAGAN-GP's networks (Huang & Jafari 2021, layer sizes of the authors' code GH920/improved-bagan-gp).

Kept apart from the arm so the parameter counts can be checked against the reference's model
summaries without a fit, and so the arm module holds only the training schedule and losses.
At 32 px one 128-channel stage is dropped from the encoder, critic and decoder so the bottleneck
stays 4x4x256; 28 px images run at 32 px (see ``net_size``).
"""
from __future__ import annotations

from contextlib import contextmanager

from torch import nn

from augbench.generators._bagan_common import scaled
from augbench.generators._fast_conv import PenaltyConv2d
from augbench.generators._gan_utils import dcgan_init

LEAK = 0.2  # in-place everywhere: it saves a copy per layer and is exact (autograd keeps the sign)
BOTTLENECK = 4  # spatial side of the encoder output / decoder input at every resolution


def net_size(image_size: int) -> int:
    """28 px is run at 32 px (padded): four stride-2 stages cannot halve 28 down to 4."""
    return 32 if image_size == 28 else image_size


def encoder_widths(image_size: int, width: float = 1.0) -> list[int]:
    """Conv channels of the encoder/critic image branch: 64-128-128-256 at 64 px (the reference),
    one 128 stage fewer at 32 px so each stage still halves the side down to 4."""
    base = [64, 128, 128, 256] if net_size(image_size) == 64 else [64, 128, 256]
    return [scaled(c, width) for c in base]


def _conv_stack(channels: int, widths: list[int], conv=nn.Conv2d) -> nn.Sequential:
    layers: list[nn.Module] = []
    for w in widths:
        layers += [conv(channels, w, 4, 2, 1), nn.LeakyReLU(LEAK, inplace=True)]
        channels = w
    layers.append(nn.Flatten())
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    def __init__(self, channels: int, widths: list[int], latent_dim: int):
        super().__init__()
        self.features = _conv_stack(channels, widths)
        self.head = nn.Sequential(nn.Linear(widths[-1] * BOTTLENECK ** 2, latent_dim),
                                  nn.LeakyReLU(LEAK, inplace=True))

    def forward(self, x):
        return self.head(self.features(x))


class LabelScale(nn.Module):
    """z * embedding(y): the class enters the latent multiplicatively, as in the reference."""

    def __init__(self, n_classes: int, latent_dim: int):
        super().__init__()
        self.embed = nn.Embedding(n_classes, latent_dim)

    def forward(self, z, y):
        return z * self.embed(y)


class Decoder(nn.Module):
    """Dense -> 4x4 grid -> [ConvT, BN, LReLU] stages -> ConvT to image with tanh."""

    def __init__(self, channels: int, widths: list[int], latent_dim: int):
        super().__init__()
        top = widths[-1]
        hidden = widths[-2::-1]  # mirror of the encoder: 128-128-64 at 64 px
        self.project = nn.Sequential(nn.Linear(latent_dim, top * BOTTLENECK ** 2),
                                     nn.LeakyReLU(LEAK, inplace=True),
                                     nn.Unflatten(1, (top, BOTTLENECK, BOTTLENECK)))
        layers: list[nn.Module] = []
        c = top
        for w in hidden:
            # Keras BatchNormalization defaults: momentum 0.99 (= PyTorch 0.01), eps 1e-3
            layers += [nn.ConvTranspose2d(c, w, 4, 2, 1), nn.BatchNorm2d(w, eps=1e-3, momentum=0.01),
                       nn.LeakyReLU(LEAK, inplace=True)]
            c = w
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z):
        return self.body(self.project(z))


class Critic(nn.Module):
    """Image features multiplied by a projected label embedding, then Dense512 -> Dense1 (a logit)."""

    def __init__(self, channels: int, widths: list[int], n_classes: int, label_dim: int = 512,
                 joint_dim: int = 512):
        super().__init__()
        features = widths[-1] * BOTTLENECK ** 2
        self.features = _conv_stack(channels, widths, conv=PenaltyConv2d)
        self.label = nn.Sequential(nn.Embedding(n_classes, label_dim), nn.Linear(label_dim, features),
                                   nn.LeakyReLU(LEAK, inplace=True))
        self.head = nn.Sequential(nn.Linear(features, joint_dim), nn.Linear(joint_dim, 1))

    def forward(self, x, y):
        return self.head(self.features(x) * self.label(y)).squeeze(1)

    @contextmanager
    def input_gradients_only(self):
        """For the penalty's inner backward, which asks for d critic / d input only.

        Exact for this critic: conv outputs reach its input gradient only through LeakyReLU masks
        (piecewise constant), so the penalty has no gradient path back into the forward convs'
        weights that would need the skipped terms (tests compare against plain Conv2d)."""
        convs = [m for m in self.modules() if isinstance(m, PenaltyConv2d)]
        for m in convs:
            m.weight_grads = False
        try:
            yield
        finally:
            for m in convs:
                m.weight_grads = True


def init_like_reference(module: nn.Module) -> None:
    """Keras initialisers of the reference: conv N(0, 0.02), Dense glorot-uniform, Embedding
    U(-0.05, 0.05), BatchNorm gamma 1 (Keras' default, not DCGAN's N(1, 0.02)); all biases zero."""
    dcgan_init(module)
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.uniform_(m.weight, -0.05, 0.05)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)


def build_networks(image_size: int, channels: int, n_classes: int, latent_dim: int = 128,
                   width: float = 1.0) -> dict[str, nn.Module]:
    widths = encoder_widths(image_size, width)
    nets = {"encoder": Encoder(channels, widths, latent_dim), "embedding": LabelScale(n_classes, latent_dim),
            "decoder": Decoder(channels, widths, latent_dim), "critic": Critic(channels, widths, n_classes)}
    for net in nets.values():
        init_like_reference(net)
    return nets

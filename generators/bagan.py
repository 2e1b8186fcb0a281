"""BAGAN (Mariani et al. 2018, "BAGAN: Data augmentation with balancing GAN").

An autoencoder trained on all classes gives the generator (its decoder) and the discriminator
(its encoder trunk) a shared starting point, so minority classes borrow the features learnt from
majority ones. Each class is modelled as a Gaussian in the autoencoder's latent space; the
generator is conditioned by *where* its latent code is drawn from, and the discriminator has one
softmax output per class plus one meaning "fake". Networks and optimiser follow the authors'
code (IBM/BAGAN): latent 100, dense-then-upsampling generator without batch norm, a 3x3 conv
trunk with LeakyReLU (Keras' default slope 0.3) and dropout 0.3, Adam(5e-5, beta1 0.5).

Class covariances: a class with fewer images than latent dimensions has a singular sample
covariance, so each one is Ledoit-Wolf shrunk toward a scaled identity, plus a small ridge
(1e-3 x the mean per-dimension variance of all codes) so that even a one-image class gets a
symmetric positive definite matrix.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from augbench.core.seeding import noise_seed, torch_generator
from augbench.datasets.transforms import to_uint8
from augbench.generators import register_generator
from augbench.generators._bagan_common import AutoencoderGAN, check_choice, check_sample_label, requires_grad, scaled
from augbench.generators._gan_utils import balanced_labels

RIDGE = 1e-3


def latent_grid(image_size: int) -> int:
    """Side of the generator's first feature map / encoder's last one: halve until <= 8."""
    side = int(image_size)
    while side > 8:
        side //= 2
    return side


class BaganGenerator(nn.Module):
    """Dense 1024 -> Dense 128*r*r -> [upsample x2, conv 5x5] (256 filters while below half the
    output size, then 128) -> conv 2x2 'same' to the image with tanh; ReLU, no normalisation."""

    def __init__(self, latent_dim: int, image_size: int, channels: int, width: float = 1.0):
        super().__init__()
        r = latent_grid(image_size)
        c = scaled(128, width)
        self.project = nn.Sequential(
            nn.Linear(latent_dim, scaled(1024, width), bias=False), nn.ReLU(),
            nn.Linear(scaled(1024, width), c * r * r, bias=False), nn.ReLU(), nn.Unflatten(1, (c, r, r)))
        layers: list[nn.Module] = []
        side = r
        while side < image_size:
            w = scaled(256 if side < image_size / 2 else 128, width)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, w, 5, padding=2, bias=False),
                       nn.ReLU()]
            c, side = w, side * 2
        # Keras 'same' padding for an even kernel puts the extra row/column after the image
        layers += [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(c, channels, 2, bias=False), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)  # the reference's glorot_normal
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, z):
        return self.body(self.project(z))


def conv_trunk(channels: int, image_size: int, width: float = 1.0, leak: float = 0.3,
               dropout: float = 0.3) -> tuple[nn.Sequential, int]:
    """Encoder/discriminator trunk: 3x3 convs 32 (s2), 64, 128 (s2), 256, then 256 (s2) + 256 pairs
    until the side reaches the generator's start grid; returns it and its flattened size."""
    target = latent_grid(image_size)
    spec = [(32, 2), (64, 1), (128, 2), (256, 1)]
    side = math.ceil(math.ceil(image_size / 2) / 2)
    while side > target:
        spec += [(256, 2), (256, 1)]
        side = math.ceil(side / 2)
    layers: list[nn.Module] = []
    c = channels
    for w, stride in spec:
        w = scaled(w, width)
        layers += [nn.Conv2d(c, w, 3, stride, 1), nn.LeakyReLU(leak), nn.Dropout(dropout)]
        c = w
    layers.append(nn.Flatten())
    trunk = nn.Sequential(*layers)
    for m in trunk.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)  # Keras default glorot_uniform, zero bias
            nn.init.zeros_(m.bias)
    return trunk, c * side * side


class TrunkWithHead(nn.Module):
    """Encoder (head = Dense(latent)) or discriminator (head = Dense(n_classes + 1) logits)."""

    def __init__(self, trunk: nn.Sequential, features: int, outputs: int):
        super().__init__()
        self.trunk = trunk
        self.head = nn.Linear(features, outputs)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        return self.head(self.trunk(x))


def real_vs_fake(logits: torch.Tensor) -> torch.Tensor:
    """bagan's discriminator as a real-vs-fake score: log P(some real class) - log P(fake), the last
    of its n + 1 outputs being the fake class; positive means judged real (what ADA's sign reads)."""
    return torch.logsumexp(logits[:, :-1], dim=1) - logits[:, -1]


def fit_class_gaussians(codes: np.ndarray, labels: np.ndarray, n_classes: int,
                        ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Per-class mean and Ledoit-Wolf covariance of latent ``codes`` (float64), each made SPD by a
    ridge of ``ridge`` x the mean per-dimension variance of all codes. Classes without codes get a
    zero mean and the ridge only (they are never sampled: see check_sample_label)."""
    from sklearn.covariance import ledoit_wolf

    codes = np.asarray(codes, dtype=np.float64)
    p = codes.shape[1]
    scale = float(codes.var(axis=0).mean()) if len(codes) > 1 else 1.0
    eps = ridge * (scale if scale > 0 else 1.0)
    means, covs = np.zeros((n_classes, p)), np.zeros((n_classes, p, p))
    for c in range(n_classes):
        z = codes[labels == c]
        if len(z):
            means[c] = z.mean(axis=0)
        cov = ledoit_wolf(z)[0] if len(z) > 1 else np.zeros((p, p))
        covs[c] = (cov + cov.T) / 2 + eps * np.eye(p)
    return means, covs


@register_generator("bagan", order=23)
class Bagan(AutoencoderGAN):
    """Autoencoder-initialised GAN with class-Gaussian latents and an (n + 1)-way discriminator."""

    DEFAULTS = {
        "latent_dim": 100,
        "ae_epochs": 50,          # reference: autoencoder epochs = GAN epochs
        "gan_epochs": 50,         # one epoch = ceil(N / batch) steps
        "gan_steps": 0,           # > 0 overrides gan_epochs
        "batch_size": 128,
        "lr": 5e-5,               # all three optimisers, as in the reference
        "beta1": 0.5,
        "beta2": 0.999,
        "adam_eps": 1e-7,
        "dropout": 0.3,
        "leak": 0.3,              # Keras LeakyReLU() default slope, which the reference uses
        "fake_labels": "uniform",  # class draw for fakes: "uniform" (reference default) or "rebalance"
        "width": 1.0,             # channel multiplier; 1.0 is the reference architecture
        "amp": False,             # true/auto: bf16 autocast where native (CUDA, AVX512-BF16/AMX CPUs); bf16: force
        "channels_last": True,    # memory layout only; faster convolutions on CPU (oneDNN) and GPU
        # off for bagan alone: on its probe curves at budget 10 it did not help (docs/generators.md,
        # "Why bagan diverged"); the other GANs take the shared default
        "diffaugment": "none",
    }
    #: sampling needs the generator only (plus the class Gaussians, saved as extra state)
    saved_nets = ("generator",)

    def __init__(self, **config):
        super().__init__(**config)
        check_choice(self.name, "fake_labels", self.config["fake_labels"], ("uniform", "rebalance"))
        self.means = self.chol = None  # torch tensors (n_classes, p) and (n_classes, p, p)

    def described_extras(self) -> dict:
        return {"covariance": f"ledoit-wolf + {RIDGE:g} x mean variance ridge"}

    def build(self) -> dict[str, nn.Module]:
        h, _, c = self.image_shape
        cfg, width = self.config, float(self.config["width"])
        trunk, feats = conv_trunk(c, h, width, float(cfg["leak"]), float(cfg["dropout"]))
        disc_trunk, _ = conv_trunk(c, h, width, float(cfg["leak"]), float(cfg["dropout"]))
        return {"generator": BaganGenerator(int(cfg["latent_dim"]), h, c, width),
                "encoder": TrunkWithHead(trunk, feats, int(cfg["latent_dim"])),
                "discriminator": TrunkWithHead(disc_trunk, feats, self.n_classes + 1)}

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.config["channels_last"] else x

    def _train_phases(self, stream, seed, per_epoch, ae_steps, gan_steps, progress) -> None:
        total = ae_steps + gan_steps
        enc, gen = self.nets["encoder"], self.nets["generator"]
        enc.train(), gen.train()
        self._train_autoencoder(stream, [*enc.parameters(), *gen.parameters()], self.config["lr"],
                                lambda x, _: F.mse_loss(gen(enc(self._layout(x))).float(), x),  # the reference's loss
                                ae_steps, per_epoch, progress, total)
        # the discriminator starts from the trained encoder's trunk (its head is new: n + 1 outputs)
        self.nets["discriminator"].trunk.load_state_dict(self.nets["encoder"].trunk.state_dict())
        self._fit_class_latents(stream.x, stream.y)
        self._train_gan(stream, torch_generator(noise_seed(seed)), gan_steps, progress, ae_steps, total)

    @torch.no_grad()
    def _fit_class_latents(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Encode every training image once (dropout off) and fit one Gaussian per class."""
        enc = self.nets["encoder"].eval()
        codes = torch.cat([enc(self._layout(chunk.to(self.device))).float().cpu() for chunk in x.split(256)])
        codes = codes.numpy()
        means, covs = fit_class_gaussians(codes, y.numpy(), self.n_classes)
        self.means = torch.as_tensor(means, dtype=torch.float32, device=self.device)
        self.chol = torch.as_tensor(np.linalg.cholesky(covs), dtype=torch.float32, device=self.device)

    def _class_latents(self, labels: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        eps = torch.randn(len(labels), self.means.size(1), generator=rng).to(self.device)
        return self.means[labels] + torch.einsum("bij,bj->bi", self.chol[labels], eps)

    def _fake_labels(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """Uniform over classes (balanced fakes whatever the real imbalance), or 'rebalance':
        p_c proportional to max(0, 2/n - frequency_c), extra weight on the rare classes."""
        counts = np.asarray(self.class_counts, dtype=np.float64)
        if self.config["fake_labels"] == "uniform" and counts.all():
            return balanced_labels(n, self.n_classes, rng, self.device)
        present = (counts > 0).astype(np.float64)
        if self.config["fake_labels"] == "rebalance":
            p = np.clip(2.0 / present.sum() - counts / counts.sum(), 0, None) * present
            p = p if p.sum() > 0 else present
        else:
            p = present
        probs = torch.as_tensor(p / p.sum(), dtype=torch.float64)
        return torch.multinomial(probs, n, replacement=True, generator=rng).to(self.device)

    def _train_gan(self, stream, rng, steps, progress, offset, total) -> None:
        gen, disc = self.nets["generator"], self.augmented(self.nets["discriminator"])
        gen.train(), disc.train()  # dropout stays on in both steps, as in Keras' train_on_batch
        lr = self.config["lr"]
        opt_d, opt_g = self._adam(disc.parameters(), lr), self._adam(gen.parameters(), lr)
        amp = self.autocast()
        n = self.n_classes
        for step in range(steps):
            x, y = next(stream)
            x = self._layout(x)
            fake_size = math.ceil(x.size(0) / n)  # the reference adds ceil(B / n) fakes to each real batch
            with torch.no_grad(), amp:
                fake = gen(self._class_latents(self._fake_labels(fake_size, rng), rng))
            target = torch.cat([y, torch.full((fake_size,), n, dtype=torch.long, device=self.device)])
            with amp:
                logits = disc(torch.cat([x, fake.to(x.dtype)])).float()
                d_loss = F.cross_entropy(logits, target)
            self.observe_real(real_vs_fake(logits[: x.size(0)]))  # ADA (when on)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

            g_labels = self._fake_labels(x.size(0) + fake_size, rng)
            requires_grad(disc, False)
            with amp:
                g_loss = F.cross_entropy(disc(gen(self._class_latents(g_labels, rng))).float(), g_labels)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            requires_grad(disc, True)
            self.log(offset + step, phase="gan", d_loss=d_loss, g_loss=g_loss)
            if progress:
                progress(offset + step + 1, total)

    @torch.no_grad()
    def generate(self, label: int, n: int, *, seed: int) -> np.ndarray:
        check_sample_label(self.name, label, self.class_counts)
        gen = self.nets["generator"].eval()
        z = self._class_latents(torch.full((n,), label, dtype=torch.long, device=self.device), torch_generator(seed))
        return np.concatenate([to_uint8(gen(chunk)) for chunk in z.split(512)])

    def to(self, device) -> "Bagan":
        super().to(device)
        if self.means is not None:
            self.means, self.chol = self.means.to(self.device), self.chol.to(self.device)
        return self

    def extra_state(self) -> dict:
        """The class Gaussians next to the class counts: with the generator, all sampling needs."""
        return {**super().extra_state(), "means": self.means.cpu(), "chol": self.chol.cpu()}

    def load_extra_state(self, state: dict) -> None:
        super().load_extra_state(state)
        self.means = state["means"].float().to(self.device)
        self.chol = state["chol"].float().to(self.device)

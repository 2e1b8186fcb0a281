"""What DCGAN, cWGAN-GP and InfoGAN share around their training loops: config defaults and checks,
the pair of networks with DCGAN init, the update-rule helpers, seeded sampling and what is saved.

Each backend only declares its defaults, builds its two networks, says how a latent batch for class c
is drawn, and runs its own update rule in ``_train``; so the three differ exactly where their papers do.
Fitting, logging, precision and persistence are the learned-arm scaffold's (_learned.py).
"""
from __future__ import annotations

from abc import abstractmethod
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from augbench.core.errors import UserError
from augbench.core.seeding import torch_generator
from augbench.datasets.transforms import to_uint8
from augbench.generators._conditional_nets import ConditionalGenerator, check_image_shape
from augbench.generators._gan_utils import BatchStream, dcgan_init
from augbench.generators._learned import LearnedGenerator

#: settings every conditional GAN accepts; backends add their own on top
COMMON_DEFAULTS = {
    "steps": 2000,          # generator updates
    "batch_size": 64,
    "lr": 2e-4,             # both networks unless lr_g / lr_d are given (0 = use lr)
    "lr_g": 0.0,
    "lr_d": 0.0,
    "beta1": 0.5,
    "beta2": 0.999,
    "latent_dim": 100,
    "base_channels": 64,
    "log_every": 1,         # history granularity in generator steps (divergence is checked every step)
    "amp": False,           # training forward passes: true/auto = bf16 where native, bf16 = force (sampling float32)
    "sample_chunk": 256,    # images per generator forward pass when sampling
}
_POSITIVE_INTS = ("steps", "batch_size", "latent_dim", "base_channels", "log_every", "sample_chunk")


class ConditionalGAN(LearnedGenerator):
    learned = True
    adversarial = True
    #: backend-specific defaults, merged over COMMON_DEFAULTS
    defaults: dict = {}
    #: config keys that determine the network shapes; saved with the weights so load() can rebuild
    arch_keys: tuple[str, ...] = ("latent_dim", "base_channels")
    #: backend settings that must be positive integers, on top of the common ones
    positive_ints: tuple[str, ...] = ()
    saved_nets = ("generator", "discriminator")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.POSITIVE_INTS = _POSITIVE_INTS + cls.positive_ints

    def __init__(self, **config):
        super().__init__(**config)
        merged = self.config
        if merged["batch_size"] < 2:
            raise UserError("batch_size=1 leaves batch norm without statistics.", "use batch_size >= 2.")
        for key in ("lr", "lr_g", "lr_d"):
            if not isinstance(merged[key], (int, float)) or merged[key] < 0:
                raise UserError(f"setting {key}={merged[key]!r} must not be negative.", f"pass e.g. {key}=2e-4.")

    def settings_defaults(self) -> dict:
        return {**COMMON_DEFAULTS, **self.defaults}

    # --- what a backend provides --------------------------------------------------------------
    @abstractmethod
    def _networks(self) -> tuple[nn.Module, nn.Module]:
        """(G, D) for ``self.image_shape`` / ``self.n_classes`` / config."""

    @abstractmethod
    def _train(self, stream: BatchStream, rng: torch.Generator, progress) -> None:
        """Run ``config['steps']`` generator updates, calling ``self._log`` after each."""

    @property
    def generator_input_dim(self) -> int:
        """Length of the non-class part of G's input."""
        return self.config["latent_dim"]

    def _make_generator(self, embed_dim: int) -> ConditionalGenerator:
        size, _, channels = self.image_shape
        return ConditionalGenerator(size, channels, self.generator_input_dim, self.n_classes,
                                    self.config["base_channels"], embed_dim=embed_dim)

    def _latent(self, labels: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """Generator input for ``labels`` (besides the label itself): N(0, 1) noise by default."""
        return torch.randn(len(labels), self.generator_input_dim, generator=rng).to(self.device)

    # --- the scaffold's hooks -----------------------------------------------------------------
    @property
    def G(self) -> nn.Module | None:
        return self.nets.get("generator")

    @property
    def D(self) -> nn.Module | None:
        """The discriminator as the update rules see it: through the DiffAugment policy while training."""
        return self.augmented(self.nets.get("discriminator"))

    def check_image_shape(self) -> None:
        check_image_shape(self.image_shape)

    def arch_state(self) -> dict:
        return {k: self.config[k] for k in self.arch_keys}

    def build(self) -> dict[str, nn.Module]:
        G, D = self._networks()
        dcgan_init(G)
        dcgan_init(D)
        return {"generator": G, "discriminator": D}

    def train(self, images, labels, *, seed, progress) -> None:
        self.G.train()
        self.D.train()
        stream = self.batches(images, labels, self.config["batch_size"], seed)
        self._train(stream, torch_generator(seed + 1), progress)

    def described_extras(self) -> dict:
        return {"lr_g": self.lr_g, "lr_d": self.lr_d}

    # --- shared plumbing ----------------------------------------------------------------------
    @property
    def lr_g(self) -> float:
        return self.config["lr_g"] or self.config["lr"]

    @property
    def lr_d(self) -> float:
        return self.config["lr_d"] or self.config["lr"]

    @property
    def real_batches_per_step(self) -> int:
        """Real minibatches consumed per generator step (throughput accounting)."""
        return 1

    def _autocast(self):
        return self.autocast()

    def _adam(self, params, lr: float) -> torch.optim.Adam:
        return torch.optim.Adam(params, lr=lr, betas=(self.config["beta1"], self.config["beta2"]))

    @staticmethod
    @contextmanager
    def _frozen(module: nn.Module):
        """Skip parameter gradients of ``module`` (the other player) during an update."""
        module.requires_grad_(False)
        try:
            yield
        finally:
            module.requires_grad_(True)

    def _log(self, step: int, progress, **losses: torch.Tensor | float) -> None:
        """Divergence check every step (stop before producing garbage), history every log_every."""
        self.log(step, keep=step % self.config["log_every"] == 0 or step == self.config["steps"], **losses)
        if progress is not None:
            progress(step, self.config["steps"])

    def _fake_labels(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """Classes for generator updates, drawn like the real batches (``class_sampling``: balanced
        gives rare classes as many updates as common ones)."""
        return self.draw_labels(n, rng)

    @torch.no_grad()
    def generate(self, label: int, n: int, *, seed: int) -> np.ndarray:
        rng = torch_generator(seed)
        y = torch.full((n,), label, dtype=torch.long, device=self.device)
        z = self._latent(y, rng)  # all noise drawn up front: chunking never changes the images
        self.G.eval()
        step = self.config["sample_chunk"]
        return np.concatenate([to_uint8(self.G(z[i:i + step], y[i:i + step])) for i in range(0, n, step)])

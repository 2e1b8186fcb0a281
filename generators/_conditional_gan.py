"""What DCGAN, cWGAN-GP and InfoGAN share around their training loops: config defaults and checks,
seeded network construction, the history/divergence bookkeeping, seeded sampling and persistence.

Each backend only declares its defaults, builds its two networks, says how a latent batch for class c
is drawn, and runs its own update rule in ``_train``; so the three differ exactly where their papers do.
"""
from __future__ import annotations

from abc import abstractmethod
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from augbench.core.seeding import seeded_global_rng, torch_generator
from augbench.core.device import resolve_device
from augbench.core.errors import UserError
from augbench.datasets.transforms import to_uint8
from augbench.generators._arm_utils import arm_precision, check_amp, check_labels, merge_config, with_precision
from augbench.generators._conditional_nets import ConditionalGenerator, check_image_shape
from augbench.generators._gan_utils import BatchStream, balanced_labels, dcgan_init
from augbench.generators.base import DivergenceError, Generator, check_finite

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


class ConditionalGAN(Generator):
    learned = True
    #: backend-specific defaults, merged over COMMON_DEFAULTS
    defaults: dict = {}
    #: config keys that determine the network shapes; saved with the weights so load() can rebuild
    arch_keys: tuple[str, ...] = ("latent_dim", "base_channels")
    #: backend settings that must be positive integers, on top of the common ones
    positive_ints: tuple[str, ...] = ()

    def __init__(self, **config):
        merged = merge_config(self.name, {**COMMON_DEFAULTS, **self.defaults}, config,
                              positive_ints=_POSITIVE_INTS + self.positive_ints)
        check_amp(self.name, merged["amp"])
        if merged["batch_size"] < 2:
            raise UserError("batch_size=1 leaves batch norm without statistics.", "use batch_size >= 2.")
        for key in ("lr", "lr_g", "lr_d"):
            if not isinstance(merged[key], (int, float)) or merged[key] < 0:
                raise UserError(f"setting {key}={merged[key]!r} must not be negative.", f"pass e.g. {key}=2e-4.")
        super().__init__(**merged)
        self.G: nn.Module | None = None
        self.D: nn.Module | None = None
        self.device = torch.device("cpu")
        self.precision = None  # core.precision.Precision of the last fit

    # --- what a backend provides --------------------------------------------------------------
    @abstractmethod
    def _build(self) -> None:
        """Create ``self.G`` and ``self.D`` for ``self.image_shape`` / ``self.n_classes`` / config."""

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

    def describe(self) -> dict:
        out = super().describe()
        out.update(lr_g=self.lr_g, lr_d=self.lr_d)
        return with_precision(out, self.precision)

    def precision_for(self, device: torch.device | str):
        """What ``amp`` resolves to on ``device`` (core/precision.py); the run header asks too."""
        return arm_precision(device, self.config["amp"])

    def _autocast(self):
        return self.precision.autocast()

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

    def _build_seeded(self, seed: int) -> None:
        # network init draws from its own seed without disturbing the caller's global RNG
        with seeded_global_rng(seed):
            self._build()
            dcgan_init(self.G)
            dcgan_init(self.D)

    def _fit(self, images: np.ndarray, labels: np.ndarray, *, seed: int, device: str, progress) -> None:
        check_image_shape(self.image_shape)
        check_labels(self.name, images, labels, self.n_classes)
        self.device = resolve_device(device)
        self.precision = self.precision_for(self.device)
        self._build_seeded(seed)
        self.G.to(self.device).train()
        self.D.to(self.device).train()
        self.history = []
        stream = BatchStream(images, labels, self.config["batch_size"], seed, device=self.device)
        try:
            self._train(stream, torch_generator(seed + 1), progress)
        except DivergenceError:
            self.G = self.D = None  # never sample from a diverged generator
            raise
        self.G.eval()
        self.D.eval()

    def _log(self, step: int, progress, **losses: torch.Tensor | float) -> None:
        """Divergence check every step (stop before producing garbage), history every log_every."""
        values = {k: float(v) for k, v in losses.items()}
        check_finite(self.name, step, **values)
        if step % self.config["log_every"] == 0 or step == self.config["steps"]:
            self.history.append({"step": step, **values})
        if progress is not None:
            progress(step, self.config["steps"])

    def _fake_labels(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """Uniform classes for generator updates, so rare classes get as many updates as common ones."""
        return balanced_labels(n, self.n_classes, rng, device=self.device)

    @torch.no_grad()
    def _sample(self, label: int, n: int, *, seed: int) -> np.ndarray:
        if self.G is None:
            raise RuntimeError(f"{self.name}: no trained generator (fit() failed or load() was not called)")
        if not 0 <= label < self.n_classes:
            raise UserError(f"class {label} does not exist (the generator knows 0..{self.n_classes - 1}).",
                            "ask for a class the generator was fitted on.")
        rng = torch_generator(seed)
        y = torch.full((n,), label, dtype=torch.long, device=self.device)
        z = self._latent(y, rng)  # all noise drawn up front: chunking never changes the images
        self.G.eval()
        step = self.config["sample_chunk"]
        return np.concatenate([to_uint8(self.G(z[i:i + step], y[i:i + step])) for i in range(0, n, step)])

    # --- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        if self.G is None:
            raise RuntimeError(f"{self.name}: nothing to save before fit()")
        return {"arch": {k: self.config[k] for k in self.arch_keys},
                "generator": {k: v.detach().cpu() for k, v in self.G.state_dict().items()},
                "discriminator": {k: v.detach().cpu() for k, v in self.D.state_dict().items()}}

    def load_state_dict(self, state: dict) -> None:
        self.config.update(state["arch"])  # the saved shapes win over this instance's settings
        self._build()
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.G.to(self.device).eval()
        self.D.to(self.device).eval()

"""What the conditional GANs share: config defaults and checks, the pair of networks with DCGAN init,
the one training template (critic steps, then a generator step), seeded sampling and what is saved.

The seven label-conditioned arms (dcgan, cwgan-gp, infogan, wgan, lsgan, sngan, acgan) and opengan
used to write the same step loop out each; loops that drift apart make arms differ for reasons that
are not in their papers. Here it is written once, in ``_train``, and an arm supplies only its losses
and, where its paper says so, a hook:

* ``_critic_loss`` / ``_generator_loss`` -> ``Losses``: what each player minimises, plus the extra
  terms its history record shows (gradient penalty, auxiliary class, information terms);
* ``_critic_condition`` / ``_generator_condition``: what G and D are conditioned on (the labels by
  default; infogan's critic step draws fresh fake classes, opengan's conditions are features);
* ``_optimisers`` (wgan's RMSProp), ``_after_critic_step`` (wgan's clipping), ``_gan_phase``
  (opengan's frozen encoder), ``_networks`` (the critic's architecture), ``_latent`` (infogan's codes).

The order of every random draw is the template's (batch, condition, latent; then fake labels,
condition, latent), so the arms' seeded samples are the ones their own loops produced.
Fitting, logging, precision and persistence are the learned-arm scaffold's (_learned.py).
"""
from __future__ import annotations

from abc import abstractmethod
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from augbench.core.errors import UserError
from augbench.core.seeding import noise_seed, torch_generator
from augbench.datasets.transforms import to_uint8
from augbench.generators._arm_utils import check_number
from augbench.generators._conditional_nets import ConditionalCritic, ConditionalGenerator, check_image_shape
from augbench.generators._gan_utils import BatchStream, dcgan_init
from augbench.generators._learned import LearnedGenerator

#: settings every conditional GAN accepts; an arm's DEFAULTS are ``{**COMMON_DEFAULTS, ...its own}``
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
#: the common settings that size a tensor or count steps; an arm adds its own to this tuple
COMMON_POSITIVE_INTS = ("steps", "batch_size", "latent_dim", "base_channels", "log_every", "sample_chunk")


class Losses(NamedTuple):
    """One player's update: the loss it steps on, and the terms its history record shows besides
    ``d_loss`` / ``g_loss`` (a term named ``d_loss`` or ``g_loss`` replaces the stepped loss there)."""

    loss: torch.Tensor
    logged: dict = {}


class ConditionalGAN(LearnedGenerator):
    adversarial = True
    DEFAULTS = COMMON_DEFAULTS
    POSITIVE_INTS = COMMON_POSITIVE_INTS
    #: config keys that determine the network shapes; saved with the weights so load() can rebuild
    arch_keys: tuple[str, ...] = ("latent_dim", "base_channels")
    #: the critic's normalisation when the arm has no ``critic_norm`` setting (see ``_networks``)
    critic_norm: str = "batch"
    saved_nets = ("generator", "discriminator")

    def __init__(self, **config):
        super().__init__(**config)
        merged = self.config
        if merged["batch_size"] < 2:
            raise UserError("batch_size=1 leaves batch norm without statistics.", "use batch_size >= 2.")
        for key in ("lr", "lr_g", "lr_d"):
            check_number(self.name, key, merged[key], example=2e-4)

    # --- what a backend provides --------------------------------------------------------------
    @abstractmethod
    def _critic_loss(self, real: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor,
                     latent: torch.Tensor, rng: torch.Generator) -> Losses:
        """D's loss on a real batch (with its ``labels``) and detached ``fake = G(latent, cond)``."""

    @abstractmethod
    def _generator_loss(self, fake: torch.Tensor, cond: torch.Tensor, latent: torch.Tensor) -> Losses:
        """G's loss on ``fake = G(latent, cond)``, judged by ``self.D`` (frozen for this update)."""

    def _networks(self) -> tuple[nn.Module, nn.Module]:
        """(G, D) for ``self.image_shape`` / ``self.n_classes`` / config: by default the label-embedding
        generator and the label-plane critic with ``critic_norm`` (the setting, else the class's).
        G is built first: both draw their untouched init from the seeded global RNG in this order."""
        size, _, channels = self.image_shape
        generator = self._make_generator(embed_dim=self.config["embed_dim"])
        critic = ConditionalCritic(size, channels, self.n_classes, self.config["base_channels"],
                                   norm=self.config.get("critic_norm", self.critic_norm))
        return generator, critic

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

    def _critic_condition(self, real: torch.Tensor, labels: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """What the critic step's fakes are conditioned on: the real batch's labels, so D cannot tell
        reals from fakes by class frequency."""
        return labels

    def _generator_condition(self, labels: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """What the generator step's fakes are conditioned on, given their drawn classes."""
        return labels

    def _optimisers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """(G's, D's), G's made first; Adam with the configured betas unless the paper says otherwise."""
        return self._adam(self.G.parameters(), self.lr_g), self._adam(self.D.parameters(), self.lr_d)

    def _after_critic_step(self) -> None:
        """Runs after every critic update (wgan clips the critic's weights here)."""

    @contextmanager
    def _gan_phase(self):
        """What holds for the whole adversarial phase (opengan freezes its encoder); nothing by default."""
        yield

    # --- the training template ------------------------------------------------------------------
    @property
    def real_batches_per_step(self) -> int:
        """Critic updates per generator step, each on its own real minibatch (``n_critic``, else 1);
        the benchmark's throughput accounting reads it too."""
        return int(self.config.get("n_critic", 1))

    def _train(self, stream: BatchStream, rng: torch.Generator, progress) -> None:
        """Run ``config['steps']`` generator updates, each after ``real_batches_per_step`` critic updates,
        logging (and checking for divergence) after every generator update."""
        opt_g, opt_d = self._optimisers()
        with self._gan_phase():
            for step in range(1, self.config["steps"] + 1):
                for _ in range(self.real_batches_per_step):
                    real, labels = next(stream)
                    critic = self._critic_step(real, labels, rng, opt_d)
                generator = self._generator_step(len(labels), rng, opt_g)
                self._log(step, progress, **{"d_loss": critic.loss, "g_loss": generator.loss,
                                             **generator.logged, **critic.logged})

    def _critic_step(self, real, labels, rng, opt_d) -> Losses:
        cond = self._critic_condition(real, labels, rng)
        latent = self._latent(cond, rng)
        self.watch_real(real)  # ADA (when on) reads D's scores on this very batch
        with self._autocast():
            fake = self.G(latent, cond).detach()
            losses = self._critic_loss(real, labels, fake, cond, latent, rng)
        opt_d.zero_grad(set_to_none=True)
        losses.loss.backward()
        opt_d.step()
        self._after_critic_step()
        return losses

    def _generator_step(self, n: int, rng, opt_g) -> Losses:
        """G's update on ``n`` fakes whose classes are drawn like the real batches (``class_sampling``)."""
        cond = self._generator_condition(self._fake_labels(n, rng), rng)
        latent = self._latent(cond, rng)
        with self._frozen(self.D), self._autocast():
            losses = self._generator_loss(self.G(latent, cond), cond, latent)
        opt_g.zero_grad(set_to_none=True)
        losses.loss.backward()
        opt_g.step()
        return losses

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
        self._train(stream, torch_generator(noise_seed(seed)), progress)

    def described_extras(self) -> dict:
        return {"lr_g": self.lr_g, "lr_d": self.lr_d}

    # --- shared plumbing ----------------------------------------------------------------------
    @property
    def lr_g(self) -> float:
        return self.config["lr_g"] or self.config["lr"]

    @property
    def lr_d(self) -> float:
        return self.config["lr_d"] or self.config["lr"]

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

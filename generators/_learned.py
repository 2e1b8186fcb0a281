"""The scaffold every learned arm (GANs, diffusion, latent-smote) stands on.

Each learned arm used to repeat the same plumbing around its training loop, each in its own style:
settings and ``amp`` checks, label checks, device resolution, a seeded build of the networks,
batch streaming, the NaN check with loss logging, precision in ``describe()``, and saving the
networks' state dicts. When that plumbing differs between arms, their results differ for reasons
that are not in the papers, so it lives here once. An arm supplies only:

* ``build()`` -> ``{name: nn.Module}``, its networks for ``image_shape`` / ``n_classes`` / ``config``,
* ``train(images, labels, seed=, progress=)``, its update rule (calling ``self.log`` each step),
* ``generate(label, n, seed=)``, its sampler,

plus, where it has them, ``arch_state`` / ``restore_arch`` (what load() needs to rebuild the nets)
and ``extra_state`` / ``load_extra_state`` (non-network state such as class Gaussians).

Seeding: the build always runs inside ``seeded_global_rng(seed)``, so weight init is a function of
the seed alone. Arms whose *training* also draws from torch's global RNG (dropout) set
``seed_whole_fit`` so that training continues inside the same fork; splitting it would restart the
global RNG after the build and change every dropout mask.
"""
from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch
from torch import nn

from augbench.core.device import resolve_device
from augbench.core.errors import UserError
from augbench.core.precision import Precision
from augbench.core.seeding import LOAD_SEED, augment_seed, seeded_global_rng, torch_generator
from augbench.generators._arm_utils import (arm_precision, check_amp, check_int, check_labels, check_number,
                                            merge_config, with_precision)
from augbench.generators._diffaugment import (OFF, AdaptiveProbability, AugmentedCritic, DiffAugment,
                                              parse_policy, policy_name)
from augbench.generators._gan_utils import CLASS_SAMPLING, BatchStream, class_shares, drawn_labels
from augbench.generators.base import DivergenceError, Generator, check_finite

#: settings every learned arm has, whatever its paper: how its real batches are drawn over classes.
#: balanced by measurement (docs/generators.md, "Few-shot settings, measured", and the sqrt/ADA follow-up
#: after it): with natural batches at budget 10 about 1 % of a batch is a minority image, and bagan's
#: adversarial phase diverged; sqrt was no better on either dataset
SCAFFOLD_DEFAULTS = {"class_sampling": "balanced"}
#: and every adversarial arm: the DiffAugment policy its discriminator sees real and fake batches through
#: (the paper's full policy, by the same measurement), and ADA's adaptive probability for that policy,
#: off unless ``ada_target`` names the target of E[sign(D(real))] (the paper's 0.6); ``ada_kimg``:
#: thousands of real images over which p can go from 0 to 1; ``ada_interval``: critic batches per adjustment
ADVERSARIAL_DEFAULTS = {"diffaugment": "color,translation,cutout", "ada_target": "none", "ada_kimg": 10,
                        "ada_interval": 4}


class LearnedGenerator(Generator):
    #: the one place ``learned`` is stated: every arm on this scaffold is trained, so it gets fidelity
    #: metrics, a compute budget and saved weights (benchmark/fit.py reads the flag, not the registry)
    learned = True
    #: the arm's settings and their defaults, the one spelling for every learned arm (family bases such
    #: as the conditional GANs' COMMON_DEFAULTS are merged in by the arm); unknown keys are refused
    DEFAULTS: dict = {"amp": False}
    #: settings that size a tensor and so must be whole numbers >= 1 (checked by merge_config)
    POSITIVE_INTS: tuple[str, ...] = ()
    #: counts that may be zero but must be whole (checked by merge_config)
    NON_NEGATIVE_INTS: tuple[str, ...] = ()
    #: False for a network measured slower under bf16 autocast on CPU (``amp: auto`` keeps float32 there)
    bf16_helps_on_cpu: bool = True
    #: True when training draws from torch's global RNG (dropout): it then runs in the build's seeded fork
    seed_whole_fit: bool = False
    #: networks that save() persists (None: all of them); the rest are rebuilt untrained by load()
    saved_nets: tuple[str, ...] | None = None
    #: True for arms with a discriminator: they take a ``diffaugment`` policy (generators/_diffaugment.py)
    adversarial: bool = False

    def __init__(self, **config):
        super().__init__(**self.merged_config(config))
        check_amp(self.name, self.config["amp"])
        if self.config["class_sampling"] not in CLASS_SAMPLING:
            raise UserError(f"{self.name}: class_sampling={self.config['class_sampling']!r} is not a sampling rule.",
                            f"use one of {', '.join(CLASS_SAMPLING)}.")
        self.policy = parse_policy(self.config.get("diffaugment"), arm=self.name) if self.adversarial else ()
        self.ada = self._ada_settings() if self.adversarial else None
        self.ada_p: float | None = None              # ADA's probability when the last fit ended
        self.label_shares: np.ndarray | None = None  # the class shares of the fit's draws, set by fit
        self._augment: DiffAugment | None = None     # the policy while training, else None
        self._wrapped: dict[int, nn.Module] = {}      # each critic's wrapper during the fit
        self.nets: dict[str, nn.Module] = {}
        self.arch: dict = {}  # what load() needs to rebuild the networks; fixed when fit() starts
        self.device = torch.device("cpu")
        self.precision: Precision | None = None  # what the last fit ran in

    def _ada_settings(self) -> dict | None:
        """ADA's settings checked, None when it is off (the default)."""
        target = self.config["ada_target"]
        if target in OFF:
            return None
        check_number(self.name, "ada_target", target, strict=True, example=0.6)
        if target >= 1:
            raise UserError(f"{self.name}: ada_target={target!r} must be below 1 (a mean of signs).",
                            "pass the paper's ada_target=0.6, or 'none' for a fixed policy.")
        if not self.policy:
            raise UserError(f"{self.name}: ada_target={target!r} adapts the probability of the DiffAugment "
                            "policy, but diffaugment is 'none'.",
                            "name a policy, e.g. diffaugment=color,translation,cutout, or set ada_target=none.")
        check_number(self.name, "ada_kimg", self.config["ada_kimg"], strict=True, example=10)
        return {"ada_target": float(target), "ada_kimg": float(self.config["ada_kimg"]),
                "ada_interval": check_int(self.name, "ada_interval", self.config["ada_interval"], example=4)}

    def all_defaults(self) -> dict:
        """The scaffold's settings under the arm's own (the arm's win where both name one)."""
        return {**SCAFFOLD_DEFAULTS, **(ADVERSARIAL_DEFAULTS if self.adversarial else {}), **self.DEFAULTS}

    def merged_config(self, config: dict) -> dict:
        """``config`` over the arm's defaults, checked: the one settings check of every learned arm."""
        return merge_config(self.name, self.all_defaults(), config, positive_ints=self.POSITIVE_INTS,
                            non_negative_ints=self.NON_NEGATIVE_INTS)

    # --- what an arm supplies -----------------------------------------------------------------
    @abstractmethod
    def build(self) -> dict[str, nn.Module]:
        """The arm's networks (on the CPU, freshly initialised) for the current shape and settings."""

    @abstractmethod
    def train(self, images: np.ndarray, labels: np.ndarray, *, seed: int, progress) -> None:
        """Fit ``self.nets`` (already on ``self.device``), calling ``self.log`` at every step."""

    @abstractmethod
    def generate(self, label: int, n: int, *, seed: int) -> np.ndarray:
        """``n`` uint8 NHWC images of a valid ``label`` from the trained networks."""

    def check_image_shape(self) -> None:
        """Refuse image shapes the networks cannot be built for (before anything is built)."""

    def arch_state(self) -> dict:
        """Settings that fix the networks' shapes, saved with the weights (called when fit starts)."""
        return {}

    def restore_arch(self, arch: dict) -> None:
        """Make ``build()`` reproduce the saved shapes: the saved values win over this instance's."""
        self.config.update(arch)

    def extra_state(self) -> dict:
        """Non-network state that sampling needs (tensors and primitives only)."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def place(self, net: nn.Module) -> nn.Module:
        """Move a network to ``self.device`` (arms with a preferred memory layout override this)."""
        return net.to(self.device)

    def described_extras(self) -> dict:
        """Derived settings worth logging next to ``config`` (e.g. resolved learning rates)."""
        return {}

    def resolved_settings(self) -> dict:
        """The scaffold's settings as they resolve for this arm, so a fit's hash names them even
        where the preset leaves them to the defaults (benchmark/grid.py)."""
        return {"class_sampling": self.config["class_sampling"],
                **({"diffaugment": policy_name(self.policy)} if self.adversarial else {}),
                **(self.ada or {})}  # only when on: fits with ADA off keep the hashes they had

    # --- precision ----------------------------------------------------------------------------
    def precision_for(self, device: torch.device | str) -> Precision:
        """What ``amp`` resolves to on ``device`` (core/precision.py); the run header asks too."""
        return arm_precision(device, self.config["amp"], bf16_helps_on_cpu=self.bf16_helps_on_cpu)

    def autocast(self):
        """The context for training forward passes, in the precision the fit resolved."""
        return self.precision.autocast()

    def describe(self) -> dict:
        ada = {} if self.ada_p is None else {"ada_p": self.ada_p}
        return with_precision({**super().describe(), **self.described_extras(), **ada}, self.precision)

    # --- fitting ------------------------------------------------------------------------------
    def _fit(self, images: np.ndarray, labels: np.ndarray, *, seed: int, device: str, progress) -> None:
        self.check_image_shape()
        check_labels(self.name, images, labels, self.n_classes)
        self.device = resolve_device(device)
        self.precision = self.precision_for(self.device)
        self.history, self.nets = [], {}  # a failed refit must not leave the old networks behind
        self.arch = self.arch_state()
        self.label_shares = class_shares(labels, self.n_classes, self.config["class_sampling"])
        self._augment = self._policy_for_fit(seed)
        self._wrapped, self.ada_p = {}, None
        try:
            with seeded_global_rng(seed, self.device):
                self.nets = self._built()
                if self.seed_whole_fit:
                    self.train(images, labels, seed=seed, progress=progress)
            if not self.seed_whole_fit:
                self.train(images, labels, seed=seed, progress=progress)
        except DivergenceError:
            self.nets = {}  # never sample from a diverged generator
            raise
        finally:
            if self._controller is not None:
                self.ada_p = self._controller.p
            self._augment, self._wrapped = None, {}  # sampling and probes never see the policy
        for net in self.nets.values():
            net.eval()

    def _policy_for_fit(self, seed: int) -> DiffAugment | None:
        """The fit's DiffAugment (its own seeded stream), adaptive when ADA is on; None without a policy."""
        if not self.policy:
            return None
        adaptive = AdaptiveProbability(self.ada["ada_target"], self.ada["ada_kimg"],
                                       self.ada["ada_interval"]) if self.ada else None
        return DiffAugment(self.policy, torch_generator(augment_seed(seed)), adaptive)

    def _built(self) -> dict[str, nn.Module]:
        return {key: self.place(net) for key, net in self.build().items()}

    def batches(self, images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int) -> BatchStream:
        """Endless seeded minibatches in [-1, 1] on the fit's device, drawn over classes as
        ``class_sampling`` says."""
        return BatchStream(images, labels, int(batch_size), seed, device=self.device,
                           class_sampling=self.config["class_sampling"])

    def draw_labels(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """Classes for a generator step, drawn like the real batches (``class_sampling``)."""
        return drawn_labels(n, self.label_shares, rng, device=self.device)

    def augmented(self, critic: nn.Module) -> nn.Module:
        """``critic`` seen through the fit's DiffAugment policy while training (itself otherwise):
        real, fake and penalty inputs all pass the same policy."""
        if self._augment is None or critic is None:
            return critic
        if id(critic) not in self._wrapped:
            self._wrapped[id(critic)] = AugmentedCritic(critic, self._augment)
        return self._wrapped[id(critic)]

    @property
    def _controller(self) -> AdaptiveProbability | None:
        """ADA's controller while a fit with ADA on is training, else None."""
        return None if self._augment is None else self._augment.adaptive

    def watch_real(self, real: torch.Tensor) -> None:
        """Announce the real batch a critic step is about to score: the augmenting wrapper hands D's
        scores on exactly this tensor to ADA's controller (nothing happens with ADA off)."""
        if self._controller is not None:
            self._augment.watched = real

    def observe_real(self, real_scores: torch.Tensor) -> None:
        """For update rules that score reals inside a bigger batch (bagan, bagan-gp): hand ADA the
        real images' scores (positive = judged real) directly."""
        if self._augment is not None:
            self._augment.observe(real_scores)

    def log(self, step: int, *, keep: bool = True, phase: str | None = None, **losses) -> dict:
        """Stop on a NaN/inf loss (DivergenceError naming the step); append the record to ``history``
        when ``keep``. Every value is stored as a float, so the training curves are JSON-able."""
        values = {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in losses.items()}
        check_finite(self.name, step, **values)
        if self._controller is not None:
            values["ada_p"] = self._controller.p  # the curve shows how much augmentation D needed
        record = {**({"phase": phase} if phase is not None else {}), "step": int(step), **values}
        if keep:
            self.history.append(record)
        return record

    # --- sampling -----------------------------------------------------------------------------
    def probe_sample(self, label: int, n: int, *, seed: int) -> np.ndarray:
        """Samples from the networks mid-fit, for the convergence probe (benchmark/probe.py). Arms
        whose sampling needs end-of-fit state (bagan-gp's BN recalibration) override it; whatever
        they touch they must put back, so the fit goes on as if never probed."""
        return self.sample(label, n, seed=seed)

    def _sample(self, label: int, n: int, *, seed: int) -> np.ndarray:
        if not self.nets:
            raise RuntimeError(f"{self.name}: no trained generator (fit() failed or load() was not called)")
        if not 0 <= label < self.n_classes:
            raise UserError(f"{self.name}: class {label} is out of range (the generator knows "
                            f"0..{self.n_classes - 1}).", "ask for a class the generator was fitted on.")
        return self.generate(label, n, seed=seed)

    def to(self, device: str | torch.device) -> "LearnedGenerator":
        """Move the networks (e.g. after ``load`` on a GPU machine)."""
        self.device = resolve_device(device)
        self.nets = {key: self.place(net) for key, net in self.nets.items()}
        return self

    # --- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        if not self.nets:
            raise RuntimeError(f"{self.name}: nothing to save before fit()")
        keys = self.saved_nets if self.saved_nets is not None else tuple(self.nets)
        return {"arch": dict(self.arch),
                "nets": {k: {n: t.detach().cpu() for n, t in self.nets[k].state_dict().items()} for k in keys},
                "extra": self.extra_state()}

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        self.arch = dict(state["arch"])
        self.restore_arch(self.arch)
        with seeded_global_rng(LOAD_SEED):
            nets = self._built()
        for key, weights in state["nets"].items():
            nets[key].load_state_dict(weights)
        for net in nets.values():
            net.eval()
        self.nets = nets
        self.load_extra_state(state["extra"])

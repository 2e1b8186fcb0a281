"""Plumbing shared by the two autoencoder-initialised GANs (``bagan`` and ``bagan-gp``).

Both papers train an autoencoder first and then an adversarial phase, count training in epochs of
the budgeted split, keep the networks channels-last and persist their whole config with the
weights. ``AutoencoderGAN`` holds that (on top of the learned-arm scaffold, which owns seeding,
logging and persistence), so the two backend modules contain only what their papers disagree on:
networks, latent prior and losses. Their training draws dropout masks from torch's global RNG,
so the whole fit runs in the seeded fork.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from augbench.core.errors import DataError, UserError
from augbench.generators._learned import LearnedGenerator

SUPPORTED_SIZES = (28, 32, 64)
#: settings that size a tensor, checked by merge_config
BAGAN_POSITIVE_INTS = ("batch_size", "latent_dim")


def check_choice(name: str, key: str, value, choices: tuple) -> None:
    if value not in choices:
        raise UserError(f"{name}: {key}={value!r} is not one of {', '.join(map(repr, choices))}.",
                        f"set {key} to one of {', '.join(map(repr, choices))}.")


def check_image_shape(name: str, image_shape: tuple[int, int, int]) -> None:
    """The networks are laid out for exactly these sizes; anything else would fail deep inside a conv."""
    height, width, channels = image_shape
    if height != width or height not in SUPPORTED_SIZES or channels not in (1, 3):
        raise UserError(
            f"generator {name!r} supports square 28, 32 or 64 px images with 1 or 3 channels, "
            f"got {height}x{width}x{channels}.",
            "load the dataset at image size 28, 32 or 64 (grey or RGB).",
        )


def check_sample_label(name: str, label: int, class_counts: list[int]) -> None:
    """A class the model never saw has no fitted prior (BAGAN) or an untrained embedding (BAGAN-GP)."""
    if not 0 <= label < len(class_counts):
        raise UserError(f"{name}: class {label} is out of range for {len(class_counts)} classes.",
                        f"ask for a class in 0..{len(class_counts) - 1}.")
    if class_counts[label] == 0:
        raise DataError(f"{name}: class {label} had no training images, so it cannot be generated.",
                        "fit the generator on data that contains at least one image of that class.")


def scaled(channels: int, width: float) -> int:
    """Channel count under the width multiplier (tests shrink nets; 1.0 is the paper's size)."""
    return max(1, int(round(channels * float(width))))


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    return max(1, math.ceil(n_images / batch_size))


def adam(params, lr: float, betas: tuple[float, float], eps: float, device: torch.device) -> torch.optim.Adam:
    """Adam with the fused kernel where PyTorch has one (CPU, CUDA): several times faster per step
    on the 5 M-parameter critics, which step five times per generator step."""
    return torch.optim.Adam(params, lr=float(lr), betas=(float(betas[0]), float(betas[1])), eps=float(eps),
                            fused=device.type in ("cpu", "cuda"))


def requires_grad(module: nn.Module, flag: bool) -> None:
    """Freeze the critic during a generator step so no time goes into its unused weight gradients."""
    for p in module.parameters():
        p.requires_grad_(flag)


def class_counts(labels: np.ndarray, n_classes: int) -> list[int]:
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"labels must lie in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}.",
                        "pass n_classes equal to the dataset's number of classes.")
    return np.bincount(labels, minlength=n_classes).tolist()


class AutoencoderGAN(LearnedGenerator):
    """The autoencoder-then-GAN schedule and layout shared by ``bagan`` and ``bagan-gp``."""

    adversarial = True
    POSITIVE_INTS = BAGAN_POSITIVE_INTS
    seed_whole_fit = True

    def __init__(self, **config):
        super().__init__(**config)
        self.class_counts: list[int] = []

    # --- the scaffold's hooks -----------------------------------------------------------------
    def check_image_shape(self) -> None:
        check_image_shape(self.name, self.image_shape)

    def arch_state(self) -> dict:
        return dict(self.config)  # the whole config: a saved fit is restored with all its settings

    def restore_arch(self, arch: dict) -> None:
        self.config = self.merged_config(arch)

    def extra_state(self) -> dict:
        return {"class_counts": list(self.class_counts)}

    def load_extra_state(self, state: dict) -> None:
        self.class_counts = list(state["class_counts"])

    def place(self, net: nn.Module) -> nn.Module:
        # the same layout after fit and after load: the same kernels, so bit-identical samples
        fmt = torch.channels_last if self.config["channels_last"] else torch.contiguous_format
        return net.to(device=self.device, memory_format=fmt)

    length_knob = "gan_steps"  # what a compute budget sets (benchmark/compute.py); pre-training is fixed

    def training_units(self, n_images: int) -> int:
        """GAN steps a fit on ``n_images`` takes: ``gan_steps``, or ``gan_epochs`` passes when it is 0."""
        per_epoch = steps_per_epoch(n_images, int(self.config["batch_size"]))
        return int(self.config["gan_steps"]) or int(self.config["gan_epochs"]) * per_epoch

    def train(self, images, labels, *, seed, progress) -> None:
        self.class_counts = class_counts(labels, self.n_classes)
        batch = int(self.config["batch_size"])
        per_epoch = steps_per_epoch(len(labels), batch)
        ae_steps = int(self.config["ae_epochs"]) * per_epoch
        gan_steps = self.training_units(len(labels))
        self._train_phases(self.batches(images, labels, batch, seed), seed, per_epoch, ae_steps, gan_steps,
                           progress)

    # --- what each backend provides -----------------------------------------------------------
    def _train_phases(self, stream, seed: int, per_epoch: int, ae_steps: int, gan_steps: int, progress) -> None:
        raise NotImplementedError

    # --- shared plumbing ----------------------------------------------------------------------
    def _adam(self, params, lr: float) -> torch.optim.Adam:
        cfg = self.config
        return adam(params, lr, (cfg["beta1"], cfg["beta2"]), cfg["adam_eps"], self.device)

    def _train_autoencoder(self, stream, params, lr: float, loss_fn, steps: int, per_epoch: int, progress,
                           total: int) -> None:
        """Reconstruction phase: NaN check on every batch, one history record per epoch (its mean loss)."""
        opt = self._adam(params, lr)
        amp = self.autocast()
        running = []
        for step in range(steps):
            x, y = next(stream)
            with amp:
                loss = loss_fn(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running.append(float(loss.detach()))
            self.log(step, keep=False, phase="ae", loss=running[-1])
            if (step + 1) % per_epoch == 0 or step + 1 == steps:
                self.log(step, phase="ae", loss=float(np.mean(running)), epoch=step // per_epoch)
                running = []
            if progress:
                progress(step + 1, total)

"""The arms every GAN must beat: change nothing, duplicate, classic augmentation, reweight the loss,
or correct the class prior in the logits (balanced softmax, post-hoc logit adjustment).

They implement the same Generator interface as the GANs so the runner has one code path; the
comparison is only fair if every arm feeds the classifier through the same training protocol.
"""
from __future__ import annotations

import albumentations as A
import cv2
import numpy as np

from augbench.core.errors import UserError
from augbench.core.seeding import salted_rng
from augbench.generators import register_generator
from augbench.generators._arm_utils import merge_config
from augbench.generators.base import Generator


class _Baseline(Generator):
    """A non-learned arm whose settings (often none) are declared in ``DEFAULTS`` and checked like a
    learned arm's, so a typo in a grid file is an error instead of a silently ignored keyword."""

    DEFAULTS: dict = {}

    def __init__(self, **config):
        super().__init__(**merge_config(self.name, self.DEFAULTS, config))


@register_generator("none", order=0)
class NoAugmentation(_Baseline):
    """The reference arm: the budgeted real images only."""

    adds_images = False

    def _fit(self, images, labels, *, seed, device, progress):
        pass


@register_generator("class-weighted", order=1)
class ClassWeightedLoss(_Baseline):
    """No new images; the classifier's cross-entropy is weighted by inverse class frequency."""

    adds_images = False
    class_weighted_loss = True

    def _fit(self, images, labels, *, seed, device, progress):
        pass


def log_prior(class_counts) -> np.ndarray:
    """log of the training class frequencies; an absent class gets the log of half an image so the
    offset stays finite (it has no training term anyway)."""
    counts = np.asarray(class_counts, dtype=np.float64).reshape(-1)
    if counts.size == 0 or not np.isfinite(counts).all() or (counts < 0).any() or counts.sum() <= 0:
        raise ValueError(f"class counts must be non-negative with a positive total, got {counts.tolist()}")
    counts = np.where(counts > 0, counts, 0.5)
    return np.log(counts / counts.sum())


@register_generator("balanced-softmax", order=4)
class BalancedSoftmax(_Baseline):
    """Balanced softmax (Ren et al., NeurIPS 2020): train on logits + log(prior), predict with the raw
    logits. The loss then fits the class-balanced posterior instead of the skewed training one."""

    adds_images = False

    def _fit(self, images, labels, *, seed, device, progress):
        pass

    def logit_offsets(self, class_counts):
        return log_prior(class_counts), None


@register_generator("logit-adjustment", order=5)
class PosthocLogitAdjustment(_Baseline):
    """Post-hoc logit adjustment (Menon et al., ICLR 2021): train with plain cross-entropy, then
    predict (and select the epoch) with logits - tau * log(prior). tau = 1 is the balanced-error
    optimum under the paper's assumptions; the paper tunes it, which a budget-true protocol cannot
    do on val without spending its few images on it, so it stays a setting."""

    adds_images = False
    DEFAULTS = {"tau": 1.0}

    def __init__(self, **config):
        super().__init__(**config)
        tau = self.config["tau"]
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not np.isfinite(tau) or tau < 0:
            raise UserError(f"logit-adjustment tau {tau!r} must be a non-negative number.", "use e.g. tau: 1.0.")
        self.config["tau"] = float(tau)

    def _fit(self, images, labels, *, seed, device, progress):
        pass

    def logit_offsets(self, class_counts):
        return None, -self.config["tau"] * log_prior(class_counts)


def images_state(by_class: dict) -> dict:
    """Per-class image arrays as a state dict of tensors (what Generator.save writes)."""
    import torch

    return {str(c): torch.from_numpy(v.copy()) for c, v in by_class.items()}


def images_from_state(state: dict) -> dict[int, np.ndarray]:
    return {int(c): v.numpy() for c, v in state.items()}


class _FromBudgetImages(_Baseline):
    """Arms that draw (with replacement) from the class's own budget images."""

    def _fit(self, images, labels, *, seed, device, progress):
        self._by_class = {int(c): images[labels == c] for c in np.unique(labels)}

    def _pick(self, label: int, n: int, rng: np.random.Generator) -> np.ndarray:
        pool = self._by_class.get(label)
        if pool is None or len(pool) == 0:
            raise ValueError(f"{self.name}: class {label} has no training images to draw from")
        return pool[rng.integers(0, len(pool), n)]

    def state_dict(self) -> dict:
        return images_state(self._by_class)

    def load_state_dict(self, state: dict) -> None:
        self._by_class = images_from_state(state)


@register_generator("oversample", order=2)
class RandomOversampling(_FromBudgetImages):
    """Random duplication of budget images (imbalanced-learn's RandomOverSampler on images)."""

    def _sample(self, label, n, *, seed):
        return self._pick(label, n, salted_rng(seed, label, 1)).copy()


@register_generator("classic", order=3)
class ClassicAugmentation(_FromBudgetImages):
    """Flips, rotations, affine and intensity jitter applied to budget images (albumentations).

    Dermoscopy and X-ray images tolerate different transforms; the defaults are mild enough for both,
    and every knob is a config key so a grid can tune them.
    """

    DEFAULTS = {"rotate": 20.0, "scale": 0.1, "translate": 0.08, "brightness": 0.15, "contrast": 0.15,
                "hflip": 0.5, "vflip": 0.5}

    def _pipeline(self, seed: int) -> A.Compose:
        c = self.config
        return A.Compose([
            A.HorizontalFlip(p=c["hflip"]),
            A.VerticalFlip(p=c["vflip"]),
            A.Affine(rotate=(-c["rotate"], c["rotate"]), scale=(1 - c["scale"], 1 + c["scale"]),
                     translate_percent=(-c["translate"], c["translate"]), border_mode=cv2.BORDER_REFLECT_101, p=0.9),
            A.RandomBrightnessContrast(brightness_limit=c["brightness"], contrast_limit=c["contrast"], p=0.8),
        ], seed=seed)

    def _sample(self, label, n, *, seed):
        rng = salted_rng(seed, label, 2)
        picked = self._pick(label, n, rng)
        pipeline = self._pipeline(int(rng.integers(0, 2**31 - 1)))
        out = np.empty_like(picked)
        for i, image in enumerate(picked):
            augmented = pipeline(image=image[..., 0] if image.shape[-1] == 1 else image)["image"]
            out[i] = augmented.reshape(image.shape)
        return out

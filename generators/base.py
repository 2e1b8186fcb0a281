"""The one interface every augmentation arm implements, from `none` to the GANs.

An arm is fitted on the budgeted training images and then asked for N images of class c. Arms that
change the loss instead of the data (class-weighted) or change nothing (none) say so through
``adds_images`` / ``class_weighted_loss`` so the runner treats every arm through the same code.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch

from augbench.core.errors import UserError
from augbench.core.seeding import class_seed


class DivergenceError(UserError):
    """A generator's loss became NaN/inf; its samples would be garbage, so the fit stops."""


class Generator(ABC):
    #: registry name, set by the registry decorator's caller
    name: str = "base"
    #: False for arms that never produce images (none, class-weighted)
    adds_images: bool = True
    #: True for the arm that reweights the classifier's loss instead of adding images
    class_weighted_loss: bool = False
    #: True for trained generators (GANs, diffusion) whose samples deserve fidelity metrics; in-tree,
    #: only LearnedGenerator (generators/_learned.py) sets it, so no arm or registry entry repeats it
    learned: bool = False

    def __init__(self, **config):
        self.config = dict(config)
        self.history: list[dict] = []  # per-step (or per-epoch) losses, logged as training curves
        self.n_classes: int | None = None
        self.image_shape: tuple[int, int, int] | None = None  # (H, W, C)

    # --- the interface -------------------------------------------------------------------------
    def fit(self, images: np.ndarray, labels: np.ndarray, n_classes: int, *, seed: int = 0,
            device: str = "cpu", progress=None) -> "Generator":
        """Learn from uint8 NHWC ``images`` with int ``labels``. ``progress(step, total)`` is optional."""
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError("images must be uint8 NHWC")
        self.n_classes = int(n_classes)
        self.image_shape = tuple(int(s) for s in images.shape[1:])
        self._fit(images, np.asarray(labels, dtype=np.int64), seed=seed, device=device, progress=progress)
        return self

    @abstractmethod
    def _fit(self, images: np.ndarray, labels: np.ndarray, *, seed: int, device: str, progress) -> None: ...

    def sample(self, label: int, n: int, *, seed: int = 0) -> np.ndarray:
        """Return ``n`` uint8 NHWC images of class ``label``."""
        if not self.adds_images:
            raise TypeError(f"arm {self.name!r} does not produce images")
        if self.image_shape is None:
            raise RuntimeError(f"{self.name}: call fit() before sample()")
        if n <= 0:
            return np.zeros((0, *self.image_shape), dtype=np.uint8)
        out = self._sample(int(label), int(n), seed=seed)
        assert out.dtype == np.uint8 and out.shape == (n, *self.image_shape), (out.dtype, out.shape)
        return out

    def _sample(self, label: int, n: int, *, seed: int) -> np.ndarray:
        raise NotImplementedError

    def resample(self, counts: dict[int, int], *, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``counts[c]`` new images of each class c (in the dict's order), as (uint8 NHWC images, int64 labels).

        The one seeding rule for synthetic images: class c is drawn with ``sample(c, n, seed=class_seed(seed, c))``
        (``seed * 1000 + c``, augbench/core/seeding.py), the rule the benchmark harness has always used, so
        the API and the CLI give the same images for a seed and a class's images do not depend on which
        other classes are topped up. Classes with a count <= 0
        and arms that add no images contribute nothing.
        """
        if self.image_shape is None:
            raise RuntimeError(f"{self.name}: call fit() before resample()")
        xs = [np.zeros((0, *self.image_shape), dtype=np.uint8)]
        ys = [np.zeros(0, dtype=np.int64)]
        if self.adds_images:
            for c, n in counts.items():
                if int(n) > 0:
                    xs.append(self.sample(int(c), int(n), seed=class_seed(seed, c)))
                    ys.append(np.full(int(n), int(c), dtype=np.int64))
        return np.concatenate(xs), np.concatenate(ys)

    def logit_offsets(self, class_counts) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per-class constants added to the classifier's logits: (in the training loss, at prediction).

        Arms that correct the class prior through the logits (balanced softmax, post-hoc logit
        adjustment) return them here; the shared training loop applies them, so these arms differ
        from ``none`` only in this offset, never in optimiser, steps or model selection.
        ``class_counts`` are the classifier's training images per class. Default: no offset.
        """
        return None, None

    def describe(self) -> dict:
        """Settings worth logging as MLflow params (flat, JSON-able)."""
        return {k: v for k, v in self.config.items() if isinstance(v, (int, float, str, bool))}

    # --- persistence (learned arms override state_dict / load_state_dict) ---------------------
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def save(self, path: str | Path) -> None:
        torch.save({"name": self.name, "config": self.describe(), "n_classes": self.n_classes,
                    "image_shape": list(self.image_shape or ()), "state": self.state_dict()}, str(path))

    def load(self, path: str | Path) -> "Generator":
        blob = torch.load(str(path), weights_only=True)
        # the saved settings win over the constructor's: a checkpoint samples as it did when saved
        # (ddim steps, guidance, temperature are settings, not weights); change one after load if wanted
        self.config.update({k: v for k, v in blob.get("config", {}).items() if k in self.config})
        self.n_classes = blob["n_classes"]
        self.image_shape = tuple(blob["image_shape"]) or None
        self.load_state_dict(blob["state"])
        return self


def check_finite(name: str, step: int, **losses: float) -> None:
    """Raise DivergenceError when any loss is NaN/inf, naming the arm, the step and the fix."""
    bad = {k: v for k, v in losses.items() if not math.isfinite(float(v))}
    if bad:
        raise DivergenceError(
            f"generator {name!r} diverged at step {step}: {', '.join(f'{k}={v}' for k, v in bad.items())}.",
            f"lower its learning rate (a grid file's `overrides: generators: {name}:` block, e.g. lr: 1e-4; "
            "`benchmark presets` lists its settings) or batch size, or try another seed; "
            "no synthetic images were produced for this cell.",
        )


def fit_resample(generator: Generator, images: np.ndarray, labels: np.ndarray, targets: dict[int, int],
                 *, n_classes: int | None = None, seed: int = 0, device: str = "cpu"):
    """imbalanced-learn style helper: fit, then top every class up to ``targets[c]`` images.

    The synthetic images come from ``generator.resample`` with this ``seed``, so they are the ones the
    benchmark CLI draws for a fit with that seed.
    """
    n_classes = n_classes or int(labels.max()) + 1
    generator.fit(images, labels, n_classes, seed=seed, device=device)
    missing = {c: target - int((labels == c).sum()) for c, target in sorted(targets.items())}
    new_images, new_labels = generator.resample(missing, seed=seed)
    return np.concatenate([images, new_images]), np.concatenate([np.asarray(labels, dtype=np.int64), new_labels])

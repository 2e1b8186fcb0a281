"""Differentiable augmentation of everything a discriminator sees (Zhao et al. 2020, DiffAugment).

On ten images a discriminator memorises its real batch within a few hundred steps and the generator
learns nothing more. DiffAugment applies one random, differentiable transformation policy T to
*both* the real and the fake batch before D (and, through D, before the gradient penalty), so D
never sees an un-augmented image and G is trained through T: the generated distribution is not
pushed towards augmented images, because T applies to the reals as well.

The policy here follows the paper's three families, written from its description:

* ``color``: per image, brightness shift U(-0.5, 0.5), saturation scale U(0, 2) about the pixel's
  channel mean, contrast scale U(0.5, 1.5) about the image mean (images are in [-1, 1]);
* ``translation``: per image, an integer shift of up to 1/8 of the side in each axis, zero filled;
* ``cutout``: per image, a square of half the side at a random centre set to 0, clipped at borders.

Every draw comes from the fit's own generator, so a fit is a function of its seed. The wrapper
:class:`AugmentedCritic` is what an arm's update rule calls instead of its critic while training;
the networks saved and sampled from are never wrapped.

Adaptive probability (Karras et al. 2020, ADA), an option: instead of augmenting every image, each
family is applied to each image with probability p, and :class:`AdaptiveProbability` moves p by how
sure the discriminator is of the real images it is trained on: r_t = E[sign(D(real))], measured over
``interval`` critic batches; p goes up when r_t is above the target (D is overfitting) and down when
below. Unlike the paper's fixed 500k images for p to go from 0 to 1 (its fits see tens of millions),
the speed is a setting in thousands of images, because the fits here see 10^4 - 10^6.
"""
from __future__ import annotations

import torch
from torch import nn

from augbench.core.errors import UserError

#: the families a policy is made of, in the order they are applied
FAMILIES = ("color", "translation", "cutout")
#: the paper's policy for small datasets
PAPER_POLICY = "color,translation,cutout"
#: the spellings of "off", for the policy and for ADA alike
OFF = (None, False, "", "none", "off")


def parse_policy(text, *, arm: str = "generator") -> tuple[str, ...]:
    """"color,translation" -> ("color", "translation"); "" / "none" / False -> () (off)."""
    if text in OFF:
        return ()
    if not isinstance(text, str):
        raise UserError(f"{arm}: diffaugment={text!r} is not a policy.",
                        f"pass a comma-separated subset of {', '.join(FAMILIES)} (e.g. {PAPER_POLICY}) or 'none'.")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in FAMILIES]
    if unknown:
        raise UserError(f"{arm}: unknown diffaugment famil{'ies' if len(unknown) > 1 else 'y'} "
                        f"{', '.join(map(repr, unknown))}.",
                        f"use a comma-separated subset of {', '.join(FAMILIES)} (e.g. {PAPER_POLICY}) or 'none'.")
    return tuple(f for f in FAMILIES if f in parts)


def policy_name(policy: tuple[str, ...]) -> str:
    """The canonical spelling logged on the fit ("none" when off)."""
    return ",".join(policy) or "none"


def _uniform(x: torch.Tensor, generator: torch.Generator, low: float, high: float) -> torch.Tensor:
    """One U(low, high) per image, shaped to broadcast over (C, H, W)."""
    u = torch.rand(x.size(0), 1, 1, 1, generator=generator).to(x.device, x.dtype)
    return low + (high - low) * u


def _color(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    x = x + _uniform(x, g, -0.5, 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * _uniform(x, g, 0.0, 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x, g, 0.5, 1.5) + mean


def _translation(x: torch.Tensor, g: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    sh, sw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), generator=g).to(x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), generator=g).to(x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy + sh   # index into the padded image
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx + sw
    padded = nn.functional.pad(x, [sw, sw, sh, sh])
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, g: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), generator=g).to(x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), generator=g).to(x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - cy + ch // 2) >= 0) & ((ys - cy + ch // 2) < ch) & ((xs - cx + cw // 2) >= 0) & \
             ((xs - cx + cw // 2) < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


class AdaptiveProbability:
    """ADA's controller: the probability p of each family, adjusted from the sign of D on real images.

    Every ``interval`` observed real batches, r_t = mean sign of their scores (the critic's output
    before any squashing; positive means judged real). p then moves by (images observed since the
    last adjustment) / (``kimg`` * 1000) towards more augmentation when r_t > ``target`` and towards
    less when r_t < ``target``, clamped to [0, 1]. It starts at 0, as in the paper."""

    def __init__(self, target: float, kimg: float, interval: int):
        self.target, self.kimg, self.interval = float(target), float(kimg), int(interval)
        self.p = 0.0
        self.r_t: float | None = None   # the heuristic at the last adjustment
        self.adjustments = 0
        self._sign_sum: torch.Tensor | float = 0.0
        self._images = 0
        self._batches = 0

    def observe(self, real_scores: torch.Tensor) -> None:
        """One real batch's scores, one per image (extra dimensions are averaged per image)."""
        scores = real_scores.detach().float().reshape(len(real_scores), -1).mean(dim=1)
        self._sign_sum = self._sign_sum + torch.sign(scores).sum()
        self._images += len(scores)
        self._batches += 1
        if self._batches >= self.interval:
            self._adjust()

    def _adjust(self) -> None:
        self.r_t = float(self._sign_sum) / self._images
        direction = (self.r_t > self.target) - (self.r_t < self.target)
        self.p = min(1.0, max(0.0, self.p + direction * self._images / (self.kimg * 1000.0)))
        self.adjustments += 1
        self._sign_sum, self._images, self._batches = 0.0, 0, 0


class DiffAugment:
    """The policy as a function of a batch; its randomness is the fit's own generator. With an
    ``adaptive`` controller each family reaches each image with the controller's probability p;
    without one, every image gets every family."""

    def __init__(self, policy: tuple[str, ...], generator: torch.Generator,
                 adaptive: AdaptiveProbability | None = None):
        self.policy = tuple(policy)
        self.generator = generator
        self.adaptive = adaptive
        self.watched: torch.Tensor | None = None  # the real batch whose scores the controller reads

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for family in self.policy:
            x = _OPS[family](x, self.generator) if self.adaptive is None else self._sometimes(family, x)
        return x

    def _sometimes(self, family: str, x: torch.Tensor) -> torch.Tensor:
        """``family`` on each image with probability p (no draws at all while p is 0)."""
        p = self.adaptive.p
        if p <= 0.0:
            return x
        chosen = torch.rand(x.size(0), generator=self.generator) < p
        if not bool(chosen.any()):
            return x
        mask = chosen.view(-1, *([1] * (x.dim() - 1))).to(x.device)
        return torch.where(mask, _OPS[family](x, self.generator), x)

    def observe(self, real_scores: torch.Tensor) -> None:
        """Hand a real batch's scores to the controller (nothing without one)."""
        if self.adaptive is not None:
            self.adaptive.observe(real_scores)


class AugmentedCritic(nn.Module):
    """A critic that sees every input through the policy: real, fake and interpolated alike.

    Its parameters are the critic's own (optimisers, freezing and gradient checks see no
    difference); attributes it does not have are looked up on the critic (``trunk``, context
    managers such as ``input_gradients_only``)."""

    def __init__(self, critic: nn.Module, augment: DiffAugment):
        super().__init__()
        self.critic = critic
        self.augment = augment

    def forward(self, x, *args, **kwargs):
        out = self.critic(self.augment(x), *args, **kwargs)
        if x is self.augment.watched:   # the real batch the training step announced: ADA reads it once
            self.augment.watched = None
            self.augment.observe(out[0] if isinstance(out, (tuple, list)) else out)
        return out

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("critic"), name)

"""The `real` control arm: the perfect generator, whose "synthetic" images are real ones.

A benchmark that can only report "no arm beat none" cannot tell "synthetic images do not help" from
"this run could not have seen help". This arm answers that: it fills every minority class to the
same target count as the generators, with real training images of that class that the budget left
out. Whatever it gains over ``none`` is the most any generator could gain at this compute, and it is
the denominator of the report's *gap closed*. It is the one arm allowed to bring real images from
outside the budget (docs/protocol.md); the report marks it as a control and never calls it best.

The reserve comes in the budget's own seeded order (datasets.budget.reserve_order), so the images it
adds for a seed are the next ones that seed's budget would have kept: at budget 10 the first fill
images are images 11, 12, ... of the class's permutation, nested like the budgets themselves.
"""
from __future__ import annotations

import sys

import numpy as np

from augbench.core.errors import UserError
from augbench.generators import register_generator
from augbench.generators.baselines import _Baseline, images_from_state, images_state


@register_generator("real", order=6, control=True)
class RealImageControl(_Baseline):
    """Fills each minority class with real out-of-budget training images (the ceiling control)."""

    control = True
    uses_reserve = True

    def __init__(self, **config):
        super().__init__(**config)
        self._reserve: dict[int, np.ndarray] = {}
        self.shortfall: dict[int, int] = {}  # class -> images asked for but not available

    def set_reserve(self, by_class: dict[int, np.ndarray]) -> "RealImageControl":
        """The out-of-budget real images of each class, in the order they are to be used."""
        self._reserve = {int(c): np.asarray(v) for c, v in by_class.items()}
        return self

    def _fit(self, images, labels, *, seed, device, progress):
        for c, pool in self._reserve.items():
            if len(pool) and tuple(pool.shape[1:]) != self.image_shape:
                raise UserError(f"real: the reserve images of class {c} are {tuple(pool.shape[1:])}, the budget "
                                f"images {self.image_shape}.", "load every split at one --image-size.")

    def available(self, label: int) -> int:
        return len(self._reserve.get(int(label), ()))

    def _sample(self, label, n, *, seed):
        pool = self._reserve.get(label)
        have = 0 if pool is None else len(pool)
        if have < n:
            raise UserError(f"real: class {label} has {have} real training images outside the budget, {n} were "
                            "asked for.", "ask for fewer, or use resample(), which uses what there is and says so.")
        return pool[:n].copy()  # the first n in the budget's order: independent of the sampling seed

    def resample(self, counts: dict[int, int], *, seed: int):
        """As Generator.resample, but a class with fewer reserve images than asked gets what there is,
        and the shortfall is reported on stderr and kept in ``shortfall`` (logged on the fit)."""
        capped = {}
        self.shortfall = {}
        for c, n in counts.items():
            have = self.available(c)
            if int(n) > have:
                self.shortfall[int(c)] = int(n) - have
            capped[c] = min(int(n), have)
        if self.shortfall:
            missing = ", ".join(f"class {c}: {k} short" for c, k in self.shortfall.items())
            print(f"warning: real control: too few real images outside the budget to reach the target ({missing}); "
                  "it uses all there are, so its classes are smaller than the generators'.", file=sys.stderr)
        return super().resample(capped, seed=seed)

    def state_dict(self) -> dict:
        return images_state(self._reserve)

    def load_state_dict(self, state: dict) -> None:
        self._reserve = images_from_state(state)

"""Equal compute for the learned arms: a fit bounded by floating-point operations (or seconds).

Counting steps is not counting compute: a ddpm step, a cwgan-gp step (five critic updates and a
gradient penalty) and a dcgan step differ several-fold in work, so "400 steps each" favours the arm
with the heaviest step. With ``compute: {budget: flops, flops: F}`` every learned arm trains for
whatever number of its own units (steps, GAN steps, or epochs) costs F floating-point operations.

The cost of an arm is measured, not modelled: two short fits on the fit's own budgeted images, with
the arm's length setting at 1 and at 2 units, under ``torch.utils.flop_counter.FlopCounterMode``.
Their difference is one unit's FLOPs; the rest of the first is the fixed cost (the BAGANs'
autoencoder pre-training, for instance), which counts against the budget too. The same two fits
time the arm on this machine, which is what ``budget: seconds`` uses ("what do I get in N minutes
here"), a planning mode whose result depends on the machine by design. Measurements are cached per
arm, settings, image shape, class count and image count, so seeds of one budget measure once.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from augbench.benchmark.settings import MODES, ComputeSettings  # what a compute budget can be

#: the settings that set a learned arm's training length, in the order they are looked for
LENGTH_KNOBS = ("gan_steps", "steps", "epochs")
TIME_SPAN = 5  # units timed beyond the first, for seconds per unit
MEASURE_BATCHES = 4  # batches of images the measuring fits run on


@dataclass(frozen=True)
class UnitCost:
    """What one fit costs: fixed + units x per_unit, in FLOPs and (on the measuring machine) seconds."""

    knob: str
    fixed_flops: float
    unit_flops: float
    fixed_s: float
    unit_s: float

    def units_for(self, mode: str, amount: float) -> int:
        fixed, unit = (self.fixed_flops, self.unit_flops) if mode == "flops" else (self.fixed_s, self.unit_s)
        if unit <= 0:
            return 1
        return max(1, int(math.floor((float(amount) - fixed) / unit)))

    def flops(self, units: int) -> float:
        return self.fixed_flops + units * self.unit_flops


def length_knob(generator) -> str | None:
    """The setting that counts the arm's training units; None for arms that do not train."""
    if not getattr(generator, "learned", False):
        return None
    declared = getattr(generator, "length_knob", None)
    if declared:
        return declared
    return next((k for k in LENGTH_KNOBS if k in generator.config), None)


def fit_units(generator, n_images: int) -> int:
    """The training units (steps) a fit of ``generator`` on ``n_images`` runs when nothing solves its
    length: the arm's own count where it has one (``training_units``: steps, or epochs of passes when
    steps is 0), else its length setting, from its settings over its defaults."""
    count = getattr(generator, "training_units", None)
    return int(count(n_images)) if count else int(generator.config[length_knob(generator)])


def _flop_counter():
    """A dispatch mode summing torch's own FLOP formulas (torch.utils.flop_counter.flop_registry).

    Not FlopCounterMode itself: its per-module tracking hooks the autograd graph, which breaks the
    double backward of a gradient penalty (cwgan-gp, bagan-gp), and per-module totals are not needed.
    It only adds up: every op runs the kernel it would run uncounted, so a counted fit is the same fit.
    ``with counter.paused():`` leaves out work that is not the arm's (the convergence probe)."""
    from contextlib import contextmanager

    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class FlopCounter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.total = 0
            self._paused = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = None if self._paused else flop_registry.get(func._overloadpacket)
            if formula is not None:
                self.total += int(formula(*args, **kwargs, out_val=out))
            return out

        @contextmanager
        def paused(self):
            self._paused += 1
            try:
                yield
            finally:
                self._paused -= 1

    return FlopCounter()


def uncounted(total: float = math.nan):
    """A stand-in counter that counts nothing and reports ``total``."""
    import contextlib

    stand_in = contextlib.nullcontext()
    stand_in.total = total
    return stand_in


def counting():
    """A FLOP counter for the fit that actually runs (and, separately, for its sampling). The dispatch
    mode is a private torch module; where a torch release moves it, the fit runs uncounted and its
    record says so (``total`` is NaN) rather than failing."""
    try:
        return _flop_counter()
    except ImportError:
        return uncounted()


#: counted training FLOPs further than this from the budget are explained on the fit
COUNT_TOLERANCE = 0.05


def counted_record(bought: dict, train_flops: float, sample_flops: float) -> dict:
    """What the fit counted, next to what its budget bought (plan_length): the counted training
    FLOPs, the sampling FLOPs (the fill images; not part of the training budget, reported beside it),
    their ratio to the budget, and why the count is off the budget by more than COUNT_TOLERANCE."""
    out = {"compute_flops_counted": float(train_flops), "compute_sample_flops": float(sample_flops)}
    if not math.isfinite(float(train_flops)):
        out["compute_note"] = "not counted: this torch has no torch.utils._python_dispatch (the plan stands)"
        return out
    budget = bought.get("compute_budget") if bought.get("compute_mode") == "flops" else None
    if budget:
        ratio = float(train_flops) / float(budget)
        out["compute_counted_vs_budget"] = ratio
        if abs(ratio - 1.0) > COUNT_TOLERANCE:
            unit = float(bought.get("compute_flops_per_unit") or 0.0)
            if bought.get("compute_over_budget"):
                why = "its fixed cost and one unit already exceed the budget; it ran the minimum of one unit"
            elif ratio < 1.0 and unit and (float(budget) - float(train_flops)) < unit * 1.05:
                why = f"the budget buys whole units of {unit:.3g} FLOPs; the remainder was not spent"
            else:
                why = ("the plan's cost, measured on a few batches and extrapolated, differs from this fit's "
                       "(data-dependent work such as the fit's own pass sizes)")
            out["compute_note"] = f"counted {ratio:.2f}x the budget: {why}"
    return out


def _fit_cost(arm: str, settings: dict, images, labels, n_classes: int, device: str, seed: int, *,
              count: bool = True, timed: bool = False):
    """(FLOPs, seconds) of one fit with ``settings``; the seconds are timed without the counter."""
    from augbench.core.seeding import seeded_global_rng
    from augbench.generators import create_generator

    flops = 0.0
    if count:
        counter = _flop_counter()
        with seeded_global_rng(seed, device), counter:
            create_generator(arm, **settings).fit(images, labels, n_classes, seed=seed, device=device)
        flops = float(counter.total)
    if not timed:
        return flops, 0.0
    t0 = time.perf_counter()
    with seeded_global_rng(seed, device):
        create_generator(arm, **settings).fit(images, labels, n_classes, seed=seed, device=device)
    return flops, time.perf_counter() - t0


def _subset(images: np.ndarray, labels: np.ndarray, m: int, seed: int) -> np.ndarray:
    """Indices of ``m`` images covering every class (two of each where it has two), for measuring."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    chosen = list(order[:m])
    for c in np.unique(labels):
        have = int((labels[chosen] == c).sum())
        extra = [i for i in order[m:] if labels[i] == c][:max(0, 2 - have)]
        chosen.extend(extra)
    return np.sort(np.asarray(chosen))


def measure(arm: str, settings: dict, images: np.ndarray, labels: np.ndarray, n_classes: int, *,
            device: str = "cpu", seed: int = 0, cache_dir: str | Path | None = None,
            timed: bool = False) -> UnitCost:
    """The arm's fixed and per-unit cost on ``len(images)`` images (cached under ``cache_dir``).

    The short fits run on a class-covering subset of ``MEASURE_BATCHES`` batches, not on every
    image: a step's cost depends on the batch, not on the pool it is drawn from, while a pass over
    the data (pre-training epochs, encoding every image, an epoch-counted arm's unit) costs in
    proportion to the images per pass. A third fit on twice the pool tells the two kinds of fixed
    cost apart (``_extrapolate``), and the per-pass part is scaled up to the full image count."""
    from augbench.benchmark.grid import content_hash
    from augbench.generators import create_generator

    generator = create_generator(arm, **settings)
    knob = length_knob(generator)
    if knob is None:
        raise ValueError(f"arm {arm!r} has no training length to budget")
    key = content_hash({"arm": arm, "settings": {k: v for k, v in settings.items() if k != knob}, "knob": knob,
                        "shape": list(images.shape[1:]), "n": int(len(images)), "n_classes": int(n_classes),
                        "device": str(device).split(":")[0], "v": 3})
    path = Path(cache_dir) / f"{key}.json" if cache_dir else None
    def make():
        return _measure(arm, settings, generator, knob, images, labels, n_classes, device, seed, timed, path)

    if path is None:
        return make()
    from augbench.benchmark.locks import made_once

    # two workers of a pool fitting the same arm at the same budget (other seeds) measure it once
    return made_once(path, lambda: _cached_cost(path, timed), make)


def _cached_cost(path: Path, timed: bool) -> UnitCost | None:
    if not path.exists():
        return None
    cached = json.loads(path.read_text())
    return UnitCost(**cached) if not timed or cached.get("unit_s") else None


def _measure(arm, settings, generator, knob, images, labels, n_classes, device, seed, timed, path) -> UnitCost:
    batch = int(generator.config.get("batch_size", 64))
    n_full = len(images)
    idx = _subset(images, labels, min(n_full, MEASURE_BATCHES * batch), seed)
    big = idx if len(idx) >= n_full else _subset(images, labels, min(n_full, 2 * len(idx)), seed)
    one = _fit_cost(arm, {**settings, knob: 1}, images[idx], labels[idx], n_classes, device, seed, timed=timed)
    two = _fit_cost(arm, {**settings, knob: 2}, images[idx], labels[idx], n_classes, device, seed, timed=timed)
    # an epoch-counted unit is a pass over the data: it grows with the pool, a step does not
    grows = knob == "epochs"
    unit_flops = max(0.0, two[0] - one[0])
    fixed_small = max(0.0, one[0] - unit_flops)
    unit_s = fixed_s_small = 0.0
    if timed:  # the first timed fit pays one-time kernel set-up: per-unit seconds from two later ones
        span = _fit_cost(arm, {**settings, knob: 1 + TIME_SPAN}, images[idx], labels[idx], n_classes, device, seed,
                         count=False, timed=True)
        unit_s = max(1e-6, (span[1] - two[1]) / (TIME_SPAN - 1))
        fixed_s_small = max(0.0, two[1] - 2 * unit_s)
    if len(big) == len(idx):  # the measuring pool is every image: nothing to extrapolate
        fixed_flops, fixed_s, per_unit = fixed_small, fixed_s_small, 1.0
    else:
        big_one = _fit_cost(arm, {**settings, knob: 1}, images[big], labels[big], n_classes, device, seed,
                            timed=timed)
        ratio = len(big) / len(idx)
        fixed_big = max(0.0, big_one[0] - unit_flops * (ratio if grows else 1.0))
        fixed_s_big = max(0.0, big_one[1] - unit_s * (ratio if grows else 1.0)) if timed else 0.0
        fixed_flops = _extrapolate(fixed_small, fixed_big, len(idx), len(big), n_full)
        fixed_s = _extrapolate(fixed_s_small, fixed_s_big, len(idx), len(big), n_full) if timed else 0.0
        per_unit = n_full / len(idx)
    per_pass_unit = per_unit if grows else 1.0
    cost = UnitCost(knob, fixed_flops, unit_flops * per_pass_unit, fixed_s, unit_s * per_pass_unit)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(asdict(cost)))
        os.replace(tmp, path)
    return cost


def _extrapolate(small: float, big: float, n_small: int, n_big: int, n_full: int) -> float:
    """A fit's fixed cost on ``n_full`` images from two pool sizes, as ``a + b * n``.

    A fixed cost may be steps (a pre-training phase counted in steps costs the same on any pool),
    passes over the data (pre-training epochs, encoding every image) or both (opengan's encoder steps
    then its feature bank); two pool sizes separate the two parts, where scaling the whole of it by
    the pool ratio would charge step-counted phases once per pass."""
    slope = max(0.0, (big - small) / (n_big - n_small))
    return max(0.0, small + slope * (n_full - n_small))


def plan_length(compute: ComputeSettings | None, arm: str, settings: dict, images, labels, n_classes: int, *,
                device: str, seed: int, cache_dir, scale: float | None = None, built=None) -> tuple[dict, dict]:
    """(settings the fit runs with, what the budget bought) for one learned arm.

    ``compute`` is the preset's resolved block. Mode ``steps`` (the default) leaves the settings alone
    and still reports the fit's FLOPs, so every fit says what it cost, whatever bounded it. ``scale``
    (a ``@4x`` variant) multiplies the budget: the steps in steps mode, the amount otherwise.
    ``built``: the arm already built with ``settings``, read for its length instead of a new one."""
    compute = compute or ComputeSettings()
    mode = compute.budget
    amount = None if mode == "steps" else float(getattr(compute, mode)) * (scale or 1.0)
    cost = measure(arm, settings, images, labels, n_classes, device=device, seed=seed, cache_dir=cache_dir,
                   timed=mode == "seconds")
    if mode == "steps":
        from augbench.generators import create_generator

        units = fit_units(built if built is not None else create_generator(arm, **settings), len(images))
        if scale:
            units = max(1, int(round(units * scale)))
            settings = {**settings, cost.knob: units}
    else:
        units = cost.units_for(mode, amount)
        settings = {**settings, cost.knob: units}
    bought = {"compute_mode": mode, "compute_knob": cost.knob, "compute_units": units,
              "compute_flops": cost.flops(units), "compute_flops_per_unit": cost.unit_flops,
              "compute_fixed_flops": cost.fixed_flops}
    if scale:
        bought["compute_scale"] = float(scale)
    if mode != "steps":
        bought["compute_budget"] = amount
        fixed = cost.fixed_flops if mode == "flops" else cost.fixed_s
        bought["compute_over_budget"] = float(fixed + cost.unit_flops * (mode == "flops") + cost.unit_s * (mode != "flops")
                                              > amount)
    if mode == "seconds":
        bought["compute_est_seconds"] = cost.fixed_s + units * cost.unit_s
    return settings, bought

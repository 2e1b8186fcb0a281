"""Real-image budgets for the rare classes: keep only B images of each minority class.

Subsets are nested across budgets for one seed (the 10 images are among the 50, which are among
the 100) because each class is drawn from one seeded permutation and a budget takes its first B
entries. A curve over budgets then measures the effect of more data, not of a different draw.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from augbench.core.errors import UserError
from augbench.core.values import Budget, Target, round_half_up
from augbench.datasets.splitting import class_rng
from augbench.datasets.types import Split

BUDGET_SALT = 7  # keeps budget draws independent of split carving, which uses other salts
VAL_BUDGET_SALT = 11  # the validation budget draws from its own stream: nested across budgets like the train one
VAL_BUDGET_MODES = ("budgeted", "full")


@dataclass
class BudgetResult:
    split: Split  # the budgeted train split (original order kept)
    requested: Budget  # the budget asked for: a count, a fraction ('5%') or every image
    effective: dict[int, int]  # images kept per minority class (a class smaller than the budget keeps all)
    original: dict[int, int]  # images per minority class before the budget
    minority: tuple[int, ...] = ()
    kept_index: np.ndarray | None = None  # positions in the input split that the budget kept (sorted)

    @property
    def label(self) -> str:
        return self.requested.label()


def default_minority(train_counts: list[int]) -> list[int]:
    """Every class smaller than the largest (for a balanced dataset: none)."""
    counts = list(train_counts)
    if not counts:
        return []
    largest = max(counts)
    return [c for c, n in enumerate(counts) if n < largest]


def _class_order(seed: int, label: int, n: int) -> np.ndarray:
    """The seeded order of a class's n training images that every budget takes a prefix of."""
    return class_rng(seed, label, BUDGET_SALT).permutation(n)


def apply_budget(split: Split, n_classes: int, budget, minority, seed: int) -> BudgetResult:
    """Keep ``budget`` images (a :class:`Budget`, or what :meth:`Budget.parse` takes: a count, a
    fraction like ``'5%'``, ``'all'``) of each minority class (seeded, nested); other classes untouched."""
    budget = Budget.parse(budget)
    minority = [int(c) for c in minority]
    bad = [c for c in minority if not 0 <= c < n_classes]
    if bad:
        raise UserError(f"minority class index {bad[0]} is out of range for {n_classes} classes.",
                        f"use class indices 0..{n_classes - 1} or class names.")
    labels = split.labels
    keep = np.ones(len(labels), dtype=bool)
    effective: dict[int, int] = {}
    original: dict[int, int] = {}
    for c in dict.fromkeys(minority):
        idx = np.flatnonzero(labels == c)
        original[c] = len(idx)
        n_keep = budget.images_for(len(idx))
        if n_keep >= len(idx):
            effective[c] = len(idx)
            continue
        # one seeded order per class: every count and fraction keeps a prefix of it, so all budgets nest
        order = _class_order(seed, c, len(idx))
        keep[idx[order[n_keep:]]] = False
        effective[c] = n_keep
    kept = np.flatnonzero(keep)
    return BudgetResult(split.subset(kept), budget, effective, original, tuple(original), kept)


def outside_budget(split: Split, result: BudgetResult, label: int) -> Split:
    """The class's training images the budget left out: never trained on, so a fair "unseen real"
    reference for fidelity calibration (and nothing else: they must not reach training or selection)."""
    dropped = np.ones(len(split), dtype=bool)
    if result.kept_index is not None:
        dropped[result.kept_index] = False
    return split.subset(np.flatnonzero(dropped & (split.labels == label)))


def reserve_order(split: Split, result: BudgetResult, label: int, seed: int) -> np.ndarray:
    """Positions in ``split`` of class ``label``'s images the budget left out, in the budget's own
    seeded order: the images a larger budget of this seed would keep next. Only the `real` control
    arm may train on them (docs/protocol.md)."""
    idx = np.flatnonzero(split.labels == label)
    n_keep = result.effective.get(int(label), len(idx))
    if n_keep >= len(idx):
        return np.zeros(0, dtype=np.int64)
    return idx[_class_order(seed, int(label), len(idx))[n_keep:]]


@dataclass
class ValBudget:
    split: Split  # the validation split model selection may use
    mode: str  # "budgeted" | "full"
    kept: dict[int, int]  # per budgeted class: validation images kept
    original: dict[int, int]  # per budgeted class: validation images before the budget


def check_val_budget(mode) -> str:
    text = str(mode).strip().lower()
    if text not in VAL_BUDGET_MODES:
        raise UserError(f"validation budget {mode!r} is not known.",
                        "use --val-budget budgeted (default: val scaled like train) or full (every val image).")
    return text


def apply_val_budget(val: Split, n_classes: int, budgeted: BudgetResult, seed: int,
                     mode: str = "budgeted") -> ValBudget:
    """Scale each budgeted class's validation images like its training images.

    A team with B real images of a class does not also hold the full validation set of it; letting
    model selection see those images gives the arms real data the budget says does not exist. Each
    class whose training images were cut keeps ``max(1, round(B * n_val / n_train))`` of its val
    images, drawn from one seeded permutation per class so val subsets are nested across budgets
    exactly as the training subsets are. ``mode="full"`` keeps every val image (a labelled ablation).
    """
    mode = check_val_budget(mode)
    keep = np.ones(len(val), dtype=bool)
    kept: dict[int, int] = {}
    original: dict[int, int] = {}
    for c, n_train in budgeted.original.items():
        idx = np.flatnonzero(val.labels == c)
        original[c] = len(idx)
        n_keep = len(idx)
        if mode == "budgeted" and budgeted.effective[c] < n_train and len(idx):
            n_keep = min(len(idx), max(1, round_half_up(budgeted.effective[c] * len(idx) / n_train)))
            order = class_rng(seed, c, VAL_BUDGET_SALT).permutation(len(idx))
            keep[idx[order[n_keep:]]] = False
        kept[c] = n_keep
    return ValBudget(val.subset(np.flatnonzero(keep)), mode, kept, original)


def target_counts(original: dict[int, int], effective: dict[int, int], target, largest: int) -> dict[int, int]:
    """How many images (real + synthetic) each minority class should end up with, for ``target`` (a
    :class:`Target`, or what :meth:`Target.parse` takes).

    ``original``: the class's train count before the budget; ``balanced``: the largest class's
    count; an integer N: N; ``ratio:r``: the budget images plus r synthetic images per real one
    (rounded half up), the synthetic:real axis along which published comparisons find that more
    synthetic images can hurt. Never below what the class already has after the budget.
    """
    target = Target.parse(target)
    if target.kind == "ratio":
        wanted = {c: int(effective[c]) + round_half_up(target.ratio * int(effective[c])) for c in effective}
    elif target.kind == "original":
        wanted = {c: int(original[c]) for c in effective}
    elif target.kind == "balanced":
        wanted = {c: int(largest) for c in effective}
    else:
        wanted = {c: target.count for c in effective}
    return {c: max(wanted[c], int(effective[c])) for c in effective}

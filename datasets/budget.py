"""Real-image budgets for the rare classes: keep only B images of each minority class.

Subsets are nested across budgets for one seed (the 10 images are among the 50, which are among
the 100) because each class is drawn from one seeded permutation and a budget takes its first B
entries. A curve over budgets then measures the effect of more data, not of a different draw.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from augbench.core.errors import UserError
from augbench.datasets.splitting import class_rng
from augbench.datasets.types import Split

BUDGET_SALT = 7  # keeps budget draws independent of split carving, which uses other salts
VAL_BUDGET_SALT = 11  # the validation budget draws from its own stream: nested across budgets like the train one
VAL_BUDGET_MODES = ("budgeted", "full")


@dataclass
class BudgetResult:
    split: Split  # the budgeted train split (original order kept)
    requested: int | str | None  # the budget asked for: a count, a fraction ('5%'), None = all images
    effective: dict[int, int]  # images kept per minority class (a class smaller than the budget keeps all)
    original: dict[int, int]  # images per minority class before the budget
    minority: tuple[int, ...] = ()
    kept_index: np.ndarray | None = None  # positions in the input split that the budget kept (sorted)

    @property
    def label(self) -> str:
        return "all" if self.requested is None else str(self.requested)


def default_minority(train_counts: list[int]) -> list[int]:
    """Every class smaller than the largest (for a balanced dataset: none)."""
    counts = list(train_counts)
    if not counts:
        return []
    largest = max(counts)
    return [c for c, n in enumerate(counts) if n < largest]


def parse_fraction(text: str) -> str | None:
    """``'5%'`` -> ``'5%'`` (normalised: ``'12.50%'`` -> ``'12.5%'``); not a percentage -> None."""
    text = str(text).strip()
    if not text.endswith("%"):
        return None
    try:
        value = float(text[:-1])
    except ValueError:
        raise UserError(f"budget {text!r} is not a percentage.", "write fraction budgets like --budget 5%,10%,50%.") from None
    if not 0.0 < value <= 100.0:
        raise UserError(f"budget {text!r} is outside (0%, 100%].", "use a fraction such as 5%, 10% or 100%.")
    return f"{value:g}%"


def check_budget(budget) -> int | str | None:
    """A count (images per minority class), a fraction (``'5%'``: that share of each minority
    class's training images) or None (every image)."""
    if budget is None or (isinstance(budget, str) and budget.strip().lower() == "all"):
        return None
    if isinstance(budget, str) and budget.strip().endswith("%"):
        return parse_fraction(budget)
    if isinstance(budget, bool):
        raise UserError(f"budget {budget!r} is not a number.", "use a positive integer, a percentage or 'all'.")
    try:
        value = int(str(budget).strip()) if isinstance(budget, str) else int(budget)
    except (TypeError, ValueError):
        raise UserError(f"budget {budget!r} is not a number.",
                        "use a positive integer such as 50, a percentage such as 10%, or 'all'.") from None
    if value != budget and not isinstance(budget, str):
        raise UserError(f"budget {budget!r} is not a whole number.", "use a positive integer such as 50, or 'all'.")
    if value <= 0:
        raise UserError(f"budget {value} must be positive (at least 1 image per class).",
                        "use a positive integer such as 10, 50 or 100, a percentage, or 'all'.")
    return value


def images_kept(budget, n: int) -> int:
    """How many of a class's ``n`` training images a (checked) budget keeps. A fraction rounds half
    up and keeps at least one, so 5 % of a 9-image class is one image, not none."""
    if budget is None:
        return n
    if isinstance(budget, str):
        return min(n, max(1, int(np.floor(float(budget[:-1]) * n / 100.0 + 0.5))))
    return min(n, int(budget))


def _class_order(seed: int, label: int, n: int) -> np.ndarray:
    """The seeded order of a class's n training images that every budget takes a prefix of."""
    return class_rng(seed, label, BUDGET_SALT).permutation(n)


def apply_budget(split: Split, n_classes: int, budget, minority, seed: int) -> BudgetResult:
    """Keep ``budget`` images (a count, or a fraction like ``'5%'``) of each minority class (seeded,
    nested); other classes untouched."""
    budget = check_budget(budget)
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
        n_keep = images_kept(budget, len(idx))
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
            n_keep = min(len(idx), max(1, int(np.floor(budgeted.effective[c] * len(idx) / n_train + 0.5))))
            order = class_rng(seed, c, VAL_BUDGET_SALT).permutation(len(idx))
            keep[idx[order[n_keep:]]] = False
        kept[c] = n_keep
    return ValBudget(val.subset(np.flatnonzero(keep)), mode, kept, original)


def parse_ratio(text: str) -> float:
    """``'ratio:0.5'`` -> 0.5 (synthetic images per real one); UserError for anything else."""
    body = str(text).strip().lower().removeprefix("ratio:")
    try:
        r = float(body)
    except ValueError:
        raise UserError(f"target {text!r} has no number after 'ratio:'.", "write e.g. --target ratio:0.5,1,5.") from None
    if not (r >= 0 and np.isfinite(r)):
        raise UserError(f"target {text!r} must be a ratio >= 0.", "write e.g. --target ratio:0.5,1,5.")
    return r


def target_counts(original: dict[int, int], effective: dict[int, int], mode, largest: int) -> dict[int, int]:
    """How many images (real + synthetic) each minority class should end up with.

    ``original``: the class's train count before the budget; ``balanced``: the largest class's
    count; an integer N: N; ``ratio:r``: the budget images plus r synthetic images per real one
    (rounded half up), the synthetic:real axis along which published comparisons find that more
    synthetic images can hurt. Never below what the class already has after the budget.
    """
    text = str(mode).strip().lower()
    if text.startswith("ratio:"):
        r = parse_ratio(text)
        wanted = {c: int(effective[c]) + int(np.floor(r * int(effective[c]) + 0.5)) for c in effective}
    elif text == "original":
        wanted = {c: int(original[c]) for c in effective}
    elif text == "balanced":
        wanted = {c: int(largest) for c in effective}
    else:
        try:
            n = int(text)
        except ValueError:
            raise UserError(f"target {mode!r} is not understood.",
                            "use --target original, --target balanced or --target N (a positive integer).") from None
        if n <= 0:
            raise UserError(f"target {n} must be a positive number of images.",
                            "use --target original, balanced or a positive integer.")
        wanted = {c: n for c in effective}
    return {c: max(wanted[c], int(effective[c])) for c in effective}

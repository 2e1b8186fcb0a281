"""The values of a grid's axes as small types: a real-image budget, a target, an arm name.

Each has one parser (``parse``, which also takes a value already parsed) and one formatter
(``label``), and every reader takes the typed value: the grid, the budget draw, the target counts,
the reports' ordering and ``report --budget`` matching. The label is the text runs have always
stored ("10", "5%", "all"; "ratio:0.5", "original"; "ddpm@g3", "dcgan@4x"), so typed values read
old stores and leave every cell and fit hash where it was.

The list forms of ``--budget``, ``--target`` and ``--seeds`` (a comma text or a YAML list) are
parsed here too, once each.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from augbench.core.errors import UserError

ALL = "all"
RATIO_PREFIX = "ratio:"
VARIANT_SEP = "@"
BUDGET_FIX = ("write budgets as positive counts, percentages in (0%, 100%] or 'all', "
              "e.g. --budget 10,50,100,all or --budget 5%,12.5%,all.")
TARGET_FIX = "use --target original, balanced, a positive integer N, or ratio:R (e.g. --target ratio:0.5,1,5)."
SEEDS_FIX = "write seeds like --seeds 0,1,2."


def round_half_up(x: float) -> int:
    """The one rounding rule of budgets, validation budgets and ratio targets: half up (2.5 -> 3,
    0.45 -> 0), not Python's round-half-to-even."""
    return int(math.floor(x + 0.5))


def _items(text) -> list[str]:
    """A comma text or a list (a grid file's YAML list) as stripped, non-empty items."""
    items = text if isinstance(text, (list, tuple)) else str(text).split(",")
    return [s for s in (str(i).strip() for i in items) if s]


# --- budgets ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """Real images kept of each minority class: ``count`` images, ``percent`` % of the class's
    training images, or (neither set) every image."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, value) -> "Budget":
        """``10`` / ``'10'``, ``'5%'`` (``'12.50%'`` is ``'12.5%'``), ``'all'`` / None; UserError otherwise."""
        if isinstance(value, Budget):
            return value
        if value is None:
            return cls()
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise UserError(f"budget {value!r} is not a whole number.", BUDGET_FIX)
        if isinstance(value, (int, float)):
            return cls._count(int(value))
        text = str(value).strip().lower()
        if text == ALL:
            return cls()
        if text.endswith("%"):
            try:
                percent = float(text[:-1])
            except ValueError:
                raise UserError(f"budget {text!r} is not a percentage.", BUDGET_FIX) from None
            if not 0.0 < percent <= 100.0:
                raise UserError(f"budget {text!r} is outside (0%, 100%].", BUDGET_FIX)
            # the stored text (six significant digits) is the budget: its images are computed from it
            return cls(percent=float(f"{percent:g}"))
        try:
            count = int(text)
        except ValueError:
            whole = "whole " if re.fullmatch(r"[+-]?\d*\.\d+", text) else ""
            raise UserError(f"budget {text!r} is not a {whole}number.", BUDGET_FIX) from None
        return cls._count(count)

    @classmethod
    def _count(cls, count: int) -> "Budget":
        if count <= 0:
            raise UserError(f"budget {count} must be positive (at least 1 image per class).", BUDGET_FIX)
        return cls(count=count)

    @classmethod
    def read(cls, text) -> "Budget | None":
        """A stored label read back (a report's column): the budget, or None for text that is none."""
        try:
            return cls.parse(text)
        except UserError:
            return None

    @property
    def is_all(self) -> bool:
        return self.count is None and self.percent is None

    @property
    def is_count(self) -> bool:
        return self.count is not None

    @property
    def is_fraction(self) -> bool:
        return self.percent is not None

    def label(self) -> str:
        """The text runs store and hash: ``'10'``, ``'5%'``, ``'all'``."""
        if self.count is not None:
            return str(self.count)
        if self.percent is not None:
            return f"{self.percent:g}%"
        return ALL

    __str__ = label

    def grid_value(self) -> int | str | None:
        """The value a grid's id has always hashed (10, '5%', None), so a resumed grid finds its parent run."""
        return self.count if self.count is not None else None if self.is_all else self.label()

    def sort_key(self) -> tuple:
        """Counts ascending, then fractions ascending, then 'all' (the full training split) last."""
        if self.count is not None:
            return (0, float(self.count), "")
        if self.percent is not None:
            return (1, self.percent, "")
        return (2, 0.0, "")

    def images_for(self, n: int) -> int:
        """How many of a class's ``n`` training images the budget keeps. A fraction rounds half up and
        keeps at least one, so 5 % of a 9-image class is one image, not none."""
        if self.count is not None:
            return min(n, self.count)
        if self.percent is not None:
            return min(n, max(1, round_half_up(self.percent * n / 100.0)))
        return n


def parse_budgets(text) -> list[Budget]:
    """``'10,50,all'``, ``'5%,10%'`` or a list (counts and fractions may be mixed), duplicates dropped."""
    out = [Budget.parse(item) for item in _items(text)]
    if not out:
        raise UserError("no budget given.", "pass e.g. --budget 10,50,100.")
    return list(dict.fromkeys(out))


def budget_sort_key(label) -> tuple:
    """A stored budget label's place in a table: :meth:`Budget.sort_key`; text that is no budget
    goes after the fractions."""
    budget = Budget.read(label)
    return budget.sort_key() if budget is not None else (1, float("inf"), str(label))


# --- targets ------------------------------------------------------------------------------------------
TARGET_KINDS = ("original", "balanced", "count", "ratio")


@dataclass(frozen=True)
class Target:
    """Images each minority class ends with: ``original`` (its count before the budget),
    ``balanced`` (the largest class's), ``count`` (N), or ``ratio`` (the budget images plus R
    synthetic per real one)."""

    kind: str = "original"
    count: int | None = None
    ratio: float | None = None

    @classmethod
    def parse(cls, value) -> "Target":
        """``'original'``, ``'balanced'``, ``'500'``, ``'ratio:0.5'``; UserError otherwise."""
        if isinstance(value, Target):
            return value
        text = str(value).strip().lower()
        if text in ("original", "balanced"):
            return cls(text)
        if text.startswith(RATIO_PREFIX):
            try:
                ratio = float(text.removeprefix(RATIO_PREFIX))
            except ValueError:
                raise UserError(f"target {value!r} has no number after {RATIO_PREFIX!r}.", TARGET_FIX) from None
            if not (ratio >= 0 and math.isfinite(ratio)):
                raise UserError(f"target {value!r} must be a ratio >= 0.", TARGET_FIX)
            return cls("ratio", ratio=float(f"{ratio:g}"))  # the stored text is the target
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count <= 0 or isinstance(value, bool):
            raise UserError(f"target {value!r} is not understood.", TARGET_FIX)
        return cls("count", count=count)

    def label(self) -> str:
        """The text runs store and hash: ``'original'``, ``'balanced'``, ``'500'``, ``'ratio:0.5'``."""
        if self.kind == "count":
            return str(self.count)
        if self.kind == "ratio":
            return f"{RATIO_PREFIX}{self.ratio:g}"
        return self.kind

    __str__ = label


def parse_targets(text) -> list[Target]:
    """``'ratio:0.5,1,5'`` -> ratio 0.5, 1 and 5; ``'original'`` -> original. A bare number right
    after a ratio is another ratio; otherwise it is a count (``--target 500``)."""
    out, ratio = [], False
    for item in _items(text):
        if item.lower().startswith(RATIO_PREFIX):
            ratio = True
        elif ratio:
            item = f"{RATIO_PREFIX}{item}"
        out.append(Target.parse(item))
    if not out:
        raise UserError("no target given.", "pass e.g. --target original or --target ratio:0.5,1,5.")
    return list(dict.fromkeys(out))


# --- seeds --------------------------------------------------------------------------------------------
def parse_seeds(text) -> list[int]:
    """``'0,1,2'`` or a list -> [0, 1, 2] (duplicates dropped); UserError for words or negative seeds."""
    try:
        seeds = [int(s) for s in _items(text)]
    except ValueError:
        raise UserError(f"seeds {text!r} are not integers.", SEEDS_FIX) from None
    if not seeds:
        raise UserError("no seed given.", "pass e.g. --seeds 0,1,2.")
    negative = [s for s in seeds if s < 0]
    if negative:
        raise UserError(f"seed {negative[0]} is negative.", "use seeds >= 0, e.g. --seeds 0,1,2.")
    return list(dict.fromkeys(seeds))


# --- arm names ----------------------------------------------------------------------------------------
_SCALE = re.compile(r"(\d+(?:_\d+)?)x")


@dataclass(frozen=True)
class ArmName:
    """An arm's name: its backend (``base``) and an optional variant label (``ddpm@g3``); a label like
    ``4x`` or ``0_5x`` is a compute multiple (``benchmark run --gen-budget``)."""

    base: str
    variant: str | None = None

    @classmethod
    def parse(cls, value) -> "ArmName":
        """``'ddpm@g3'`` -> base ddpm, variant g3; a plain name has no variant."""
        if isinstance(value, ArmName):
            return value
        base, sep, variant = str(value).strip().partition(VARIANT_SEP)
        return cls(base, variant if sep else None)

    @classmethod
    def scaled(cls, base: str, multiple: float) -> "ArmName":
        """The ``--gen-budget`` variant of ``base`` at ``multiple`` times its compute (1: the arm itself)."""
        return cls(base) if multiple == 1 else cls(base, f"{multiple:g}x".replace(".", "_"))

    @property
    def scale(self) -> float | None:
        """The compute multiple the variant names (``dcgan@4x`` -> 4.0, ``dcgan@0_5x`` -> 0.5), else None."""
        match = _SCALE.fullmatch(self.variant or "")
        return float(match.group(1).replace("_", ".")) if match else None

    def label(self) -> str:
        return self.base if self.variant is None else f"{self.base}{VARIANT_SEP}{self.variant}"

    __str__ = label

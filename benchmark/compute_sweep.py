"""``--gen-budget``: a grid axis over how much compute each learned generator gets.

Each multiple is an arm variant (``ddpm@4x``) rather than a new axis of the grid, so it is hashed,
cached and reported like any other arm, and the arms that do not train stay single reference lines.
"""
from __future__ import annotations

import math

from augbench.benchmark.grid_keys import listify
from augbench.core.errors import UserError
from augbench.core.values import ArmName


def with_compute_sweep(arms: list[str], sweep) -> list[str]:
    """``--gen-budget 1x,4x,16x``: each learned arm also as ``<arm>@4x``, ``<arm>@16x`` (the 1x is
    the arm itself); arms that do not train appear once, as the flat reference lines."""
    if not sweep:
        return arms
    from augbench.generators import GENERATORS

    scales = []
    for item in listify(sweep):
        text = item.lower().removesuffix("x")
        try:
            value = float(text)
        except ValueError:
            raise UserError(f"--gen-budget {item!r} is not a multiple like 4x.", "write e.g. --gen-budget 1x,4x,16x.") from None
        if not (value > 0 and math.isfinite(value)):
            raise UserError(f"--gen-budget {item!r} must be a positive multiple.", "write e.g. --gen-budget 1x,4x,16x.")
        scales.append(value)
    out = []
    for arm in arms:
        if not getattr(GENERATORS.entry(arm).factory, "learned", False) or ArmName.parse(arm).variant is not None:
            out.append(arm)
            continue
        out += [ArmName.scaled(arm, s).label() for s in scales]
    return list(dict.fromkeys(out))

"""How the report orders and reads arms and metrics, shared by tables, plots and verdicts.

The baselines come first (a reader compares everything against them) and a metric's direction is
read from its name, so a new arm or metric needs no registration here.
"""
from __future__ import annotations

BASELINE = "none"
#: the baselines first, in this order; learned arms follow alphabetically
ARM_ORDER = ("none", "oversample", "classic", "class-weighted")


def lower_is_better(metric: str) -> bool:
    name = metric.lower()
    return name.startswith("time_") or any(part in name for part in ("loss", "fid", "kid", "memoris"))


def arm_order(arms) -> list[str]:
    arms = list(dict.fromkeys(str(a) for a in arms))
    known = [a for a in ARM_ORDER if a in arms]
    return known + sorted(a for a in arms if a not in ARM_ORDER)

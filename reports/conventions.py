"""How the report orders and reads arms and metrics, shared by tables, plots and verdicts.

The baselines come first (a reader compares everything against them), then the controls, and a
metric's direction is read from its name, so a new arm or metric needs no registration here.

A *control* arm (``real``: every minority class filled to the generators' target count with real
training images from outside the budget, "the perfect generator") is not a candidate method: it
sets the ceiling a generator is measured against. Tables label it "real (control)" and never mark
it best; the gap a learned arm closes towards it is reported beside Δ (docs/reports.md).
"""
from __future__ import annotations

from augbench.core.values import ArmName

BASELINE = "none"
#: the baselines first, in this order; then the controls; learned arms follow alphabetically
ARM_ORDER = ("none", "oversample", "classic", "class-weighted")
#: arms that are controls, not methods (a labelled variant "real@x" is a control too)
CONTROLS = ("real",)
CONTROL_SUFFIX = " (control)"
#: arms that learn nothing from the images (baselines, loss/logit corrections) and the controls;
#: every other arm is a learned generator
NOT_LEARNED = ("none", "oversample", "classic", "class-weighted", "balanced-softmax", "logit-adjustment", *CONTROLS)


def _base(arm) -> str:
    return ArmName.parse(arm).base


def is_control(arm) -> bool:
    """True for a control arm (``real``) and its labelled variants (``real@x``)."""
    return _base(arm) in CONTROLS


def is_learned(arm) -> bool:
    """True for an arm that is neither a baseline, a loss/logit correction nor a control."""
    return _base(arm) not in NOT_LEARNED


def arm_label(arm) -> str:
    """The arm's name as a table shows it: "real (control)" for a control, else the name."""
    return f"{arm}{CONTROL_SUFFIX}" if is_control(arm) else str(arm)


def lower_is_better(metric: str) -> bool:
    name = metric.lower()
    return name.startswith("time_") or any(part in name for part in ("loss", "fid", "kid", "memoris"))


def arm_order(arms) -> list[str]:
    arms = list(dict.fromkeys(str(a) for a in arms))
    known = [a for a in ARM_ORDER if a in arms]
    controls = sorted((a for a in arms if a not in ARM_ORDER and is_control(a)),
                      key=lambda a: (CONTROLS.index(_base(a)), a != _base(a), a))
    return known + controls + sorted(a for a in arms if a not in ARM_ORDER and not is_control(a))


def control_of(arms) -> str | None:
    """The control a group's arms are measured against: ``real`` itself when present, else the
    first labelled control in arm order; None without one."""
    controls = [a for a in arm_order(arms) if is_control(a)]
    return controls[0] if controls else None

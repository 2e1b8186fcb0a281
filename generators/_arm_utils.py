"""Input checks, device and precision helpers shared by the learned arms.

The arms take their settings as constructor keywords from presets and the CLI, so a typo must fail
with the list of valid names instead of being silently ignored. The precision helpers are used by
every arm with an ``amp`` setting (the GANs, ddpm, latent-smote), so ``amp`` means one thing.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from augbench.core.errors import UserError
from augbench.core.precision import AUTO, Precision, parse_setting, resolve_precision


def merge_config(name: str, defaults: dict, config: dict, *, positive_ints: tuple[str, ...] = (),
                 non_negative_ints: tuple[str, ...] = ()) -> dict:
    """Defaults overlaid with the user's settings (``None`` = keep the default).

    The one place an arm's settings are checked against what it declares: an unknown key is a typo
    worth stopping for, each of ``positive_ints`` must be a whole number >= 1 (it sizes a tensor) and
    each of ``non_negative_ints`` one >= 0 (a count that may be zero); both are stored as ``int``.
    """
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise UserError(f"unknown setting(s) {', '.join(map(repr, unknown))} for generator {name!r}.",
                        f"use only: {', '.join(sorted(defaults))}.")
    merged = {**defaults, **{k: v for k, v in config.items() if v is not None}}
    for keys, minimum in ((positive_ints, 1), (non_negative_ints, 0)):
        for key in keys:
            merged[key] = check_int(name, key, merged.get(key), minimum=minimum, example=defaults[key])
    return merged


def check_int(name: str, key: str, value, *, minimum: int = 1, example=None) -> int:
    """The one whole-number check: ``value`` as an int when it is a whole number >= ``minimum``
    (``4.0`` passes, ``True``, ``2.5`` and ``inf`` do not), else a UserError naming the setting."""
    whole = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
             and int(value) == value)
    if not whole or value < minimum:
        kind = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")
        raise UserError(f"{name}: setting {key}={value!r} must be {kind}.", f"pass e.g. {key}={example!r}.")
    return int(value)


def check_number(name: str, key: str, value, *, minimum: float = 0.0, strict: bool = False, example=None) -> None:
    """The one real-valued check: a number (not a bool, not NaN) >= ``minimum``, or > it when ``strict``."""
    number = not isinstance(value, bool) and isinstance(value, (int, float))
    if not number or not (value > minimum if strict else value >= minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise UserError(f"{name}: setting {key}={value!r} must be a number {bound}.", f"pass e.g. {key}={example!r}.")


def check_labels(name: str, images: np.ndarray, labels: np.ndarray, n_classes: int) -> None:
    if len(labels) != len(images) or len(images) == 0:
        raise UserError(f"{name}: got {len(images)} images and {len(labels)} labels.",
                        "pass one label per image and at least one image.")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise UserError(f"{name}: labels span {labels.min()}..{labels.max()} but n_classes={n_classes}.",
                        "pass labels in 0..n_classes-1 (or the right n_classes).")


def check_amp(name: str, value) -> None:
    """Reject an ``amp`` value that is not a precision setting when the arm is built, not mid-grid."""
    parse_setting(value, key=f"{name}: amp")


def arm_precision(device: torch.device | str, amp, *, bf16_helps_on_cpu: bool = True) -> Precision:
    """What a generator's ``amp`` setting means on ``device`` (core/precision.py): ``true``/``auto``
    is bf16 autocast where the hardware runs bf16 natively (CUDA, CPUs with AVX512-BF16/AMX) and
    float32 elsewhere; ``bf16`` forces bf16 and ``false``/``float32`` disables autocast. Generators
    have no loss scaler, so a GPU without bf16 trains in float32, never fp16.

    ``bf16_helps_on_cpu=False`` is for a network measured slower under bf16 autocast even on a CPU
    with native bf16 (ddpm's U-Net: 0.52-0.59x, perf/cpu_precision.py): ``auto`` keeps it float32 on CPU.
    """
    if not bf16_helps_on_cpu and torch.device(device).type == "cpu" and parse_setting(amp, key="amp") == AUTO:
        return Precision("cpu", None, "float32 (amp requested, but bf16 autocast is slower for this network on CPU)")
    return resolve_precision(device, amp, key="amp")


def with_precision(described: dict, precision: Precision | None) -> dict:
    """``describe()`` plus what the last fit ran in (MLflow param ``gen.precision``), once known."""
    return {**described, "precision": precision.label} if precision is not None else described

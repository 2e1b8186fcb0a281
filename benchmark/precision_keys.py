"""The resolved precision as part of what a fit or cell *is*: its hash, its cache key, its pairing
(and, by the same route, the learned arms' scaffold settings that resolve from defaults).

Precision is resolved from the hardware at run time (augbench/core/precision.py): the same preset
trains in bf16 autocast on a CPU with native bf16 and in float32 on one without, and the numbers
differ. A store or sample cache shared between two such machines would otherwise reuse one
machine's results on the other as if they were the same experiment. So the hashes carry the
resolved name (``bf16``, ``float32``, ``fp16``): an arm's own precision in its fit (arms without a
network of their own have none), the classifier's in every cell. Resolved where the grid is
planned, for the grid's device; a Ray cluster with ``device: auto`` resolves it on the driver
(docs/scaling.md), so its workers are expected to match the driver's hardware.
"""
from __future__ import annotations

import functools
import json
import os

from augbench.core.precision import ENV_VAR


def arm_precision_name(arm: str, settings: dict, device: str) -> str | None:
    """What ``arm`` trains in with these (preset) settings on ``device``, or None for arms without a
    network of their own."""
    return _arm(arm, settings_key(settings), str(device), os.environ.get(ENV_VAR, "auto"))


def classifier_precision_name(classifier_config: dict, device: str) -> str:
    """What the classifiers of a grid train in (the classifier recipe's amp / cpu_bf16 and the device)."""
    return _classifier(json.dumps(classifier_config, sort_keys=True, default=str), str(device),
                       os.environ.get(ENV_VAR, "auto"))


def arm_resolved_settings(arm: str, settings: dict) -> dict:
    """The learned scaffold's settings (class_sampling, diffaugment) as they resolve for ``arm``, {} for
    arms without them. They are in the hash whether the preset names them or leaves them to the
    defaults, so changing a default can never reuse a fit made under the old one."""
    return dict(_resolved(arm, settings_key(settings)))


@functools.lru_cache(maxsize=256)
def unfitted_arm(arm: str, settings: str):
    """``arm`` built with its settings (a JSON text, sorted keys), once per process: what the hashes
    and the run header read off an arm before its fit (resolved settings, precision). Never fitted,
    never changed: the fit builds its own."""
    from augbench.generators import create_generator

    return create_generator(arm, **json.loads(settings))


def settings_key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True, default=str)


@functools.lru_cache(maxsize=256)
def _resolved(arm: str, settings: str) -> tuple:
    resolved = getattr(unfitted_arm(arm, settings), "resolved_settings", None)
    return () if resolved is None else tuple(sorted(resolved().items()))


@functools.lru_cache(maxsize=256)
def _arm(arm: str, settings: str, device: str, _override: str) -> str | None:
    from augbench.core.device import resolve_device

    precision_for = getattr(unfitted_arm(arm, settings), "precision_for", None)
    return None if precision_for is None else precision_for(resolve_device(device)).name


@functools.lru_cache(maxsize=64)
def _classifier(config: str, device: str, _override: str) -> str:
    import dataclasses

    from augbench.classifiers._precision import training_precision
    from augbench.classifiers.training import TrainConfig
    from augbench.core.device import resolve_device

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in ("amp", "cpu_bf16")}
    values = {**defaults, **{k: v for k, v in json.loads(config).items() if k in defaults}}
    return training_precision(resolve_device(device), values["amp"], values["cpu_bf16"]).name

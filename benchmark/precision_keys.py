"""The resolved precision as part of what a fit or cell *is*: its hash, its cache key, its pairing.

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


def arm_precision_name(spec, arm: str) -> str | None:
    """What ``arm`` trains in under this grid's preset and device, or None for arms without a network."""
    from augbench.benchmark.grid import arm_settings

    return _arm(arm, json.dumps(arm_settings(spec.preset, arm), sort_keys=True, default=str), str(spec.device),
                os.environ.get(ENV_VAR, "auto"))


def classifier_precision_name(spec, classifier_config: dict) -> str:
    """What the classifiers of this grid train in (the classifier recipe and the device decide)."""
    return _classifier(json.dumps(classifier_config, sort_keys=True, default=str), str(spec.device),
                       os.environ.get(ENV_VAR, "auto"))


@functools.lru_cache(maxsize=256)
def _arm(arm: str, settings: str, device: str, _override: str) -> str | None:
    from augbench.core.device import resolve_device
    from augbench.generators import create_generator

    generator = create_generator(arm, **json.loads(settings))
    precision_for = getattr(generator, "precision_for", None)
    return None if precision_for is None else precision_for(resolve_device(device)).name


@functools.lru_cache(maxsize=64)
def _classifier(config: str, device: str, _override: str) -> str:
    from augbench.benchmark.settings import train_config
    from augbench.classifiers._precision import training_precision
    from augbench.core.device import resolve_device

    resolved = resolve_device(device)
    tc = train_config(json.loads(config), seed=0, device=str(resolved))
    return training_precision(resolved, tc.amp, tc.cpu_bf16).name

"""The run header's precision line: what every learned arm and the classifier will run in, on this machine.

Precision is chosen at run time from the hardware (core/precision.py), so the preset alone does
not say it: ``amp: true`` is bf16 autocast on a CPU with AVX512-BF16/AMX and float32 on one
without. The header asks each arm and the classifier the same question their fits will ask, so
what it prints is what runs.
"""
from __future__ import annotations

from augbench.benchmark.grid import GridSpec


def describe_precision(spec: GridSpec) -> list[str]:
    """One line per distinct precision: ``"<who>: <label>"``, arms grouped, the classifier first.

    Arms without a network of their own (none, oversample, ...) are left out: only the classifier
    trains in those cells. With ``device: auto`` left to Ray workers the answer is theirs to give.
    """
    if spec.device == "auto":
        return ["resolved on each Ray worker (amp arms: bf16 autocast where the hardware runs it natively, "
                "else float32; classifier: float32 on CPU unless cpu_bf16)"]
    import torch

    from augbench.benchmark.settings import arm_settings
    from augbench.benchmark.settings import train_config
    from augbench.benchmark.precision_keys import settings_key, unfitted_arm
    from augbench.classifiers._precision import training_precision

    device = torch.device(spec.device)
    tc = train_config(dict(spec.preset.get("classifier", {})), seed=0, device=spec.device)
    lines = [f"classifier ({', '.join(spec.classifiers)}): {training_precision(device, tc.amp, tc.cpu_bf16).label}"]
    groups: dict[str, list[str]] = {}
    for arm in spec.generators:
        precision_for = getattr(unfitted_arm(arm, settings_key(arm_settings(spec.preset, arm))), "precision_for", None)
        if precision_for is not None:
            groups.setdefault(precision_for(device).label, []).append(arm)
    lines += [f"{', '.join(arms)}: {label}" for label, arms in groups.items()]
    return lines

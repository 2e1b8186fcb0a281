"""What ``amp``/``cpu_bf16`` mean for classifier training (the device itself: core/device.py)."""
from __future__ import annotations

import torch

from augbench.core.precision import Precision, parse_setting, resolve_precision



def training_precision(device: torch.device, amp: bool, cpu_bf16=False) -> Precision:
    """The classifier's precision, resolved by core/precision.py like the generators' ``amp``.

    CUDA with ``amp``: bfloat16 where the GPU has it natively (no loss scaling needed), float16
    with loss scaling on older GPUs. On CPU float32 stays the default because the MedMNIST reference
    recipe is float32; ``cpu_bf16`` opts in: ``"auto"`` = bf16 autocast only where the CPU runs bf16
    natively (AVX512-BF16/AMX; elsewhere it is ~19x slower), ``True`` = bf16 on any CPU.
    """
    if device.type == "cuda":
        return resolve_precision(device, bool(amp), key="amp", cuda_fp16=True)
    return resolve_precision(device, _cpu_setting(cpu_bf16), key="cpu_bf16")


def _cpu_setting(cpu_bf16) -> str:
    """``cpu_bf16`` predates ``auto``: there ``True`` forces bf16 (as it always did)."""
    if cpu_bf16 is True:
        return "bf16"
    if cpu_bf16 is False or cpu_bf16 is None:
        return "float32"
    return parse_setting(cpu_bf16, key="cpu_bf16")


"""Which CPU a perf script ran on, read once here: every figure in docs/performance.md names it, and
bf16 is 1.4-2x faster on some CPUs and 19x slower on others."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """``model name`` and ``flags`` of /proc/cpuinfo (the platform's processor string elsewhere)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    return model, flags


def cpu_model() -> str:
    return cpu_model_and_flags()[0]


def cpu_description() -> str:
    """Model, cores, the bf16-relevant flags and the verdict core/precision.py acts on."""
    from augbench.core.precision import cpu_bf16_support

    model, flags = cpu_model_and_flags()
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    verdict = cpu_bf16_support()
    return (f"{model}, {os.cpu_count()} cores, flags: {' '.join(shown) or 'none of avx2/avx512/amx'}; "
            f"native bf16: {'yes' if verdict.native else 'no'} ({verdict.reason})")

"""Which arithmetic a network runs in: decided once here from the hardware, and said in words.

bfloat16 autocast is 2.4-2.8x faster than float32 on CPUs with native bf16 units (AVX512-BF16,
AMX-BF16) and about 19x *slower* on CPUs without them (an AVX2-only AMD EPYC: one conv
forward+backward 2.45 s against 0.13 s), because PyTorch then falls back to slow reference kernels.
A preset cannot know which CPU it will meet, so ``amp: true`` means "mixed precision where it helps"
and the choice is made at run time by :func:`resolve_precision`; an explicit ``bf16`` / ``float32``
still wins. Generators and classifiers both import this module, which is why it lives in the lowest
package (``datasets`` hosts the shared infrastructure; it knows nothing of either).

Detection (:func:`cpu_bf16_support`). On x86 the CPU must report AVX512-BF16 or AMX-BF16 (read
through ``torch.cpu``, i.e. cpuinfo, with ``/proc/cpuinfo`` as fallback) *and* oneDNN must have a
bf16 path (``torch.ops.mkldnn._is_mkldnn_bf16_supported()``). The oneDNN check alone is not enough:
it is already true on plain AVX-512 CPUs (Skylake, Cascade Lake), where bf16 is emulated and slower
than float32. Elsewhere (aarch64) oneDNN's own check decides, since it tests the Arm bf16 extension.

Override: the environment variable ``AUGBENCH_CPU_BF16`` = ``auto`` (default: detect), ``1`` (treat
the CPU as having native bf16) or ``0`` (treat it as lacking it). It changes what ``auto`` resolves
to, never an explicit setting; tests use it to check both outcomes on any machine.
"""
from __future__ import annotations

import contextlib
import functools
import os
import platform
from dataclasses import dataclass

import torch

from augbench.core.errors import UserError

ENV_VAR = "AUGBENCH_CPU_BF16"

#: the three meanings a precision setting can have
AUTO, FLOAT32, BF16 = "auto", "float32", "bf16"

_SPELLINGS = {True: AUTO, "auto": AUTO, "true": AUTO,
              False: FLOAT32, "false": FLOAT32, "float32": FLOAT32, "fp32": FLOAT32,
              "bf16": BF16, "bfloat16": BF16}

_X86 = ("x86_64", "amd64", "i386", "i686")


@dataclass(frozen=True)
class CpuBf16:
    """Whether this CPU runs bf16 natively, and what that verdict rests on (for the run header)."""

    native: bool
    reason: str


@dataclass(frozen=True)
class Precision:
    """What a network was (or will be) run in: ``dtype`` None is plain float32."""

    device_type: str
    dtype: torch.dtype | None
    label: str

    @property
    def name(self) -> str:
        return {None: FLOAT32, torch.bfloat16: BF16, torch.float16: "fp16"}[self.dtype]

    def autocast(self):
        """The context to run forward passes in: autocast to ``dtype``, or nothing for float32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)


def parse_setting(value, *, key: str = "amp") -> str:
    """``True``/``"auto"`` -> "auto" (mixed precision where it helps), ``False``/``"float32"`` ->
    "float32", ``"bf16"`` -> "bf16" (bf16 autocast on any device). Anything else is a user error."""
    norm = value.strip().lower() if isinstance(value, str) else value
    if isinstance(norm, (bool, str)) and norm in _SPELLINGS:
        return _SPELLINGS[norm]
    raise UserError(f"{key}={value!r} is not a precision setting.",
                    f"set {key} to true or auto (mixed precision where the hardware runs it natively), "
                    f"false or float32, or bf16 (force bfloat16 autocast).")


def cpu_bf16_support() -> CpuBf16:
    """The detected verdict, unless ``AUGBENCH_CPU_BF16`` overrides it (read on every call)."""
    raw = os.environ.get(ENV_VAR, "auto").strip().lower()
    if raw in ("", "auto"):
        return _probe_cpu()
    if raw in ("1", "true", "yes", "on"):
        return CpuBf16(True, f"{ENV_VAR}={raw}")
    if raw in ("0", "false", "no", "off"):
        return CpuBf16(False, f"{ENV_VAR}={raw}")
    raise UserError(f"{ENV_VAR}={raw!r} is not understood.",
                    f"set {ENV_VAR} to auto (detect), 1 (CPU has native bf16) or 0 (it does not), or unset it.")


@functools.lru_cache(maxsize=1)
def _probe_cpu() -> CpuBf16:
    """The hardware probe, once per process (the CPU does not change under a running process)."""
    if not torch.backends.mkldnn.is_available():
        return CpuBf16(False, "PyTorch built without oneDNN")
    try:
        onednn_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        onednn_bf16 = False
    if platform.machine().lower() not in _X86:
        return CpuBf16(onednn_bf16, f"oneDNN {'has' if onednn_bf16 else 'lacks'} a bf16 path on "
                                    f"{platform.machine()}")
    found = [flag for flag in ("avx512_bf16", "amx_bf16") if flag in _x86_flags()]
    if not found:
        return CpuBf16(False, "no AVX512-BF16 or AMX-BF16")
    if not onednn_bf16:
        return CpuBf16(False, f"{'/'.join(found)} present but oneDNN has no bf16 path")
    return CpuBf16(True, "+".join(f.upper().replace("_", "-") for f in found))


def _x86_flags() -> set[str]:
    """bf16-relevant CPU flags from cpuinfo (via torch.cpu), else from /proc/cpuinfo."""
    flags = set()
    try:
        if torch.cpu._is_avx512_bf16_supported():
            flags.add("avx512_bf16")
        if torch.cpu._is_amx_tile_supported():
            flags.add("amx_bf16")  # every CPU with AMX tiles so far has AMX-BF16 (Sapphire Rapids on)
        return flags
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split()) & {"avx512_bf16", "amx_bf16"}
    except OSError:
        pass
    return flags


def resolve_precision(device: torch.device | str, setting, *, key: str = "amp",
                      cuda_fp16: bool = False) -> Precision:
    """The precision a network on ``device`` runs in for this ``setting`` (see :func:`parse_setting`).

    ``auto``: bf16 autocast on a CPU with native bf16, float32 on other CPUs; bf16 on a GPU with
    native bf16, else fp16 when the caller scales its loss (``cuda_fp16``), else float32.
    ``bf16`` forces bf16 autocast, ``float32`` disables autocast. ``key`` names the setting in the label.
    """
    dev = torch.device(device)
    mode = parse_setting(setting, key=key)
    if mode == FLOAT32:
        return Precision(dev.type, None, f"float32 ({key} off)")
    if dev.type == "cuda":
        return _resolve_cuda(mode, key, cuda_fp16)
    if dev.type != "cpu":
        return Precision(dev.type, None, f"float32 ({key}: no mixed-precision rule for {dev.type})")
    support = cpu_bf16_support()
    if mode == BF16:
        note = "" if support.native else f"; this CPU lacks native bf16 ({support.reason}), expect it slow"
        return Precision("cpu", torch.bfloat16, f"bf16 autocast (forced by {key}: bf16{note})")
    if support.native:
        return Precision("cpu", torch.bfloat16, f"bf16 autocast (CPU has native bf16: {support.reason})")
    return Precision("cpu", None, f"float32 ({key} requested, but the CPU lacks native bf16: {support.reason})")


def _resolve_cuda(mode: str, key: str, cuda_fp16: bool) -> Precision:
    if mode == BF16:
        return Precision("cuda", torch.bfloat16, f"bf16 autocast on CUDA (forced by {key}: bf16)")
    if torch.cuda.is_bf16_supported(including_emulation=False):
        return Precision("cuda", torch.bfloat16, "bf16 autocast on CUDA")
    if cuda_fp16:
        return Precision("cuda", torch.float16, "fp16 autocast with loss scaling on CUDA (GPU lacks native bf16)")
    return Precision("cuda", None, f"float32 on CUDA ({key} requested, but the GPU lacks native bf16)")

"""float32 against bf16 autocast on this CPU: is ``amp: true`` worth resolving to bf16 here?

Why: bf16 autocast was 2.4-2.8x faster than float32 on the Intel CPU the quick preset was tuned on
(AVX512-BF16 + AMX) and 19x slower on a 2-core AMD EPYC with AVX2 only, where PyTorch falls back to
slow reference kernels. core/precision.py therefore resolves ``amp: true`` to bf16 only where it
detects native bf16. This script prints the CPU, the detection verdict, and the ratio for (1) one
conv forward+backward and (2) one training step of every learned arm at its quick-preset size
(28 px RGB, batch 64), forcing each precision (``amp: float32`` / ``amp: bf16``) so both run on any CPU.
One thread, median of several repeats after warm-up; images are random (speed does not depend on
content).

    python perf/cpu_precision.py            # conv + every learned arm (~1-2 min on a 2-core Xeon)
    python perf/cpu_precision.py --conv     # the conv alone
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from augbench.core.precision import cpu_bf16_support  # noqa: E402
from machine import cpu_model  # noqa: E402
from augbench.generators import create_generator  # noqa: E402

# the quick preset's networks with a few steps each; "timed" = how many of the last steps are timed
ARMS = {
    "dcgan": ({"steps": 8, "batch_size": 64, "base_channels": 32}, 6),
    "cwgan-gp": ({"steps": 6, "batch_size": 64, "base_channels": 32}, 4),
    "infogan": ({"steps": 8, "batch_size": 64, "base_channels": 32}, 6),
    "bagan": ({"ae_epochs": 1, "gan_steps": 8, "batch_size": 64, "width": 0.5}, 6),
    "bagan-gp": ({"ae_epochs": 1, "gan_steps": 5, "batch_size": 64, "width": 0.5, "bn_recalibration": 0}, 3),
    "ddpm": ({"steps": 10, "batch_size": 64, "base_channels": 16, "num_res_blocks": 1, "attention": False}, 8),
    "latent-smote": ({"epochs": 2, "batch_size": 64, "base_channels": 32}, 6),
    "wgan": ({"steps": 6, "batch_size": 64, "base_channels": 32}, 4),
    "lsgan": ({"steps": 8, "batch_size": 64, "base_channels": 32}, 6),
    "sngan": ({"steps": 6, "batch_size": 64, "base_channels": 32}, 4),
    "acgan": ({"steps": 8, "batch_size": 64, "base_channels": 32}, 6),
    "opengan": ({"steps": 8, "encoder_steps": 2, "batch_size": 64, "base_channels": 32, "encoder_channels": 16}, 6),
}


def conv_seconds(dtype: torch.dtype | None, repeats: int) -> list[float]:
    """One forward+backward of a 3-layer 3x3 conv stack, batch 64, 64 channels, 28 px."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(*[m for _ in range(3) for m in (torch.nn.Conv2d(64, 64, 3, padding=1),
                                                               torch.nn.LeakyReLU(0.2))])
    x = torch.randn(64, 64, 28, 28)
    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = net(x).float().square().mean()
        loss.backward()
        if i:  # the first call is warm-up (oneDNN primitive creation)
            times.append(time.perf_counter() - t0)
    return times


def arm_step_seconds(arm: str, config: dict, timed: int, amp: str) -> list[float]:
    """Wall time of each of the last ``timed`` training steps of a short fit."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (192, 28, 28, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(3), 64)
    stamps = []
    gen = create_generator(arm, amp=amp, **config)
    gen.fit(images, labels, 3, seed=0, progress=lambda step, total: stamps.append(time.perf_counter()))
    steps = np.diff(stamps)
    return list(steps[-timed:])


def line(name: str, f32: list[float], bf16: list[float]) -> str:
    a, b = statistics.median(f32), statistics.median(bf16)
    return (f"| {name} | {a:.3f} s ({len(f32)}, {min(f32):.3f}..{max(f32):.3f}) | "
            f"{b:.3f} s ({len(bf16)}, {min(bf16):.3f}..{max(bf16):.3f}) | {a / b:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conv", action="store_true", help="time the conv alone")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--arms", default="", help="comma list of arms to time (default: all of them)")
    args = parser.parse_args()
    chosen = [a for a in args.arms.split(",") if a] or list(ARMS)
    torch.set_num_threads(1)
    support = cpu_bf16_support()
    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores); torch {torch.__version__}, 1 thread; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"native bf16 detected: {support.native} ({support.reason})")
    print("| what (median of n, min..max) | float32 | bf16 autocast | bf16 speed-up |")
    print("|---|---|---|---|")
    print(line("conv fwd+bwd (3 x conv3x3 64->64, batch 64, 28 px)",
               conv_seconds(None, args.repeats), conv_seconds(torch.bfloat16, args.repeats)), flush=True)
    if args.conv:
        return
    for arm in chosen:
        config, timed = ARMS[arm]
        f32 = arm_step_seconds(arm, config, timed, "float32")
        bf16 = arm_step_seconds(arm, config, timed, "bf16")
        print(line(f"{arm} training step (quick-preset size)", f32, bf16), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

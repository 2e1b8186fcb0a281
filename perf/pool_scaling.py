"""One process with two torch threads against two one-thread processes side by side, on this CPU.

Why: the quick preset's ``jobs: auto`` runs one fit group per core with one torch thread each,
and the dry run's planner scales its two-thread cost figures by how fast a one-thread worker is
(benchmark/dryrun.py, ``ONE_THREAD_SPEED``). The quick networks are small (28 px, 32-128
channels), so a second thread inside one process buys less than a second process does. This
script measures both, for the classifier's training step (small-cnn, batch 128, through
``train_classifier``) and a GAN step (dcgan at the quick preset's size, batch 64), in float32 and,
where the CPU runs it natively, bf16 autocast.

Reported per workload and precision: median seconds per step of (a) one process with two threads
and (b) each of two one-thread processes started together, the one-thread speed relative to two
threads, and the throughput of (b) over (a).

    python perf/pool_scaling.py            # ~1-2 min on a 2-core machine
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _classifier_steps(bf16: bool, steps: int) -> list[float]:
    """Seconds per step of the second of two epochs (the first pays oneDNN's kernel set-up)."""
    import numpy as np

    from augbench.classifiers import create_classifier
    from augbench.classifiers.training import TrainConfig, train_classifier
    from augbench.datasets.types import Split

    rng = np.random.default_rng(0)
    n = 7010  # isic's training split: one quick epoch is 55 steps of 128
    train = Split(rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8), rng.integers(0, 7, n))
    val = Split(rng.integers(0, 256, (70, 28, 28, 3), dtype=np.uint8), np.arange(70) % 7)
    model = create_classifier("small-cnn", n_classes=7, in_channels=3, image_size=28)
    config = TrainConfig(epochs=2, batch_size=128, steps_per_epoch=steps, cpu_bf16=bf16)
    result = train_classifier(model, train, val, config, n_classes=7)
    return [result.history[1]["seconds"] / steps]


def _gan_steps(bf16: bool, steps: int) -> list[float]:
    import numpy as np

    from augbench.generators import create_generator

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (640, 28, 28, 3), dtype=np.uint8)
    stamps = []
    gen = create_generator("dcgan", steps=steps, batch_size=64, base_channels=32, amp="bf16" if bf16 else "float32")
    gen.fit(images, np.arange(640) % 7, 7, seed=0, progress=lambda step, total: stamps.append(time.perf_counter()))
    return list(np.diff(stamps)[3:])  # the first steps pay oneDNN's kernel set-up


WORKLOADS = {"small-cnn training step (batch 128)": (_classifier_steps, 55),
             "dcgan training step (batch 64, base 32)": (_gan_steps, 40)}


def child(workload: str, bf16: bool, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    fn, steps = WORKLOADS[workload]
    print(json.dumps(fn(bf16, steps)))


def _launch(workload: str, bf16: bool, threads: int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    return subprocess.Popen([sys.executable, __file__, "--child", workload, "--bf16", str(int(bf16)),
                             "--threads", str(threads)], stdout=subprocess.PIPE, text=True, env=env)


def _collect(procs) -> list[list[float]]:
    out = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=1800)
        if proc.returncode:
            raise SystemExit(f"a measuring process failed with exit code {proc.returncode}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--bf16", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, bool(args.bf16), args.threads)
        return 0
    sys.path.insert(0, str(HERE))
    from machine import cpu_description

    from augbench.core.precision import cpu_bf16_support

    precisions = [False] + ([True] if cpu_bf16_support().native else [])
    print(f"CPU: {cpu_description()}; load average before: {os.getloadavg()[0]:.2f}")
    print("| workload | precision | 1 process x 2 threads, s/step | 2 processes x 1 thread, s/step (each) | "
          "1-thread speed vs 2 threads | throughput of 2x1 over 1x2 |")
    print("|---|---|---|---|---|---|")
    for workload in WORKLOADS:
        for bf16 in precisions:
            (two,) = _collect([_launch(workload, bf16, 2)])
            pair = _collect([_launch(workload, bf16, 1), _launch(workload, bf16, 1)])
            a = statistics.median(two)
            b = [statistics.median(p) for p in pair]
            one = statistics.mean(b)
            print(f"| {workload} | {'bf16' if bf16 else 'float32'} | {a:.4f} | {b[0]:.4f}, {b[1]:.4f} | "
                  f"{a / one:.2f}x | {2 * a / one:.2f}x |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

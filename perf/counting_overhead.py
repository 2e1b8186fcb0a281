"""What counting a fit's FLOPs costs: the same quick-sized fit timed with and without the counter
(benchmark/compute.py's dispatch mode), alternating, median of each; prints the ratio.

    python perf/counting_overhead.py [--arm dcgan] [--steps 60] [--reps 3]
"""
import argparse
import statistics
import time

import numpy as np
import torch

from augbench.benchmark.compute import counting
from augbench.generators import create_generator

QUICK = {"dcgan": {"batch_size": 64, "base_channels": 32, "amp": True},
         "cwgan-gp": {"batch_size": 64, "base_channels": 32, "amp": True},
         "bagan-gp": {"ae_epochs": 1, "batch_size": 64, "width": 0.25, "amp": True}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arm", default="dcgan")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (640, 28, 28, 3), dtype=np.uint8)
    labels = rng.integers(0, 7, 640)
    knob = "gan_steps" if args.arm.startswith("bagan") else "steps"
    settings = {**QUICK[args.arm], knob: args.steps}
    times = {"plain": [], "counted": []}
    for _ in range(args.reps):
        for mode in ("plain", "counted"):
            counter = counting() if mode == "counted" else None
            t0 = time.perf_counter()
            if counter is None:
                create_generator(args.arm, **settings).fit(images, labels, 7, seed=0)
            else:
                with counter:
                    create_generator(args.arm, **settings).fit(images, labels, 7, seed=0)
            times[mode].append(time.perf_counter() - t0)
    plain, counted = statistics.median(times["plain"]), statistics.median(times["counted"])
    print(f"{args.arm} {args.steps} steps, 1 thread: plain {plain:.2f} s, counted {counted:.2f} s, "
          f"ratio {counted / plain:.3f} (medians of {args.reps})")


if __name__ == "__main__":
    main()

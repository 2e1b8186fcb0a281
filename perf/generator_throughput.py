"""Training throughput of every learned generator backend: generator steps/s and real images/s.

Why: a grid cell's cost is dominated by the GAN fit, so presets pick step counts from these numbers.
Each backend is fitted on random uint8 images with its default architecture for ``warmup + timed``
steps; the time between consecutive ``progress`` callbacks over the last ``timed`` steps gives one
duration per step, and the median of those is reported with its min..max. Real images per step are *counted*
(minibatches drawn from the shared ``BatchStream``), so a WGAN-GP step with 5 critic updates counts
5 batches. Backends that do not use BatchStream fall back to ``real_batches_per_step`` (or 1).

    python perf/generator_throughput.py                      # 28 and 64 px, batch 64
    python perf/generator_throughput.py --quick              # 28 px, 1 + 3 steps: a smoke run
    python perf/generator_throughput.py --backends dcgan,cwgan-gp --sizes 28 --out results.md
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np  # noqa: E402
import torch  # noqa: E402

from augbench.generators import GENERATORS, create_generator, generator_names  # noqa: E402
from augbench.generators._gan_utils import BatchStream  # noqa: E402


def _step_settings(name: str, steps: int, images_per_epoch: int, batch_size: int) -> dict:
    """Config that makes ``name`` train at least ``steps`` steps; most backends call it ``steps``.

    Two-phase BAGANs get one autoencoder epoch before their GAN steps (the timed window is the last
    steps, i.e. the GAN phase); epoch-based latent-SMOTE gets enough epochs to cover ``steps``.
    """
    if name in ("bagan", "bagan-gp"):
        return {"ae_epochs": 1, "gan_steps": steps}
    if name == "latent-smote":
        return {"epochs": math.ceil(steps / math.ceil(images_per_epoch / batch_size))}
    return {"steps": steps}


def learned_backends() -> list[str]:
    names = []
    for name in generator_names():
        entry = GENERATORS.get(name)
        if getattr(entry.factory, "learned", False):  # the class flag (LearnedGenerator), not registry meta
            names.append(name)
    return names


class _CountBatches:
    """Counts BatchStream minibatches while active (patches the shared class, restores on exit)."""

    def __enter__(self):
        self.count = 0
        self._original = BatchStream.__next__
        counter = self

        def counting(stream):
            counter.count += 1
            return counter._original(stream)

        BatchStream.__next__ = counting
        return self

    def __exit__(self, *exc):
        BatchStream.__next__ = self._original


def measure(name: str, size: int, channels: int, batch_size: int, warmup: int, timed: int, device: str,
            n_classes: int = 4) -> dict:
    rng = np.random.default_rng(0)
    n_images = max(4 * batch_size, 64)
    images = rng.integers(0, 256, (n_images, size, size, channels), dtype=np.uint8)
    labels = np.arange(n_images) % n_classes
    steps = warmup + timed
    gen = create_generator(name, batch_size=batch_size, **_step_settings(name, steps, n_images, batch_size))
    stamps: list[tuple[int, float, int]] = []  # (step, time, batches drawn so far)

    with _CountBatches() as batches:
        def progress(step, total):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            stamps.append((int(step), time.perf_counter(), batches.count))

        start = time.perf_counter()
        gen.fit(images, labels, n_classes, seed=0, device=device, progress=progress)
        total_s = time.perf_counter() - start

    timed_stamps = stamps[-(timed + 1):]  # the last steps: after warm-up (and any pre-training phase)
    per_step = [(t1 - t0) / (s1 - s0) for (s0, t0, _), (s1, t1, _) in zip(timed_stamps, timed_stamps[1:]) if s1 > s0]
    if per_step and len(stamps) > timed:
        batches_per_step = (timed_stamps[-1][2] - timed_stamps[0][2]) / (timed_stamps[-1][0] - timed_stamps[0][0])
        how = "timed steps"
    else:  # backend reports no per-step progress: whole fit (incl. construction) averaged
        per_step = [total_s / steps]
        batches_per_step = batches.count / steps
        how = "whole-fit average"
    if batches_per_step == 0:
        batches_per_step = getattr(gen, "real_batches_per_step", 1)
        how += ", real batches assumed"
    median = statistics.median(per_step)
    return {"backend": name, "size": size, "channels": channels, "batch": batch_size,
            "n_timed": len(per_step), "median_s": median, "min_s": min(per_step), "max_s": max(per_step),
            "steps_per_s": 1.0 / median, "real_images_per_s": batches_per_step * batch_size / median,
            "batches_per_step": batches_per_step, "how": how}


def to_markdown(rows: list[dict], errors: list[str], args, started: str, load: str) -> str:
    lines = [
        f"Command: `python perf/generator_throughput.py {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        f"Date: {started}; host: {platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, device {args.device}; "
        f"load average at start: {load}.",
        "",
        "| backend | px | ch | batch | steps/s (median) | s/step median [min..max], n | real batches/step "
        "| real images/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['size']} | {r['channels']} | {r['batch']} | {r['steps_per_s']:.2f} "
            f"| {r['median_s']:.3f} [{r['min_s']:.3f}..{r['max_s']:.3f}], n={r['n_timed']} "
            f"| {r['batches_per_step']:g} | {r['real_images_per_s']:.0f} |")
    notes = sorted({r["how"] for r in rows} - {"timed steps"})
    lines += [""] + [f"Note: some rows are a {n}." for n in notes] + [f"Skipped: {e}" for e in errors]
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="", help="comma list (default: every learned backend)")
    parser.add_argument("--sizes", default="", help="comma list of image sizes (default 28,64; --quick: 28)")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="timed steps after the warm-up")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="1 warm-up + 3 timed steps, 28 px only")
    parser.add_argument("--out", default="", help="also write the markdown table to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.steps = 1, 3
    sizes = [int(s) for s in (args.sizes or ("28" if args.quick else "28,64")).split(",")]
    if args.threads:
        torch.set_num_threads(args.threads)
    known = learned_backends()
    names = [n.strip() for n in args.backends.split(",") if n.strip()] or known
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"not learned backends: {', '.join(unknown)} (known: {', '.join(known)})")

    started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    rows, errors = [], []
    for name in names:
        for size in sizes:
            try:
                rows.append(measure(name, size, args.channels, args.batch_size, args.warmup, args.steps, args.device))
                r = rows[-1]
                print(f"{name:>10} {size:>3}px: {r['steps_per_s']:.2f} steps/s, {r['real_images_per_s']:.0f} "
                      f"real images/s", file=sys.stderr)
            except Exception as exc:  # one broken backend must not hide the others' numbers
                errors.append(f"{name} at {size} px: {type(exc).__name__}: {exc}")
                print(f"{name:>10} {size:>3}px: FAILED {exc}", file=sys.stderr)
    text = to_markdown(rows, errors, args, started, load)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 1 if errors and not rows else 0


if __name__ == "__main__":
    raise SystemExit(main())

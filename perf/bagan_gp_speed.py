"""Speed of the bagan-gp backend against the reference TF code on the same kind of machine.

Why: the reference (GH920/improved-bagan-gp; TF 2.15.1 CPU, 2 threads, PneumoniaMNIST train split at
64 px, batch 128) took 14.8 s per autoencoder epoch (223 images/s) and 7.46 s per GAN step of
5 critic + 1 generator updates (17.2 real images/s); the project's goal is at least twice that for
the same architecture, batch and size. We time the backend's own training loop (``fit`` with a
progress callback that timestamps every step), so the numbers include batching, NaN checks and
history logging. The GAN phase runs with ``critic_batches="reuse"`` because that is the work the
reference does per step (one real batch of 128 per step; with fresh batches the arithmetic is
identical, only the batches differ). Medians over the steps after warm-up.

    python perf/bagan_gp_speed.py                     # float32 and bfloat16 autocast, 2 threads
    python perf/bagan_gp_speed.py --quick             # smoke run (few steps)
    python perf/bagan_gp_speed.py --out perf/RESULTS-bagan.md
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from augbench.generators import create_generator  # noqa: E402

REF_AE_IMG_S = 223.0   # 14.8 s per epoch of the 70 % split (3296 images)
REF_GAN_STEP_S = 7.46  # 5 critic + 1 generator updates, batch 128
REF_GAN_IMG_S = 17.2
BATCH = 128
DATA = Path(os.environ.get("BENCHMARK_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def pneumonia_64(limit: int) -> tuple[np.ndarray, np.ndarray]:
    """First ``limit`` PneumoniaMNIST train images resized 28 -> 64 px (PIL bicubic), uint8 NHWC."""
    blob = np.load(DATA / "medmnist" / "pneumoniamnist.npz")
    x, y = blob["train_images"][:limit], blob["train_labels"].reshape(-1)[:limit].astype(np.int64)
    big = np.stack([np.asarray(Image.fromarray(im).resize((64, 64), Image.BICUBIC)) for im in x])
    return big[..., None], y


def step_times(images, labels, ae_steps: int, gan_steps: int, device: str, **config) -> tuple[list, list]:
    """Wall time of every AE step and every GAN step of one fit (one AE epoch = ``ae_steps`` batches)."""
    stamps = [(time.perf_counter(), time.process_time())]

    def progress(step, total):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        stamps.append((time.perf_counter(), time.process_time()))

    gen = create_generator("bagan-gp", ae_epochs=1, gan_steps=gan_steps, batch_size=BATCH,
                           critic_batches="reuse", bn_recalibration=0, **config)
    gen.fit(images, labels, 2, seed=0, device=device, progress=progress)
    times = [tuple(v) for v in np.diff(np.asarray(stamps), axis=0)]  # (wall s, process CPU s) per step
    return times[:ae_steps], times[ae_steps:]


def summarise(times: list[tuple[float, float]], warmup: int) -> dict:
    """Median wall and process-CPU seconds per step after warm-up, with n and the wall range."""
    kept = times[warmup:] if len(times) > warmup else times
    wall, cpu = [w for w, _ in kept], [c for _, c in kept]
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu), "n": len(kept),
            "lo": min(wall), "hi": max(wall)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 AE + 3 GAN steps per mode: a smoke run")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--modes", default="fp32,bf16", help="comma list of fp32 (reference numerics), bf16 (autocast)")
    ap.add_argument("--ae-steps", type=int, default=10)
    ap.add_argument("--gan-steps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="append a markdown section here")
    args = ap.parse_args(argv)
    if args.quick:
        args.ae_steps, args.gan_steps, args.warmup = 3, 3, 1
    torch.set_num_threads(args.threads)

    images, labels = pneumonia_64(args.ae_steps * BATCH)
    started = dt.datetime.now().isoformat(timespec="seconds")
    load_before = os.getloadavg()
    rows = []
    for mode in args.modes.split(","):
        ae, gan = step_times(images, labels, args.ae_steps, args.gan_steps, args.device, amp=(mode == "bf16"))
        a, g = summarise(ae, args.warmup), summarise(gan, args.warmup)
        rows.append({"mode": mode, "ae": a, "gan": g})
        print(f"{mode}: AE {BATCH / a['wall']:.0f} img/s ({BATCH / a['wall'] / REF_AE_IMG_S:.2f}x ref), "
              f"GAN step {g['wall']:.2f} s = {BATCH / g['wall']:.1f} real img/s "
              f"({BATCH / g['wall'] / REF_GAN_IMG_S:.2f}x ref); CPU s/step AE {a['cpu']:.2f}, GAN {g['cpu']:.2f}",
              flush=True)
    load_after = os.getloadavg()

    lines = [
        f"### bagan-gp vs reference, {started}",
        "",
        f"Command: `python perf/bagan_gp_speed.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"Host: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads, device {args.device}. Load average (1/5/15 min) "
        f"before {tuple(round(v, 1) for v in load_before)}, after {tuple(round(v, 1) for v in load_after)}"
        " (the CPU is shared with other engineers' jobs).",
        f"Data: first {len(labels)} PneumoniaMNIST train images at 64x64 (PIL bicubic), 1 channel, batch {BATCH}, "
        "architecture at width 1.0 (reference parameter counts). GAN steps use critic_batches=reuse "
        "(the reference's work per step). Medians over the steps after "
        f"{args.warmup} warm-up steps (n and min..max shown).",
        "",
        "| numerics | AE step, wall median (n, min..max) | AE img/s | vs ref 223 | GAN step, wall median "
        "(n, min..max) | real img/s | vs ref 17.2 | CPU s per AE / GAN step (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        a, g = r["ae"], r["gan"]
        lines.append(
            f"| {'float32' if r['mode'] == 'fp32' else 'bfloat16 autocast (amp=True)'} "
            f"| {a['wall']:.3f} s ({a['n']}, {a['lo']:.3f}..{a['hi']:.3f}) | {BATCH / a['wall']:.0f} "
            f"| {BATCH / a['wall'] / REF_AE_IMG_S:.2f}x | {g['wall']:.2f} s ({g['n']}, {g['lo']:.2f}..{g['hi']:.2f}) "
            f"| {BATCH / g['wall']:.1f} | {BATCH / g['wall'] / REF_GAN_IMG_S:.2f}x | {a['cpu']:.2f} / {g['cpu']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()

"""Training and sampling throughput (images/s) of the ``ddpm`` and ``latent-smote`` arms.

Why: a diffusion model is cheap to train per step but pays for every sample with dozens of network
calls, while latent-SMOTE samples with one decoder pass; presets and the runner's time budget need
both sides of that trade-off in numbers, at 28 and 64 px.

Training: each arm is fitted with its default architecture and batch size for ``warmup + timed``
steps on the first 256 PneumoniaMNIST train images (resized to 64 px with PIL bicubic for 64 px;
random uint8 images when the shared data folder is missing); the time between consecutive
``progress`` callbacks over the timed steps gives one duration per step. Training images/s =
batch size / median step time. (A latent-smote step also decodes one extra single-class batch of up
to ``batch_size`` images for DeepSMOTE's penalty; those are not counted.)

Sampling: after one untimed call, ``sample(c, n)`` is timed ``repeats`` times (fresh seeds); images/s =
n / median time. DDIM cost is proportional to the number of DDIM steps (one guided network
pass of 2n images per step), so ddpm is timed with ``--ddim-steps`` (10; --quick: 2) and ALSO
reported scaled to its default 50 steps -- the scaled column is arithmetic, not a measurement.

``--configs`` adds a smaller U-Net (base_channels 32, 1 residual block per level) next to the
default, because the default is sized for a GPU and CPU presets need the cheaper option's numbers.

    python perf/diffusion_smote_throughput.py --threads 1     # 28 and 64 px, both arms (~6 min on a busy 2-core CPU)
    python perf/diffusion_smote_throughput.py --quick         # 28 px only, 1 + 1 steps, 1 repeat
    python perf/diffusion_smote_throughput.py --out perf/RESULTS-ddpm-smote.md
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

REPO = Path(__file__).resolve().parents[1]
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from augbench.generators import create_generator  # noqa: E402
from augbench.generators.ddpm import DEFAULTS as DDPM_DEFAULTS  # noqa: E402

DATA = Path(os.environ.get("BENCHMARK_DATA_DIR", REPO.parent / "shared" / "data"))
N_IMAGES = 256
VARIANTS = {  # name -> (arm, extra settings)
    "ddpm": ("ddpm", {}),
    "ddpm-small": ("ddpm", {"base_channels": 32, "num_res_blocks": 1}),
    "latent-smote": ("latent-smote", {}),
}


def load_images(size: int) -> tuple[np.ndarray, np.ndarray, str]:
    path = DATA / "medmnist" / "pneumoniamnist.npz"
    if path.exists():
        blob = np.load(path)
        x = blob["train_images"][:N_IMAGES]
        y = blob["train_labels"].reshape(-1)[:N_IMAGES].astype(np.int64)
        if size != x.shape[1]:
            x = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BICUBIC)) for im in x])
        return x[..., None], y, f"PneumoniaMNIST train[:{N_IMAGES}]"
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (N_IMAGES, size, size, 1), dtype=np.uint8), np.arange(N_IMAGES) % 2,
            f"{N_IMAGES} random uint8 images (shared data not found)")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(variant: str, size: int, args) -> dict:
    arm, extra = VARIANTS[variant]
    images, labels, source = load_images(size)
    steps = args.warmup + args.timed
    if arm == "latent-smote":
        batch = create_generator(arm).config["batch_size"]
        settings = {"epochs": math.ceil(steps / math.ceil(len(images) / batch))}
    else:
        settings = {"steps": steps, "ddim_steps": args.ddim_steps}
    gen = create_generator(arm, **extra, **settings)
    batch = gen.config["batch_size"]
    stamps: list[float] = []

    def progress(step, total):
        _sync(args.device)
        stamps.append(time.perf_counter())

    gen.fit(images, labels, 2, seed=0, device=args.device, progress=progress)
    per_step = [b - a for a, b in zip(stamps[args.warmup - 1:], stamps[args.warmup:])][: args.timed]

    n = args.ddpm_samples if arm == "ddpm" else args.smote_samples
    gen.sample(0, n, seed=999)  # untimed: first calls at a new batch shape pay one-off kernel setup
    per_sample_call = []
    for r in range(args.repeats):
        t0 = time.perf_counter()
        gen.sample(r % 2, n, seed=r)
        _sync(args.device)
        per_sample_call.append(time.perf_counter() - t0)
    train_s, sample_s = statistics.median(per_step), statistics.median(per_sample_call)
    row = {"variant": variant, "size": size, "batch": batch, "source": source,
           "train_img_s": batch / train_s, "train_step_s": (train_s, min(per_step), max(per_step), len(per_step)),
           "sample_n": n, "sample_img_s": n / sample_s,
           "sample_call_s": (sample_s, min(per_sample_call), max(per_sample_call), len(per_sample_call))}
    if arm == "ddpm":
        row["ddim_steps"] = args.ddim_steps
        row["sample_img_s_default"] = row["sample_img_s"] * args.ddim_steps / DDPM_DEFAULTS["ddim_steps"]
    return row


def _spread(t) -> str:
    median, lo, hi, n = t
    return f"{median:.2f} [{lo:.2f}..{hi:.2f}], n={n}"


def to_markdown(rows, args, started, load_before, load_after) -> str:
    lines = [
        f"Command: `python perf/diffusion_smote_throughput.py {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        f"Date: {started}; host: {platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, torch "
        f"{torch.__version__}, {torch.get_num_threads()} torch threads, device {args.device}. "
        f"Load average (1, 5, 15 min) before: {load_before}; after: {load_after}.",
        "",
        f"Data: {rows[0]['source'] if rows else '-'}, 1 channel, 2 classes. Default settings of each arm unless "
        "the variant says otherwise (ddpm-small = base_channels 32, num_res_blocks 1).",
        "",
        "Training (default batch size; median over timed steps after warm-up):",
        "",
        "| variant | px | batch | s/step median [min..max], n | training images/s |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['size']} | {r['batch']} | {_spread(r['train_step_s'])} "
                     f"| {r['train_img_s']:.1f} |")
    lines += [
        "",
        "Sampling (one `sample()` call of n images per repeat, median over repeats):",
        "",
        "| variant | px | n | DDIM steps timed | s/call median [min..max], n | sampling images/s (measured) "
        "| images/s at 50 DDIM steps (scaled) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        scaled = f"{r['sample_img_s_default']:.3f}" if "ddim_steps" in r else "n/a"
        steps = r.get("ddim_steps", "n/a")
        lines.append(f"| {r['variant']} | {r['size']} | {r['sample_n']} | {steps} | {_spread(r['sample_call_s'])} "
                     f"| {r['sample_img_s']:.3f} | {scaled} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default="ddpm,ddpm-small,latent-smote", help=f"comma list of {', '.join(VARIANTS)}")
    p.add_argument("--sizes", default="", help="comma list (default 28,64; --quick: 28)")
    p.add_argument("--warmup", type=int, default=1, help="untimed training steps first")
    p.add_argument("--timed", type=int, default=3, help="timed training steps")
    p.add_argument("--repeats", type=int, default=3, help="timed sample() calls")
    p.add_argument("--ddim-steps", type=int, default=10, help="DDIM steps while timing ddpm sampling")
    p.add_argument("--ddpm-samples", type=int, default=8, help="images per timed ddpm sample() call")
    p.add_argument("--smote-samples", type=int, default=256, help="images per timed latent-smote sample() call")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true", help="28 px, 1 + 1 training steps, 1 repeat, 2 DDIM steps")
    p.add_argument("--out", default="", help="also write the markdown to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.warmup, args.timed, args.repeats, args.ddim_steps, args.ddpm_samples = 1, 1, 1, 2, 2
    if args.warmup < 1 or args.timed < 1 or args.repeats < 1:
        p.error("--warmup, --timed and --repeats must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = [v.strip() for v in args.configs.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown config(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    sizes = [int(s) for s in (args.sizes or ("28" if args.quick else "28,64")).split(",")]

    load = lambda: ", ".join(f"{x:.1f}" for x in os.getloadavg())  # noqa: E731
    started, load_before = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), load()
    rows = []
    for variant in variants:
        for size in sizes:
            rows.append(measure(variant, size, args))
            r = rows[-1]
            print(f"{variant:>12} {size:>2}px: train {r['train_img_s']:.1f} img/s, "
                  f"sample {r['sample_img_s']:.3f} img/s",
                  file=sys.stderr, flush=True)
    text = to_markdown(rows, args, started, load_before, load())
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

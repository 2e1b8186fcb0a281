"""Classifier throughput on this machine, through the real training code path.

Two measurements:

1. Per classifier and image size (28/32/64 where the network allows it): training images/s
   (``train_classifier``, one epoch over ``--batches`` batches of ``--batch-size`` random uint8
   images, optimiser step included, after one warm-up batch) and evaluation images/s
   (``predict_proba`` over ``--eval-images`` images, batch 512). Median of ``--repeats`` repeats.
2. The project's speed goal: one epoch of ResNet-18 at 28 px on PneumoniaMNIST (training on all
   4708 train images + model-selection scoring of the 524 val images), compared with the MedMNIST
   reference script's 104.7 s/epoch measured on this machine with 2 threads (77.5 s training +
   27.2 s evaluating train, val and test). Goal: ratio >= 1.5.
3. Because the machine is shared and that reference figure was taken on an idle one, the same run
   also times (``--reference-protocol``) an epoch of the reference script's protocol re-implemented
   here: per-image PIL -> ToTensor -> Normalize(0.5, 0.5) in a DataLoader (batch 128, shuffled,
   no workers), NCHW float32, default Adam, then softmax scoring of train, val and test at batch 128
   under no_grad. Its ratio to ours is measured under the same load.

The 1-minute load average before and after is printed with the results: with more runnable
threads than cores, OpenMP throughput collapses and absolute numbers mean little.

    .venv/bin/python perf/classifier_throughput.py            # full (~5-10 min on an idle 2-core CPU)
    .venv/bin/python perf/classifier_throughput.py --quick    # small-cnn + resnet18 at 28 px, no epoch
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
import numpy as np  # noqa: E402
import torch  # noqa: E402

from augbench.classifiers import classifier_entry, classifier_names, create_seeded_classifier  # noqa: E402
from augbench.classifiers.training import TrainConfig, predict_proba, train_classifier  # noqa: E402
from augbench.datasets.types import Split  # noqa: E402

REFERENCE_EPOCH_S = 104.7  # MedMNIST train_and_eval_pytorch.py, ResNet-18 28 px, PneumoniaMNIST, 2 threads
REFERENCE_TRAIN_S = 77.5
SIZES = (28, 32, 64)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small-cnn and resnet18 at 28 px, 1 repeat, no epoch")
    p.add_argument("--classifiers", default=None, help="comma list (default: all registered)")
    p.add_argument("--sizes", default=None, help="comma list of image sizes (default 28,32,64)")
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--batches", type=int, default=4, help="timed training batches per repeat")
    p.add_argument("--eval-images", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1, help="ResNet-18 PneumoniaMNIST epochs to time (0 = skip)")
    p.add_argument("--no-reference-protocol", dest="reference_protocol", action="store_false",
                   help="skip timing the re-implemented MedMNIST reference epoch")
    p.add_argument("--no-table", dest="table", action="store_false", help="skip the per-classifier table")
    p.add_argument("--cpu-bf16", action="store_true", help="also time the epoch with cpu_bf16=True")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    args = p.parse_args(argv)
    if args.quick:
        args.classifiers = args.classifiers or "small-cnn,resnet18"
        args.sizes = args.sizes or "28"
        args.repeats, args.batches, args.eval_images, args.epochs = 1, 2, 512, 0
    return args


def random_split(n: int, size: int, channels: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    return Split(rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8), np.arange(n) % 2)


def throughput(name: str, size: int, args) -> dict:
    model = create_seeded_classifier(name, 0, n_classes=2, in_channels=args.channels, image_size=size)
    val = random_split(4, size, args.channels, 1)
    config = TrainConfig(epochs=1, batch_size=args.batch_size, device=args.device)
    train_classifier(model, random_split(args.batch_size, size, args.channels, 2), val, config, n_classes=2)  # warm-up
    train_rates, eval_rates = [], []
    for r in range(args.repeats):
        train = random_split(args.batch_size * args.batches, size, args.channels, 10 + r)
        result = train_classifier(model, train, val, config, n_classes=2)
        train_rates.append(result.images_seen / result.train_seconds)
        images = random_split(args.eval_images, size, args.channels, 20 + r).images
        start = time.perf_counter()
        predict_proba(model, images, batch_size=512, device=args.device)
        eval_rates.append(len(images) / (time.perf_counter() - start))
    return {"classifier": name, "size": size, "train": train_rates, "eval": eval_rates,
            "params": sum(p.numel() for p in model.parameters())}


def load_pneumonia() -> tuple[Split, Split, Split, str]:
    data_dir = Path(os.environ.get("BENCHMARK_DATA_DIR", REPO.parent / "shared" / "data"))
    try:
        from augbench.datasets import load_dataset

        splits = load_dataset("pneumonia", data_dir=data_dir)
        return splits.train, splits.val, splits.test, f"datasets.load_dataset('pneumonia', data_dir={str(data_dir)!r})"
    except ImportError:
        path = data_dir / "medmnist" / "pneumoniamnist.npz"
        d = np.load(path)
        return (*(Split(d[f"{k}_images"][..., None], d[f"{k}_labels"].reshape(-1)) for k in ("train", "val", "test")),
                f"np.load({str(path)!r})")


def reference_epoch(args, cpu_bf16: bool) -> dict:
    train, val, _, source = load_pneumonia()
    model = create_seeded_classifier("resnet18", 0, n_classes=2, in_channels=1, image_size=28)
    config = TrainConfig(epochs=args.epochs, batch_size=128, device=args.device, cpu_bf16=cpu_bf16)
    result = train_classifier(model, train, val, config, n_classes=2)
    epochs = [row["seconds"] for row in result.history]
    train_s = result.train_seconds / len(epochs)
    eval_s = result.eval_seconds / len(epochs)
    return {"epochs": epochs, "median": statistics.median(epochs), "train_s": train_s, "eval_s": eval_s,
            "n_train": len(train), "n_val": len(val), "source": source, "cpu_bf16": cpu_bf16,
            "val_auc": [round(row["val_auc"], 4) for row in result.history]}


class _PILDataset(torch.utils.data.Dataset):
    """Per-image PIL conversion and transforms, as the MedMNIST dataset class serves images."""

    def __init__(self, split: Split, transform):
        self.split, self.transform = split, transform

    def __len__(self):
        return len(self.split)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.split.images[i, ..., 0])), int(self.split.labels[i])


def reference_protocol_epoch(args) -> dict:
    """One epoch of the MedMNIST reference protocol (see module docstring), timed like ours."""
    import torchvision.transforms as T
    from torch.utils.data import DataLoader

    from augbench.classifiers._auc import macro_ovr_auc

    train, val, test, _ = load_pneumonia()
    transform = T.Compose([T.ToTensor(), T.Normalize(mean=[0.5], std=[0.5])])
    model = create_seeded_classifier("resnet18", 0, n_classes=2, in_channels=1, image_size=28)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    torch.manual_seed(0)
    start = time.perf_counter()
    model.train()
    for x, y in DataLoader(_PILDataset(train, transform), batch_size=128, shuffle=True):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    trained = time.perf_counter()
    model.eval()
    aucs = {}
    with torch.no_grad():
        for name, split in (("train", train), ("val", val), ("test", test)):
            probs = torch.cat([torch.softmax(model(x), 1) for x, _ in
                               DataLoader(_PILDataset(split, transform), batch_size=128, shuffle=False)])
            aucs[name] = round(macro_ovr_auc(split.labels, probs.numpy()), 4)
    evaluated = time.perf_counter()
    return {"train_s": trained - start, "eval_s": evaluated - trained, "seconds": evaluated - start, "auc": aucs,
            "n_eval": len(train) + len(val) + len(test)}


def fmt_rates(values) -> str:
    med = statistics.median(values)
    spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
    return f"{med:.1f}{spread}"


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    names = args.classifiers.split(",") if args.classifiers else classifier_names()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SIZES)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    lines = [
        f"command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
        f"date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; torch {torch.__version__}, "
        f"{args.threads} threads, device {args.device}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs",
    ]
    if args.table:
        lines += [
            "",
            f"Training: images/s through `train_classifier` ({args.batches} batch(es) of {args.batch_size} random "
            f"images, {args.channels} channel(s), Adam step included, after a warm-up batch); evaluation: images/s "
            f"through `predict_proba` ({args.eval_images} images, batch 512). Median (min-max) of {args.repeats} "
            f"repeat(s). float32.",
            "",
            "| classifier | image px | params (M) | train img/s | eval img/s |",
            "|---|---|---|---|---|",
        ]
    print("\n".join(lines), flush=True)
    for name in (names if args.table else []):
        min_size = classifier_entry(name).meta.get("min_size", 1)
        for size in sizes:
            if size < min_size:
                continue
            row = throughput(name, size, args)
            line = (f"| {name} | {size} | {row['params'] / 1e6:.2f} | {fmt_rates(row['train'])} | "
                    f"{fmt_rates(row['eval'])} |")
            lines.append(line)
            print(line, flush=True)
    if args.epochs > 0:
        runs = [reference_epoch(args, False)] + ([reference_epoch(args, True)] if args.cpu_bf16 else [])
        print(f"timed {len(runs)} augbench epoch run(s)", flush=True)
        lines += ["", f"ResNet-18 (MedMNIST stem) at 28 px, one epoch on PneumoniaMNIST "
                      f"({runs[0]['n_train']} train images, batch 128, + scoring {runs[0]['n_val']} val images), "
                      f"data from {runs[0]['source']}; median of {args.epochs} epoch(s) of one run:", "",
                  "| precision | s/epoch (each) | train s | val-eval s | train img/s | val AUC | reference s/epoch | "
                  "speed-up vs reference (goal >= 1.5) |", "|---|---|---|---|---|---|---|---|"]
        for run in runs:
            lines.append(
                f"| {'bf16 autocast (opt-in)' if run['cpu_bf16'] else 'float32'} | {run['median']:.1f} "
                f"({', '.join(f'{s:.1f}' for s in run['epochs'])}) | {run['train_s']:.1f} | {run['eval_s']:.1f} | "
                f"{run['n_train'] / run['train_s']:.1f} | {run['val_auc']} | {REFERENCE_EPOCH_S} | "
                f"{REFERENCE_EPOCH_S / run['median']:.2f}x |")
            print(lines[-1], flush=True)
        lines.append(f"(reference: {REFERENCE_TRAIN_S} s training = 60.7 img/s, + 27.2 s evaluating train, val "
                     f"and test each epoch, idle machine)")
        if args.reference_protocol:
            ref = reference_protocol_epoch(args)
            lines += ["", "Same load, same process: the reference protocol re-implemented here (one epoch, float32):",
                      "", "| protocol | s/epoch | train s | eval s | speed-up of ours (goal >= 1.5) |",
                      "|---|---|---|---|---|",
                      f"| MedMNIST reference (train + eval of train/val/test, {ref['n_eval']} images) | "
                      f"{ref['seconds']:.1f} | {ref['train_s']:.1f} | {ref['eval_s']:.1f} | 1.00x |",
                      *(f"| augbench train_classifier (train + val eval, "
                        f"{'bf16 autocast' if run['cpu_bf16'] else 'float32'}) | {run['median']:.1f} | "
                        f"{run['train_s']:.1f} | {run['eval_s']:.1f} | {ref['seconds'] / run['median']:.2f}x |"
                        for run in runs),
                      f"(reference-protocol AUCs after its epoch: {ref['auc']})"]
            print("\n".join(lines[-6 - len(runs):]), flush=True)
    load_after = os.getloadavg()[0]
    lines += ["", f"1-min load average: {load_before:.1f} before, {load_after:.1f} after "
                  f"(2 cores; > 2 means other jobs competed for the CPU); wall {time.perf_counter() - started:.0f} s"]
    print(lines[-1])
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Does VGG-16 learn under the shared protocol, with and without BatchNorm?

Plain VGG-16 (13 convs, no normalisation) trained from scratch with Adam at 1e-3 for a few epochs
was suspected to stay at chance, which would make it a useless classifier arm: every augmentation
would "tie". This script trains the VGG variants through the harness's own path (the preset's
``classifier:`` block typed by benchmark/settings.py, ``train_classifier`` with the harness's
steps-per-epoch rule, the best-val-AUC epoch kept) on a small real dataset and scores the test
split against chance (balanced accuracy 1/K, macro AUC 0.5). Results and why vgg16_bn is not
registered: docs/performance.md, "VGG-16 with and without BatchNorm".

    .tox/py311/bin/python perf/vgg_batchnorm.py                          # BreastMNIST, 32 px, quick preset
    .tox/py311/bin/python perf/vgg_batchnorm.py --dataset pneumonia --train-per-class 300 --seeds 0,1

One torch thread by default: the project's CPU machine is shared (docs/performance.md).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from augbench.benchmark.presets import load_preset
from augbench.benchmark.settings import resolve_settings, train_config
from augbench.classifiers import create_seeded_classifier, macro_ovr_auc
from augbench.classifiers.training import predict_proba, train_classifier
from augbench.classifiers.vgg import VGG
from augbench.core.seeding import seeded_global_rng
from augbench.datasets import Split, load_dataset

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {"vgg11": ("A", False), "vgg11_bn": ("A", True), "vgg16": ("D", False), "vgg16_bn": ("D", True)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="breast")
    p.add_argument("--data-dir", default=os.environ.get("BENCHMARK_DATA_DIR", str(REPO.parent / "shared" / "data")))
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--variants", default="vgg16,vgg16_bn",
                   help=f"comma list of {', '.join(VARIANTS)} or registered classifiers (controls)")
    p.add_argument("--preset", default="quick", help="preset whose classifier: block sets the training recipe")
    p.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--seeds", default="0")
    p.add_argument("--train-per-class", type=int, default=None, help="cap training images per class (subsample)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="also write the markdown lines here")
    return p.parse_args(argv)


def cap_per_class(split: Split, per_class: int | None, seed: int) -> Split:
    if not per_class:
        return split
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(split.labels == c))[:per_class]
                                   for c in np.unique(split.labels)]))
    return Split(split.images[keep], split.labels[keep])


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``labels``: 1/K for any constant prediction."""
    return float(np.mean([(predicted[labels == c] == c).mean() for c in np.unique(labels)]))


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown CPU"
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")]
    return names[0] if names else "unknown CPU"


def build(variant: str, seed: int, n_classes: int, channels: int, size: int) -> torch.nn.Module:
    """A VGG variant (registered or not), or any registered classifier as a control."""
    if variant not in VARIANTS:
        return create_seeded_classifier(variant, seed, n_classes=n_classes, in_channels=channels, image_size=size)
    config_name, batch_norm = VARIANTS[variant]
    with seeded_global_rng(seed):  # as create_seeded_classifier does for a registered name
        return VGG(config_name, n_classes, channels, batch_norm=batch_norm)


def run_one(variant: str, seed: int, train: Split, val: Split, test: Split, n_classes: int, args) -> dict:
    model = build(variant, seed, n_classes, train.images.shape[-1], train.images.shape[1])
    settings = resolve_settings(load_preset(args.preset)).classifier
    block = {f: getattr(settings, f) for f in settings.__dataclass_fields__}
    if args.epochs:
        block["epochs"] = args.epochs
    steps = max(1, -(-len(train) // int(block["batch_size"])))  # the harness's rule for the `none` arm
    config = train_config(block, seed=seed, device="cpu", steps_per_epoch=steps)
    start = time.perf_counter()
    result = train_classifier(model, train, val, config, n_classes=n_classes)
    probs = predict_proba(result.model, test.images, batch_size=config.eval_batch_size)
    seconds = time.perf_counter() - start
    predicted = probs.argmax(1)
    return {"variant": variant, "seed": seed, "epochs": config.epochs, "best_epoch": result.best_epoch,
            "val_auc": [round(r["val_auc"], 3) for r in result.history],
            "train_loss": [round(r["train_loss"], 3) for r in result.history],
            "test_bacc": balanced_accuracy(test.labels, predicted), "test_auc": macro_ovr_auc(test.labels, probs),
            "predicted_share": np.bincount(predicted, minlength=n_classes) / len(predicted), "seconds": seconds}


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    splits = load_dataset(args.dataset, data_dir=args.data_dir, image_size=args.image_size)
    n_classes = len(splits.info.class_names)
    train = cap_per_class(splits.train, args.train_per_class, 0)
    lines = [
        f"command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
        f"date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; CPU {cpu_name()}, {os.cpu_count()} "
        f"CPUs, {args.threads} torch thread(s), torch {torch.__version__}, 1-min load {os.getloadavg()[0]:.1f}",
        f"data: {args.dataset} at {args.image_size} px, train {np.bincount(train.labels).tolist()}, "
        f"val {np.bincount(splits.val.labels).tolist()}, test {np.bincount(splits.test.labels).tolist()} images "
        f"per class; chance: balanced accuracy {1 / n_classes:.3f}, macro AUC 0.500",
        "",
        "| variant | seed | epochs (best) | val AUC per epoch | train loss per epoch | test balanced acc | "
        "test macro AUC | predicted class shares | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for seed in (int(s) for s in args.seeds.split(",")):
        for variant in args.variants.split(","):
            r = run_one(variant, seed, train, splits.val, splits.test, n_classes, args)
            lines.append(f"| {r['variant']} | {r['seed']} | {r['epochs']} ({r['best_epoch']}) | {r['val_auc']} | "
                         f"{r['train_loss']} | {r['test_bacc']:.3f} | {r['test_auc']:.3f} | "
                         f"{', '.join(f'{s:.2f}' for s in r['predicted_share'])} | {r['seconds']:.0f} |")
            print(lines[-1], flush=True)
    lines += ["", f"wall {time.perf_counter() - started:.0f} s, 1-min load after {os.getloadavg()[0]:.1f}"]
    print(lines[-1])
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

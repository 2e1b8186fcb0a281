"""Where the quick preset's classifier should stop: test metrics of `none` and of the `real` control
against optimiser steps, on isic at 28 px with small-cnn (issue 25, item 2).

At the default target (each minority class refilled to its original count) the `real` control trains on
the whole training split whatever the budget, so its curve is the budget-`all` curve; `none` is measured at
budgets 10 and 50. Every point is its own run with the schedule compressed to that many steps (warm-up +
cosine, weights of the last step), so a point is what a preset with that length would report.

    python perf/classifier_learning_curve.py --steps 110,220,440,880 --seeds 0,1 [--schedule cosine --lr 2e-3]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_description  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="isic")
    ap.add_argument("--steps", default="110,220,440,880")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--budgets", default="10,50")
    ap.add_argument("--schedule", default="cosine")
    ap.add_argument("--select", default="last")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--cpu-bf16", default="auto")
    ap.add_argument("--out", default="")
    ap.add_argument("--figure", default="", help="write the curve as a PNG (with --from: from a recorded --out file)")
    ap.add_argument("--from", dest="recorded", default="", help="a recorded --out file: plot it, train nothing")
    args = ap.parse_args(argv)
    if args.recorded:
        plot(json.loads(Path(args.recorded).read_text()), args.figure)
        return 0

    import torch

    from augbench.benchmark.metrics import classification_metrics, prior_corrected
    from augbench.classifiers import create_seeded_classifier
    from augbench.classifiers.training import TrainConfig, predict_proba, train_classifier
    from augbench.datasets import load_dataset
    from augbench.datasets.budget import apply_budget, apply_val_budget
    from augbench.datasets.minority import resolve_minority

    print(f"CPU: {cpu_description()}; torch threads {torch.get_num_threads()}", flush=True)
    splits = load_dataset(args.dataset, data_dir=os.environ.get("BENCHMARK_DATA_DIR"), image_size=28,
                          cache_dir=os.environ.get("AUGBENCH_CACHE", "/tmp/augbench-lc-cache"))
    info, k = splits.info, len(splits.info.class_names)
    minority = resolve_minority(None, list(info.class_names), splits.train.counts(k))
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for budget in [*(int(b) for b in args.budgets.split(",")), None]:
            arm = "none" if budget is not None else "real (= budget all)"
            budgeted = apply_budget(splits.train, k, budget if budget is not None else 10, minority, seed)
            train = budgeted.split if budget is not None else splits.train
            val = apply_val_budget(splits.val, k, budgeted, seed).split  # the budgeted val, as the arms get it
            for steps in [int(s) for s in args.steps.split(",")]:
                cfg = TrainConfig(epochs=1, steps_per_epoch=steps, batch_size=args.batch_size, lr=args.lr, seed=seed,
                                  schedule=args.schedule, select=args.select, cpu_bf16=args.cpu_bf16,
                                  eval_batch_size=1024)
                model = create_seeded_classifier("small-cnn", seed, n_classes=k, in_channels=train.images.shape[-1],
                                                 image_size=28)
                t0 = time.perf_counter()
                train_classifier(model, train, val, cfg, n_classes=k)
                seconds = time.perf_counter() - t0
                probs = predict_proba(model, splits.test.images, batch_size=1024)
                plain = classification_metrics(splits.test.labels, probs, info.class_names, minority=minority)
                pc = classification_metrics(splits.test.labels, prior_corrected(probs, train.counts(k)),
                                            info.class_names, minority=minority, split="test_pc")
                row = {"seed": seed, "arm": arm, "budget": "all" if budget is None else budget, "steps": steps,
                       "macro_auc": plain["test_macro_auc"], "balanced_accuracy": plain["test_balanced_accuracy"],
                       "pc_balanced_accuracy": pc["test_pc_balanced_accuracy"],
                       "pc_minority_recall": pc["test_pc_minority_recall"], "seconds": seconds}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    print("\nmedian over seeds:")
    import pandas as pd

    frame = pd.DataFrame(rows)
    print(frame.groupby(["budget", "steps"])[["macro_auc", "balanced_accuracy", "pc_balanced_accuracy",
                                              "seconds"]].median().round(3).to_string())
    if args.figure:
        plot(rows, args.figure)
    return 0


def plot(rows: list[dict], path: str) -> None:
    """Test macro AUC and prior-corrected balanced accuracy against steps, one line per (arm, budget),
    mean over seeds with the seeds as points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    frame = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, title in ((axes[0], "macro_auc", "test macro AUC"),
                              (axes[1], "pc_balanced_accuracy", "test balanced accuracy, prior-corrected")):
        for (arm, budget), group in frame.groupby(["arm", "budget"], sort=False):
            mean = group.groupby("steps")[metric].mean()
            ax.plot(mean.index, mean.values, marker="o", label=f"{arm} b={budget}")
            ax.scatter(group["steps"], group[metric], s=8, color=ax.lines[-1].get_color(), alpha=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("classifier optimiser steps (batch 128, warm-up + cosine, last step)")
        ax.set_title(f"{title} (n={frame['seed'].nunique()} seeds)")
        ax.grid(alpha=0.3)
    axes[1].axhline(1 / 7, color="grey", ls=":", label="chance (1/7)")
    axes[1].legend(fontsize=8)
    fig.suptitle("isic 28 px, small-cnn: `none` at budgets 10/50 and the `real` control (= budget all)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())

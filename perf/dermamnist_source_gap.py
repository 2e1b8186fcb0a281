"""How far can DermaMNIST's pixel source move 28 px test numbers? (issue 7's gap account)

MedMNIST made DermaMNIST by shrinking the 600x450 HAM10000 originals; `../shared/data/ham10000`
holds 200x150 JPEG copies, so augbench's `isic` pixels pass through one more JPEG generation and a
different shrinking path. Their pixels cannot be rebuilt here, but the size of that kind of change
can be measured: the official test images are prepared three ways from the files we have,

* ``ours``: the datasets package path (JPEG draft decode at the smallest DCT scale >= 28, then area
  averaging), checked to equal `load_dataset('isic', image_size=28)`'s test split pixel for pixel;
* ``bicubic``: full decode, bicubic shrink to 28x28 (another common path);
* ``jpeg75``: the 200x150 file re-encoded once more at JPEG quality 75, then our path (one more
  lossy generation, the kind of step that separates our source from the originals);

and reported are (1) the mean absolute pixel difference of each variant to ``ours`` and (2) the
test macro AUC and accuracy of classifiers trained on our train split, evaluated on each variant.

The shift is a train/test mismatch, which a model trained and tested on consistently prepared
pixels does not have, so it bounds the effect from above rather than estimating it.

    .venv/bin/python perf/dermamnist_source_gap.py                      # small-cnn, 10 epochs, 3 seeds
    .venv/bin/python perf/dermamnist_source_gap.py --classifier resnet18 --epochs 8 --seeds 0
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZE = 28


def test_paths(root: Path, ids) -> list[Path]:
    """Files of the loader's test split (its ``ids`` are HAM10000 image ids), in the split's order."""
    from augbench.datasets.isic import index_images

    found = index_images([root / "images", *sorted(root.glob("*part*"))])
    return [found[str(i)] for i in ids]


def prepare(paths: list[Path], variant: str) -> np.ndarray:
    from PIL import Image

    from augbench.datasets.images import read_image

    out = []
    for path in paths:
        if variant == "ours":
            out.append(read_image(path, SIZE, "RGB"))
        elif variant == "bicubic":
            with Image.open(path) as im:
                out.append(np.asarray(im.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BICUBIC), np.uint8))
        elif variant == "jpeg75":
            with Image.open(path) as im:
                buf = io.BytesIO()
                im.convert("RGB").save(buf, format="JPEG", quality=75)
            buf.seek(0)
            out.append(read_image(buf, SIZE, "RGB"))  # PIL reads the re-encoded bytes in memory
        else:
            raise ValueError(variant)
    return np.stack(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classifier", default="small-cnn")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=os.environ.get("BENCHMARK_DATA_DIR", str(REPO.parent / "shared" / "data")))
    args = ap.parse_args()

    import torch

    from augbench.benchmark.metrics import classification_metrics
    from augbench.classifiers import create_classifier
    from augbench.classifiers.training import TrainConfig, predict_proba, train_classifier
    from augbench.datasets import load_dataset

    torch.set_num_threads(args.threads)
    splits = load_dataset("dermamnist", data_dir=args.data_dir, image_size=SIZE)  # the official split it measures
    paths, labels = test_paths(Path(args.data_dir) / "ham10000", splits.test.ids), splits.test.labels
    variants = {}
    for name in ("ours", "bicubic", "jpeg75"):
        t0 = time.perf_counter()
        variants[name] = prepare(paths, name)
        print(f"prepared {name}: {len(paths)} test images in {time.perf_counter() - t0:.1f} s", flush=True)
    assert np.array_equal(variants["ours"], splits.test.images), "'ours' is not the datasets package's pixels"

    names = splits.info.class_names
    print(f"\nisic (DermaMNIST split) test, {len(labels)} images at {SIZE} px; mean |pixel difference| to ours "
          "(0-255 gray levels, over all pixels and channels):")
    ref = variants["ours"].astype(np.float64)
    for name, arr in variants.items():
        diff = np.abs(arr.astype(np.float64) - ref)
        print(f"  {name:8s} mean {diff.mean():.2f}, 99th percentile {np.percentile(diff, 99):.0f}")

    rows = {name: {"auc": [], "acc": []} for name in variants}
    for seed in [int(s) for s in args.seeds.split(",")]:
        torch.manual_seed(seed)
        model = create_classifier(args.classifier, n_classes=len(names), in_channels=3, image_size=SIZE)
        cfg = TrainConfig(epochs=args.epochs, seed=seed)
        t0 = time.perf_counter()
        result = train_classifier(model, splits.train, splits.val, cfg, n_classes=len(names))
        print(f"seed {seed}: trained {args.classifier} {args.epochs} epochs in {time.perf_counter() - t0:.0f} s "
              f"(best val AUC {result.best_val_auc:.3f} at epoch {result.best_epoch})", flush=True)
        for name, images in variants.items():
            m = classification_metrics(labels, predict_proba(result.model, images), names)
            rows[name]["auc"].append(m["test_macro_auc"])
            rows[name]["acc"].append(m["test_accuracy"])

    n = len(rows["ours"]["auc"])
    print(f"\n| test images prepared as | macro AUC (mean ± std, n={n}) | accuracy | AUC − ours | accuracy − ours |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        auc, acc = np.array(r["auc"]), np.array(r["acc"])
        d_auc = auc - np.array(rows["ours"]["auc"])
        d_acc = acc - np.array(rows["ours"]["acc"])
        sd = (lambda a: f" ± {a.std(ddof=1):.3f}" if len(a) > 1 else "")
        print(f"| {name} | {auc.mean():.3f}{sd(auc)} | {acc.mean():.3f}{sd(acc)} | {d_auc.mean():+.3f} | "
              f"{d_acc.mean():+.3f} |")
    print(f"\nclassifier {args.classifier}, {args.epochs} epochs, trained on the `ours` train split; "
          "differences are paired by seed (same model, other test pixels).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

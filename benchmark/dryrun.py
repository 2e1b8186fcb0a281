"""`benchmark run --dry-run`: the expanded grid, what is already done or cached, and a time estimate.

The estimate uses per-arm and per-classifier throughputs measured by bench/ on a 2-core CPU (see
docs/performance.md); it is a planning figure, printed as such, not a promise.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.execute import fit_dir
from benchmark.grid import GridSpec
from benchmark.tracking import Tracker, default_tracking_uri

# images/s on 2 CPU threads at 28 px (bench/ figures, rounded down); scaled by (28/size)^2 for other sizes
CLASSIFIER_IMG_S = {"small-cnn": 1500.0, "resnet18": 90.0, "densenet121": 60.0, "vgg16": 40.0}
GENERATOR_STEP_S = {"dcgan": 0.08, "cwgan-gp": 0.5, "infogan": 0.08, "bagan": 0.15, "bagan-gp": 0.6,
                    "ddpm": 0.15, "latent-smote": 0.05}


def estimate_seconds(spec: GridSpec, n_train: int, n_eval: int, pending_fits, pending_cells) -> float:
    scale = (spec.image_size / 28.0) ** 2
    total = 0.0
    for fit in pending_fits:
        cfg = fit.generator_config()
        steps = cfg.get("steps") or cfg.get("gan_steps") or (cfg.get("epochs", 0) * n_train / max(1, cfg.get("batch_size", 64)))
        total += float(steps) * GENERATOR_STEP_S.get(fit.arm, 0.0) * scale
    for cell in pending_cells:
        cfg = cell.classifier_config()
        rate = CLASSIFIER_IMG_S.get(cell.classifier, 200.0) / scale
        total += int(cfg.get("epochs", 5)) * (n_train + n_eval / 3) / rate + 2 * n_eval / (3 * rate)
    return total


def describe_plan(spec: GridSpec) -> str:
    from benchmark.execute import dataset_cache_dir, load_splits

    uri = spec.tracking_uri or default_tracking_uri(spec.out_dir)
    done: set[str] = set()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        pass  # nothing tracked yet; do not create a store for a dry run
    else:
        done = set(Tracker(uri, spec.experiment).finished("cell"))
    lines = ["", f"{'#':>4}  {'status':9s} {'fit cache':9s} cell"]
    pending_cells, pending_fits = [], {}
    for i, cell in enumerate(spec.cells(), 1):
        cached = (fit_dir(cell.fit) / "samples.npz").exists()
        status = "finished" if cell.hash in done else "pending"
        if status == "pending":
            pending_cells.append(cell)
            if not cached:
                pending_fits[cell.fit.hash] = cell.fit
        lines.append(f"{i:>4}  {status:9s} {'yes' if cached else 'no':9s} {cell.label()}")
    n_train = n_eval = 0
    for name in spec.datasets:
        splits = load_splits(name, spec.data_dir, spec.image_size, dataset_cache_dir(spec))
        n_train = max(n_train, len(splits.train))
        n_eval = max(n_eval, len(splits.val) + len(splits.test))
    sub = spec.preset.get("subsample") or {}
    if sub.get("train_per_class"):
        n_train = min(n_train, sub["train_per_class"] * 10)
    seconds = estimate_seconds(spec, n_train, n_eval, pending_fits.values(), pending_cells)
    lines.append(f"\n{len(spec.cells())} cells ({len(pending_cells)} pending), {len(spec.fits())} generator fits "
                 f"({len(pending_fits)} not cached). Estimated time on a 2-core CPU: ~{seconds / 60:.0f} min "
                 f"(planning figure from bench/ throughputs; GPU runs are faster).")
    return "\n".join(lines)

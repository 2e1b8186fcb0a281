"""Running one fit group: prepare data, fit the arm once (or load its cached samples), then train and
evaluate every classifier cell on real + synthetic images.

A group is the unit every executor (local, process pool, Ray) ships around. It is self-contained:
it reopens the store itself and claims its fit and each cell under a file lock, so a crash or a
failing cell never touches another group's results, and no cell runs twice.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from augbench.benchmark.grid import Cell, Fit, GridSpec, budget_label
from augbench.benchmark.metrics import classification_metrics, confusion, metric_key
from augbench.benchmark.locks import file_lock, lock_dir
from augbench.core.device import runtime_device
from augbench.benchmark.tracking import TAG_DRIVER, TAG_ERROR, Tracker, default_tracking_uri, owner_token, shared_tracker
from augbench.datasets import Split, Splits, UserError
from augbench.reports.runs import ARTIFACT_PREDICTIONS, TAG_FIT, TAG_GRID, TAG_PAIR_KEY


@dataclass
class CellOutcome:
    label: str
    hash: str
    status: str  # FINISHED | FAILED | SKIPPED
    error: str = ""
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)


# --- data -------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def load_splits(dataset: str, data_dir: str | None, image_size: int, cache_dir: str) -> Splits:
    from augbench.datasets import load_dataset

    return load_dataset(dataset, data_dir=data_dir, image_size=image_size, cache_dir=cache_dir)


def cap_per_class(split: Split, per_class: int | None, seed: int = 0) -> Split:
    """Tiny fixed splits for CI: at most ``per_class`` images of each class, same for every seed."""
    if not per_class:
        return split
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(split.labels):
        idx = np.flatnonzero(split.labels == c)
        keep.append(np.sort(rng.permutation(idx)[:per_class]))
    return split.subset(np.sort(np.concatenate(keep)))


def dataset_cache_dir(spec: GridSpec) -> str:
    """$AUGBENCH_CACHE/datasets when set (shared by every output folder), else <out>/cache/datasets."""
    root = os.environ.get("AUGBENCH_CACHE")
    return str(Path(root) / "datasets") if root else str(Path(spec.out_dir) / "cache" / "datasets")


@dataclass
class PreparedData:
    """What one fit group trains and evaluates on, after the CI cap and both budgets."""

    info: object  # DatasetInfo
    train: Split  # the training split before the budget (capped in the smoke preset)
    val: Split  # the validation split model selection may use (budgeted unless --val-budget full)
    test: Split
    minority: list[int]
    budgeted: object  # datasets.budget.BudgetResult: the budgeted training split and its counts
    targets: dict[int, int]  # images per minority class after refilling
    val_budget: object  # datasets.budget.ValBudget: val counts per budgeted class before/after

    @property
    def reference_size(self) -> int:
        """Training images of the refilled split: the one size every arm's step count is set from."""
        missing = sum(max(0, self.targets[c] - self.budgeted.effective[c]) for c in self.minority)
        return len(self.budgeted.split) + missing

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, -(-self.reference_size // int(batch_size)))


def prepare_data(fit: Fit) -> PreparedData:
    """Splits after subsampling, the budgeted train and val splits, minority classes and target counts."""
    from augbench.datasets.budget import apply_budget, apply_val_budget, target_counts

    spec = fit.spec
    splits = load_splits(fit.dataset, spec.data_dir, spec.image_size, dataset_cache_dir(spec))
    sub = spec.preset.get("subsample") or {}
    train = cap_per_class(splits.train, sub.get("train_per_class"))
    val = cap_per_class(splits.val, sub.get("eval_per_class"))
    test = cap_per_class(splits.test, sub.get("eval_per_class"))
    names = list(splits.info.class_names)
    n_classes = len(names)
    counts = train.counts(n_classes)
    # minority is a property of the dataset, decided on the full training split: the CI cap makes
    # classes equal in size, which must not turn "every class smaller than the largest" into none
    minority = resolve_minority(spec.minority, names, splits.train.counts(n_classes))
    budgeted = apply_budget(train, n_classes, fit.budget, minority, fit.seed)
    targets = target_counts(budgeted.original, budgeted.effective, spec.target, max(counts))
    val_budget = apply_val_budget(val, n_classes, budgeted, fit.seed, spec.val_budget)
    return PreparedData(splits.info, train, val_budget.split, test, minority, budgeted, targets, val_budget)


def resolve_minority(requested: list[str] | None, names: list[str], counts: list[int]) -> list[int]:
    """The same rule the runner checked before the first cell (benchmark/minority.py)."""
    from augbench.benchmark.minority import check_minority

    return check_minority("this dataset", requested, names, counts)[0]


# --- generator fit ------------------------------------------------------------------------------------
def _atomic_write_npz(path: Path, **arrays) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def fit_dir(fit: Fit) -> Path:
    return Path(fit.spec.out_dir) / "cache" / "fits" / fit.hash


def generate(fit: Fit, info, train: Split, val: Split, budgeted, targets, minority, timings: dict,
             refit: bool = False):
    """Synthetic images for the fit, from the content-addressed cache when present (unless ``refit``).

    The cache key is the fit's resolved config, not the code: after changing an arm's code, bump
    grid.CACHE_VERSION or rerun with --force (which refits) so stale samples are not reused.
    """
    from augbench.core.seeding import seeded_global_rng
    from augbench.generators import create_generator

    folder = fit_dir(fit)
    samples_path = folder / "samples.npz"
    generator = create_generator(fit.arm, **fit.generator_config())
    if samples_path.exists() and not refit:
        data = np.load(samples_path)
        timings["cache_hit"] = 1.0
        return generator, data["images"], data["labels"], json.loads((folder / "fit.json").read_text())
    folder.mkdir(parents=True, exist_ok=True)
    real = budgeted.split
    t0 = time.perf_counter()
    # arms seed themselves; the fork keeps whatever they leave unseeded from depending on earlier fits
    with seeded_global_rng(fit.seed, fit.spec.device):
        generator.fit(real.images, real.labels, info.n_classes, seed=fit.seed, device=fit.spec.device)
    timings["fit_s"] = time.perf_counter() - t0
    xs, ys = [np.zeros((0, *real.images.shape[1:]), np.uint8)], [np.zeros(0, np.int64)]
    t0 = time.perf_counter()
    if generator.adds_images:
        for c in minority:
            missing = targets[c] - budgeted.effective[c]
            if missing > 0:
                xs.append(generator.sample(c, missing, seed=fit.seed * 1000 + c))
                ys.append(np.full(missing, c, np.int64))
    timings["sample_s"] = time.perf_counter() - t0
    images, labels = np.concatenate(xs), np.concatenate(ys)
    record = {"arm": fit.arm, "config": generator.describe(), "history": generator.history[-2000:],
              "effective": {str(k): v for k, v in budgeted.effective.items()},
              "targets": {str(k): v for k, v in targets.items()}, "timings": dict(timings)}
    if generator.learned:
        tmp = folder / f"generator.pt.tmp{os.getpid()}"
        generator.save(tmp)
        os.replace(tmp, folder / "generator.pt")
    _atomic_write_text(folder / "fit.json", json.dumps(record, default=str))
    _atomic_write_npz(samples_path, images=images, labels=labels)  # written last: its presence = complete
    return generator, images, labels, record


def log_fit_run(tracker: Tracker, fit: Fit, parent: str, info, budgeted, generator, images, labels, record,
                train, val, minority, tags: dict | None = None) -> str:
    """One MLflow run per generator fit: settings, effective budget, fidelity metrics, sample grid."""
    params = {"dataset": fit.dataset, "budget": budget_label(fit.budget), "seed": fit.seed, "arm": fit.arm,
              "image_size": fit.spec.image_size, "target": fit.spec.target,
              "minority": ",".join(info.class_names[c] for c in minority)}
    params.update({f"gen.{k}": v for k, v in generator.describe().items()})
    params.update({f"effective_{metric_key(info.class_names[c])}": n for c, n in budgeted.effective.items()})
    run_id = tracker.start("generator", fit.hash, f"fit {fit.label()}", params=params,
                           tags={TAG_GRID: fit.spec.grid_id(), **(tags or {})}, parent=parent)
    try:
        metrics = {f"n_synthetic_{metric_key(info.class_names[c])}": int((labels == c).sum()) for c in minority}
        metrics.update({f"time_{k}": v for k, v in record.get("timings", {}).items() if isinstance(v, (int, float))})
        curves = [(int(row.get("step", i)), {f"train_{k}": v for k, v in row.items()
                                             if k != "step" and isinstance(v, (int, float))})
                  for i, row in enumerate(record.get("history", []))]
        tracker.log_metric_rows(run_id, [(0, metrics), *curves])
        if generator.learned and len(images):
            from augbench.benchmark.fidelity_step import log_fidelity

            t0 = time.perf_counter()
            log_fidelity(tracker, run_id, fit, info, budgeted, train, val, images, labels, minority)
            tracker.log_metrics(run_id, {"time_fidelity_s": time.perf_counter() - t0})
    except BaseException as exc:
        _close_failed(tracker, run_id, exc)
        raise
    tracker.finish(run_id, "FINISHED")
    return run_id


# --- classifier cell ----------------------------------------------------------------------------------
def train_config(cfg: dict, *, seed: int, device: str, steps_per_epoch: int | None = None):
    """The classifier's TrainConfig from the preset/grid ``classifier:`` block.

    Only keys a grid may set are read; ``cpu_bf16`` is opt-in because it is faster on CPUs with
    bf16 units but is not the float32 recipe the published numbers used.
    """
    from augbench.classifiers.training import TrainConfig

    return TrainConfig(epochs=int(cfg.get("epochs", 5)), batch_size=int(cfg.get("batch_size", 128)),
                       lr=float(cfg.get("lr", 1e-3)), weight_decay=float(cfg.get("weight_decay", 0.0)),
                       seed=seed, device=device, eval_batch_size=int(cfg.get("eval_batch_size", 512)),
                       cpu_bf16=cfg.get("cpu_bf16", False), steps_per_epoch=steps_per_epoch)


def run_cell(cell: Cell, tracker: Tracker, parent: str, fit_run: str | None, data: PreparedData,
             synthetic: Split, generator, tags: dict | None = None) -> CellOutcome:
    """Train and evaluate one classifier; a failure is recorded on its run and returned, never raised.

    Every arm of one (dataset, budget, seed) takes the same number of optimiser steps at the same
    batch size: an epoch is ``ceil(reference size / batch)`` steps, the reference size being the
    refilled training split, so ``none`` cycles over its fewer images instead of training less.
    """
    import torch

    from augbench.classifiers import create_seeded_classifier
    from augbench.classifiers.training import class_weights_from_counts, predict_proba, train_classifier

    spec = cell.fit.spec
    info, real, val, test, minority, budgeted = data.info, data.budgeted.split, data.val, data.test, \
        data.minority, data.budgeted
    t_start = time.perf_counter()
    cfg = cell.classifier_config()
    steps = data.steps_per_epoch(int(cfg.get("batch_size", 128)))
    params = cell.params() | {"minority": ",".join(info.class_names[c] for c in minority),
                              "n_train_real": len(real), "n_train_synthetic": len(synthetic),
                              "n_val": len(val), "n_test": len(test), "evaluated_split": "test",
                              "model_selection": "best val macro AUC", "steps_reference_size": data.reference_size,
                              "steps_per_epoch": steps}
    params.update({f"clf.{k}": v for k, v in cfg.items()})
    params.update({f"effective_{metric_key(info.class_names[c])}": n for c, n in budgeted.effective.items()})
    params.update({f"n_val_{metric_key(info.class_names[c])}": n for c, n in data.val_budget.kept.items()})
    run_tags = {TAG_GRID: spec.grid_id(), TAG_FIT: cell.fit.hash, TAG_PAIR_KEY: cell.pair_key(), **(tags or {})}
    if fit_run:
        run_tags["augbench.fit_run"] = fit_run
    run_id = tracker.start("cell", cell.hash, cell.label(), params=params, tags=run_tags, parent=parent)
    timings: dict = {}
    try:
        train = Split(np.concatenate([real.images, synthetic.images]),
                      np.concatenate([real.labels, synthetic.labels]))
        train_counts = train.counts(info.n_classes)
        weights = class_weights_from_counts(train_counts) if generator.class_weighted_loss else None
        train_offset, eval_offset = generator.logit_offsets(train_counts)
        # initial weights from the cell's seed, not from whatever ran before in this process: the
        # same cell gives the same numbers sequentially, in a process pool or on a Ray worker
        model = create_seeded_classifier(cell.classifier, cell.fit.seed, n_classes=info.n_classes,
                                         in_channels=real.images.shape[-1], image_size=spec.image_size,
                                         weights=cfg.get("weights"))
        tc = train_config(cfg, seed=cell.fit.seed, device=spec.device, steps_per_epoch=steps)
        result = train_classifier(model, train, val, tc, n_classes=info.n_classes, class_weights=weights,
                                  train_logit_offset=train_offset, eval_logit_offset=eval_offset)
        timings["train_s"] = float(result.train_seconds)
        timings["val_eval_s"] = float(result.eval_seconds)
        t0 = time.perf_counter()
        predict = functools.partial(predict_proba, result.model, batch_size=tc.eval_batch_size, device=spec.device,
                                    amp=tc.amp, logit_offset=result.eval_logit_offset)  # amp: CUDA only
        probs_val = predict(val.images)
        probs = predict(test.images)
        timings["test_eval_s"] = time.perf_counter() - t0
        metrics = classification_metrics(test.labels, probs, info.class_names, minority=minority, split="test")
        metrics |= classification_metrics(val.labels, probs_val, info.class_names, minority=minority, split="val")
        metrics |= {"best_epoch": result.best_epoch, "train_steps": result.train_steps,
                    "images_seen": result.images_seen}
        curves = [(int(row["epoch"]), {f"epoch_{k}": v for k, v in row.items()
                                       if k != "epoch" and isinstance(v, (int, float))}) for row in result.history]
        cm = confusion(test.labels, probs, info.n_classes)
        header = "true\\pred," + ",".join(info.class_names)
        rows = [f"{info.class_names[i]}," + ",".join(str(int(v)) for v in cm[i]) for i in range(info.n_classes)]
        tracker.log_text(run_id, "\n".join([header, *rows]) + "\n", "confusion_matrix_test.csv")
        _log_predictions(tracker, run_id, probs, test)
        timings["total_s"] = time.perf_counter() - t_start
        metrics |= {f"time_{k}": v for k, v in timings.items()}
        tracker.log_metric_rows(run_id, [*curves, (0, metrics)])
        tracker.finish(run_id, "FINISHED")
        return CellOutcome(cell.label(), cell.hash, "FINISHED", metrics=metrics, seconds=timings["total_s"],
                           timings=timings)
    except Exception as exc:  # noqa: BLE001 - isolate the cell, keep the grid going
        return _fail(tracker, run_id, cell, exc, t_start)
    except BaseException as exc:  # Ctrl-C: an unfinished cell leaves no run behind, a rerun redoes it
        _close_failed(tracker, run_id, exc)
        raise


def _log_predictions(tracker: Tracker, run_id: str, probs: np.ndarray, test: Split) -> None:
    """Per-image test probabilities, so any metric can be recomputed and resampled after the fact
    (reports/stats.py pairs arms image by image). float32: 2005 x 7 is 56 kB."""
    import tempfile

    arrays = {"probs": np.asarray(probs, dtype=np.float32), "labels": np.asarray(test.labels, dtype=np.int64)}
    if test.ids is not None:
        arrays["ids"] = np.asarray(test.ids).astype(str)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ARTIFACT_PREDICTIONS
        np.savez_compressed(path, **arrays)
        tracker.log_artifact(run_id, path)


def _error_message(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"


def _close_failed(tracker: Tracker, run_id: str, exc: BaseException) -> None:
    """FAILED with the traceback for an error; deleted for an interruption (nothing to keep)."""
    try:
        if not isinstance(exc, Exception):
            tracker.delete(run_id)
            return
        tracker.log_text(run_id, "".join(traceback.format_exception(exc)), "traceback.txt")
        tracker.set_tags(run_id, {TAG_ERROR: _error_message(exc)[:500]})
        tracker.finish(run_id, "FAILED")
    except Exception:  # noqa: BLE001 - the tracking store itself may be what failed
        pass


def _fail(tracker: Tracker, run_id: str, cell: Cell, exc: BaseException, t_start: float) -> CellOutcome:
    _close_failed(tracker, run_id, exc)
    return CellOutcome(cell.label(), cell.hash, "FAILED", error=_error_message(exc),
                       seconds=time.perf_counter() - t_start)


# --- a whole group ------------------------------------------------------------------------------------
def _with_device(fit: Fit, cells: list[Cell]) -> tuple[Fit, list[Cell]]:
    device = runtime_device(fit.spec.device)
    if device == fit.spec.device:
        return fit, cells
    spec = dataclasses.replace(fit.spec, device=device)  # the device is in no hash: same cells, same cache
    new_fit = Fit(spec, fit.dataset, fit.budget, fit.seed, fit.arm)
    return new_fit, [Cell(new_fit, c.classifier) for c in cells]


def group_tracker(spec: GridSpec) -> Tracker:
    uri = spec.tracking_uri or default_tracking_uri(spec.out_dir)
    return shared_tracker(uri, spec.experiment, str(Path(spec.out_dir) / "artifacts"))


def run_group(fit: Fit, cells: list[Cell], parent: str, progress=None, *, force: bool = False,
              driver: str | None = None) -> list[CellOutcome]:
    """Fit once, then run each pending classifier cell. Never raises for a cell's own failure.

    Each fit and each cell is claimed under a file lock and checked against the store first, so a
    cell that another grid (or an earlier attempt) finished meanwhile is skipped, not run twice.
    """
    import torch

    fit, cells = _with_device(fit, cells)
    spec = fit.spec
    if spec.extra.get("threads"):
        torch.set_num_threads(int(spec.extra["threads"]))
    tracker = group_tracker(spec)
    locks = lock_dir(tracker.tracking_uri, spec.out_dir)
    tags = {TAG_DRIVER: driver or owner_token()}
    outcomes: list[CellOutcome] = []

    def emit(outcome: CellOutcome) -> None:
        outcomes.append(outcome)
        if progress:
            progress(outcome)

    t0 = time.perf_counter()
    timings: dict = {}
    try:
        data = prepare_data(fit)
        timings["data_s"] = time.perf_counter() - t0
        with file_lock(locks / f"fit-{fit.hash}.lock"):
            generator, images, labels, record = generate(fit, data.info, data.train, data.val, data.budgeted,
                                                         data.targets, data.minority, timings, refit=force)
            fit_run = None if force else tracker.finished("generator", fit.hash).get(fit.hash)
            if fit_run is None:
                tracker.clear_stale("generator", fit.hash, supersede_finished=force)
                fit_run = log_fit_run(tracker, fit, parent, data.info, data.budgeted, generator, images, labels,
                                      record, data.train, data.val, data.minority, tags)
        synthetic = Split(images, labels)
    except Exception as exc:  # noqa: BLE001 - the fit failed: every cell of it fails with the same reason
        for cell in cells:
            with claimed(tracker, locks, cell, force) as mine:
                if not mine:
                    emit(_skipped(cell))
                    continue
                run_id = tracker.start("cell", cell.hash, cell.label(), params=cell.params(),
                                       tags={TAG_GRID: spec.grid_id(), TAG_FIT: fit.hash, **tags}, parent=parent)
                emit(_fail(tracker, run_id, cell, exc, t0))
        return outcomes
    for cell in cells:
        with claimed(tracker, locks, cell, force) as mine:
            if not mine:
                emit(_skipped(cell))
                continue
            outcome = run_cell(cell, tracker, parent, fit_run, data, synthetic, generator, tags)
        outcome.timings |= {f"group_{k}": v for k, v in timings.items() if isinstance(v, float)}
        timings = {}  # the fit's cost is attributed to the first cell only
        emit(outcome)
    return outcomes


@contextlib.contextmanager
def claimed(tracker: Tracker, locks: Path, cell: Cell, force: bool):
    """Hold the cell's lock; yield False when a run finished it meanwhile (another grid, an earlier
    attempt), else clear its crash corpses and yield True: the caller runs it, exactly once."""
    with file_lock(locks / f"cell-{cell.hash}.lock"):
        if not force and tracker.finished("cell", cell.hash):
            yield False
            return
        tracker.clear_stale("cell", cell.hash, supersede_finished=force)
        yield True


def _skipped(cell: Cell) -> CellOutcome:
    return CellOutcome(cell.label(), cell.hash, "SKIPPED", error="finished by another run")

"""One classifier cell: train on real + synthetic images, score on the test split, log the run.

A cell never raises for its own failure: the error is recorded on its run (traceback artifact,
error tag, FAILED) and returned as a :class:`CellOutcome`, so one bad cell never stops a grid.
An interruption (Ctrl-C) is the exception: its unfinished run is deleted and the interrupt goes on.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from augbench.benchmark.settings import train_config
from augbench.benchmark.fit import FitData, FittedArm
from augbench.benchmark.grid import Cell
from augbench.benchmark.metrics import classification_metrics, confusion, predicted_share, prior_corrected
from augbench.benchmark.tracking import RunContext, Tracker, error_message
from augbench.core.layout import (ARTIFACT_CONFUSION, ARTIFACT_MODEL_DIR, ARTIFACT_PREDICTIONS, KIND_CELL, PARAM_ARM,
                                  PARAM_BUDGET, PARAM_DATASET, PARAM_MINORITY, PARAM_SEED, PRED_CLASSES, PRED_GROUPS,
                                  PRED_IDS, PRED_LABELS, PRED_PROBS, PRED_PROBS_PC, PRED_TRAIN_COUNTS, PREFIX_CLF,
                                  PREFIX_EFFECTIVE, PREFIX_GEN, PREFIX_N_VAL, PRIOR_CORRECTED_SPLIT, SPLIT_TEST,
                                  TAG_FIT, TAG_FIT_RUN, TAG_GRID, TAG_PAIR_KEY, metric_key)
from augbench.datasets import Split


@dataclass
class CellOutcome:
    label: str
    hash: str
    status: str  # FINISHED | FAILED | SKIPPED
    error: str = ""
    metrics: dict = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)


def _cell_params(cell: Cell, data: FitData, arm: FittedArm, cfg: dict, steps: int) -> dict:
    info, real = data.info, data.budgeted.split
    params = cell.params() | {PARAM_MINORITY: data.minority_names(),
                              "n_train_real": len(real), "n_train_synthetic": len(arm.synthetic),
                              "n_val": len(data.val), "n_test": len(data.test), "evaluated_split": SPLIT_TEST,
                              "model_selection": "last step" if cfg.get("select") == "last" else "best val macro AUC", "steps_reference_size": data.reference_size,
                              "steps_per_epoch": steps}
    params.update({f"{PREFIX_CLF}{k}": v for k, v in cfg.items()})
    # the arm's settings on the cell itself, so the UI can compare cells by a generator setting
    params.update({f"{PREFIX_GEN}{k}": v for k, v in arm.generator.describe().items()})
    params.update({f"{PREFIX_EFFECTIVE}{metric_key(info.class_names[c])}": n for c, n in data.budgeted.effective.items()})
    params.update({f"{PREFIX_N_VAL}{metric_key(info.class_names[c])}": n for c, n in data.val_budget.kept.items()})
    return params


def run_cell(cell: Cell, data: FitData, arm: FittedArm, ctx: RunContext) -> CellOutcome:
    """Train and evaluate one classifier; a failure is recorded on its run and returned, never raised.

    Every arm of one (dataset, budget, seed) takes the same number of optimiser steps at the same
    batch size: an epoch is ``ceil(reference size / batch)`` steps, the reference size being the
    refilled training split, so ``none`` cycles over its fewer images instead of training less.
    """
    tracker, t_start = ctx.tracker, time.perf_counter()
    cfg = cell.classifier_config()
    steps = data.steps_per_epoch(int(cfg.get("batch_size", 128)))
    run_id = _start_run(cell, data, arm, ctx, cfg, steps)
    timings: dict = {}
    try:
        tracker.log_inputs(run_id, _inputs(cell, data, arm))
        trained = _train(cell, data, arm, cfg, steps, timings)
        metrics, curves, probs, probs_pc = _score(trained, data, cell.fit.spec.device, timings)
        _log_outputs(tracker, run_id, cell, data, trained, probs, probs_pc)
        timings["total_s"] = time.perf_counter() - t_start
        metrics |= {f"time_{k}": v for k, v in timings.items()}
        tracker.log_metric_rows(run_id, [*curves, (0, metrics)])
        tracker.finish(run_id, "FINISHED")
        return CellOutcome(cell.label(), cell.hash, "FINISHED", metrics=metrics, seconds=timings["total_s"],
                           timings=timings)
    except Exception as exc:  # noqa: BLE001 - isolate the cell, keep the grid going
        return _fail(tracker, run_id, cell, exc, t_start)
    except BaseException as exc:  # Ctrl-C: an unfinished cell leaves no run behind, a rerun redoes it
        tracker.close_failed(run_id, exc)
        raise


def _start_run(cell: Cell, data: FitData, arm: FittedArm, ctx: RunContext, cfg: dict, steps: int) -> str:
    """The cell's MLflow run, nested under its fit, tagged with what pairs it with the other arms."""
    run_tags = {TAG_GRID: cell.fit.spec.grid_id(), TAG_FIT: cell.fit.hash, TAG_PAIR_KEY: cell.pair_key(), **ctx.tags}
    if arm.run_id:
        run_tags[TAG_FIT_RUN] = arm.run_id
    return ctx.tracker.start(KIND_CELL, cell.hash, cell.label(), params=_cell_params(cell, data, arm, cfg, steps),
                             tags=run_tags, parent=ctx.parent)


@dataclass
class _Trained:
    """A trained cell: the training result, its config, and the class prior it trained under."""

    result: object
    config: object
    train_counts: list
    offsets: bool  # the arm moves the logits itself (its probabilities are already prior-corrected)


def _train(cell: Cell, data: FitData, arm: FittedArm, cfg: dict, steps: int, timings: dict) -> _Trained:
    """The classifier trained on the budgeted real images plus the arm's synthetic ones, with the
    arm's loss weights or logit offsets, selected on the budgeted validation split."""
    from augbench.benchmark.progress import training_progress
    from augbench.classifiers import create_seeded_classifier
    from augbench.classifiers.training import class_weights_from_counts, train_classifier

    spec, info, real, synthetic = cell.fit.spec, data.info, data.budgeted.split, arm.synthetic
    train = Split(np.concatenate([real.images, synthetic.images]), np.concatenate([real.labels, synthetic.labels]))
    train_counts = train.counts(info.n_classes)
    weights = class_weights_from_counts(train_counts) if arm.generator.class_weighted_loss else None
    train_offset, eval_offset = arm.generator.logit_offsets(train_counts)
    # initial weights from the cell's seed, not from whatever ran before in this process: the
    # same cell gives the same numbers sequentially, in a process pool or on a Ray worker
    model = create_seeded_classifier(cell.classifier, cell.fit.seed, n_classes=info.n_classes,
                                     in_channels=real.images.shape[-1], image_size=spec.image_size,
                                     weights=cfg.get("weights"))
    tc = train_config(cfg, seed=cell.fit.seed, device=spec.device, steps_per_epoch=steps)
    with training_progress(spec, cell.label(), steps) as progress:
        result = train_classifier(model, train, data.val, tc, n_classes=info.n_classes, class_weights=weights,
                                  train_logit_offset=train_offset, eval_logit_offset=eval_offset, progress=progress)
    timings["train_s"] = float(result.train_seconds)
    timings["val_eval_s"] = float(result.eval_seconds)
    return _Trained(result, tc, train_counts, train_offset is not None or eval_offset is not None)


def _score(trained: _Trained, data: FitData, device: str, timings: dict):
    """(metrics, epoch curves, test probabilities, prior-corrected ones): the test split scored as
    selected, under both decisions, and the validation split for reference."""
    from augbench.classifiers.training import predict_proba

    result, tc, info, minority = trained.result, trained.config, data.info, data.minority
    t0 = time.perf_counter()
    predict = functools.partial(predict_proba, result.model, batch_size=tc.eval_batch_size, device=device,
                                amp=tc.amp, logit_offset=result.eval_logit_offset)  # amp: CUDA only
    probs_val = predict(data.val.images)
    probs = predict(data.test.images)
    timings["test_eval_s"] = time.perf_counter() - t0
    probs_pc = prior_corrected(probs, trained.train_counts, has_offsets=trained.offsets)
    metrics = classification_metrics(data.test.labels, probs, info.class_names, minority=minority, split="test")
    metrics |= classification_metrics(data.test.labels, probs_pc, info.class_names, minority=minority,
                                      split=PRIOR_CORRECTED_SPLIT)
    metrics["test_majority_share"] = predicted_share(probs)
    metrics["test_pc_majority_share"] = predicted_share(probs_pc)
    metrics |= classification_metrics(data.val.labels, probs_val, info.class_names, minority=minority, split="val")
    metrics |= {"best_epoch": result.best_epoch, "train_steps": result.train_steps, "images_seen": result.images_seen}
    curves = [(int(row["epoch"]), {f"epoch_{k}": v for k, v in row.items()
                                   if k != "epoch" and isinstance(v, (int, float))}) for row in result.history]
    return metrics, curves, probs, probs_pc


def _log_outputs(tracker: Tracker, run_id: str, cell: Cell, data: FitData, trained: _Trained, probs, probs_pc) -> None:
    """The confusion matrix, the model (``--save-models``) and the per-image test predictions."""
    test, info, result = data.test, data.info, trained.result
    _log_confusion(tracker, run_id, test, probs, info)
    if cell.fit.spec.options.save_models:
        _log_model(tracker, run_id, result.model, cell, test=test, class_names=info.class_names,
                   logit_offset=result.eval_logit_offset)
    _log_predictions(tracker, run_id, probs, test, probs_pc=probs_pc, class_names=info.class_names,
                     train_counts=trained.train_counts)


def _inputs(cell: Cell, data: FitData, arm: FittedArm) -> list:
    """What the cell saw, as MLflow dataset inputs: the budgeted real images, the synthetic ones
    (when the arm made any), the budgeted validation split and the test split it is scored on."""
    from augbench.benchmark.fit import split_input

    tag = f"b={cell.fit.budget.label()} s={cell.fit.seed}"
    out = [split_input(data, data.budgeted.split, "train", f"train {tag}")]
    if len(arm.synthetic):
        out.append(split_input(data, arm.synthetic, "train", f"synthetic {cell.fit.arm} {tag}"))
    return out + [split_input(data, data.val, "validation", f"val {tag}"), split_input(data, data.test, "test", "test")]


def _log_model(tracker: Tracker, run_id: str, model, cell: Cell, *, test: Split, class_names,
               logit_offset=None) -> None:
    """The selected classifier (``--save-models``), twice: its state_dict under ``model/`` (what
    ``--classifier-weights`` and ``create_classifier(..., weights=)`` read back), and as an MLflow
    LoggedModel of the pytorch flavor (``models:/<id>``, listed on the run) that predicts probabilities
    from uint8 images with torch alone (benchmark/mlflow_model), its signature from a real batch of the
    test split."""
    import tempfile

    import torch

    from augbench.benchmark.mlflow_model import save_classifier

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{cell.classifier}.pt"
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
        tracker.log_artifact(run_id, path, ARTIFACT_MODEL_DIR)
        folder = save_classifier(model, test.images[:8], Path(tmp) / "mlflow_model", logit_offset=logit_offset,
                                 class_names=class_names)
        tracker.log_model(run_id, cell.classifier, folder, model_type="classifier",
                          params={PARAM_ARM: cell.fit.arm, PARAM_DATASET: cell.fit.dataset, PARAM_SEED: cell.fit.seed,
                                  PARAM_BUDGET: cell.fit.budget.label()})


# --- predictions logging ------------------------------------------------------------------------------
def _log_confusion(tracker: Tracker, run_id: str, test: Split, probs: np.ndarray, info) -> None:
    cm = confusion(test.labels, probs, info.n_classes)
    header = "true\\pred," + ",".join(info.class_names)
    rows = [f"{info.class_names[i]}," + ",".join(str(int(v)) for v in cm[i]) for i in range(info.n_classes)]
    tracker.log_text(run_id, "\n".join([header, *rows]) + "\n", ARTIFACT_CONFUSION)


def _log_predictions(tracker: Tracker, run_id: str, probs: np.ndarray, test: Split, *, class_names, probs_pc=None,
                     train_counts=None) -> None:
    """Per-image test probabilities, so any metric can be recomputed and resampled after the fact
    (reports/stats.py pairs arms image by image). float32: 2005 x 7 is 56 kB. The prior-corrected
    probabilities, the class names, the training counts and the test images' subject ids (lesion,
    patient) travel with them, so a report needs nothing else to pair, correct or cluster."""
    import tempfile

    probs = np.asarray(probs, dtype=np.float32)
    if len(class_names) != probs.shape[1]:
        raise ValueError(f"{len(class_names)} class names for {probs.shape[1]} probability columns: the report "
                         "matches per-class scores to classes by these names")
    arrays = {PRED_PROBS: probs, PRED_LABELS: np.asarray(test.labels, dtype=np.int64),
              PRED_CLASSES: np.asarray(list(class_names)).astype(str)}
    if probs_pc is not None:
        arrays[PRED_PROBS_PC] = np.asarray(probs_pc, dtype=np.float32)
    if train_counts is not None:
        arrays[PRED_TRAIN_COUNTS] = np.asarray(train_counts, dtype=np.int64)
    if test.ids is not None:
        arrays[PRED_IDS] = np.asarray(test.ids).astype(str)
    if test.groups is not None:
        arrays[PRED_GROUPS] = np.asarray(test.groups).astype(str)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ARTIFACT_PREDICTIONS
        np.savez_compressed(path, **arrays)
        tracker.log_artifact(run_id, path)


# --- failure records ----------------------------------------------------------------------------------
def _fail(tracker: Tracker, run_id: str, cell: Cell, exc: BaseException, t_start: float) -> CellOutcome:
    tracker.close_failed(run_id, exc)
    return CellOutcome(cell.label(), cell.hash, "FAILED", error=error_message(exc),
                       seconds=time.perf_counter() - t_start)


def fit_failed(cell: Cell, ctx: RunContext, exc: BaseException, t_start: float) -> CellOutcome:
    """The cell's FAILED run when its fit failed: the fit's error, on a run a rerun will retry."""
    run_id = ctx.tracker.start(KIND_CELL, cell.hash, cell.label(), params=cell.params(),
                               tags={TAG_GRID: cell.fit.spec.grid_id(), TAG_FIT: cell.fit.hash, **ctx.tags},
                               parent=ctx.parent)
    return _fail(ctx.tracker, run_id, cell, exc, t_start)


def skipped(cell: Cell) -> CellOutcome:
    return CellOutcome(cell.label(), cell.hash, "SKIPPED", error="finished by another run")


"""Writing test stores the way the runner writes them, so a report test can only pass on a layout
the runner really produces.

Runs go through the runner's own Tracker (kind, hash, owner and parent tags, params, metrics,
artifacts, failures), a cell's params come from the grid's own ``Cell.params()`` (the axes the
report reads), predictions from the cell's own logger, and every other name from the run layout
(augbench/core/layout.py). Only the values are the tests' own: known numbers the tests recompute
their expectations from by hand.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from augbench.benchmark.cell import _log_predictions
from augbench.benchmark.grid import GridSpec
from augbench.benchmark.tracking import Tracker
from augbench.core.layout import (PARAM_ARM, PARAM_BUDGET, PARAM_DATASET, PARAM_IMAGE_SIZE, PARAM_MINORITY,
                                  PARAM_SEED, PARAM_TARGET, PREFIX_EFFECTIVE, metric_key)


def open_store(root: Path, experiment: str = "augbench") -> Tracker:
    """A fresh sqlite store under ``root`` (artifacts in ``root/artifacts``), opened by the runner's Tracker."""
    root.mkdir(parents=True, exist_ok=True)
    return Tracker(f"sqlite:///{root / 'mlflow.db'}", experiment, artifact_root=root / "artifacts")


def _effective(effective: dict | None) -> dict:
    return {f"{PREFIX_EFFECTIVE}{metric_key(name)}": n for name, n in (effective or {}).items()}


def cell_params(dataset: str, budget, seed: int, arm: str, classifier: str, *, preset: str = "fixture",
                image_size: int = 28, target: str = "balanced", minority: str | None = None,
                effective: dict | None = None) -> dict:
    """A cell run's params as the runner logs them: the grid's ``Cell.params()``, plus the minority
    classes, the evaluated split and ``effective_<class>`` (benchmark/cell.py adds those from the data)."""
    spec = GridSpec(datasets=[dataset], generators=[arm], classifiers=[classifier], budgets=[budget],
                    seeds=[seed], preset={"name": preset}, image_size=image_size, target=target)
    (fit,) = spec.fits()
    (cell,) = fit.cells()
    params = cell.params()
    if minority is not None:
        params[PARAM_MINORITY] = minority
    return params | {"evaluated_split": "test"} | _effective(effective)


def fit_params(dataset: str, budget, seed: int, arm: str, *, image_size: int = 28, target: str = "balanced",
               minority: str | None = None, effective: dict | None = None) -> dict:
    """A generator fit run's axes and budget params, named as benchmark/fit.py's log_fit_run names them."""
    params = {PARAM_DATASET: dataset, PARAM_BUDGET: str(budget), PARAM_SEED: seed, PARAM_ARM: arm,
              PARAM_IMAGE_SIZE: image_size, PARAM_TARGET: target}
    if minority is not None:
        params[PARAM_MINORITY] = minority
    return params | _effective(effective)


def log_file(tracker: Tracker, run_id: str, scratch: Path, name: str, content: bytes) -> None:
    """``content`` as the artifact ``name`` of the run."""
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / name
    path.write_bytes(content)
    tracker.log_artifact(run_id, path)


def log_predictions(tracker: Tracker, run_id: str, probs, labels, *, class_names, ids=None, groups=None,
                    probs_pc=None) -> None:
    """Per-image test predictions through the cell's own logger (what it writes, under the name it uses)."""
    test = SimpleNamespace(labels=np.asarray(labels), ids=ids, groups=groups)
    _log_predictions(tracker, run_id, probs, test, class_names=class_names, probs_pc=probs_pc)

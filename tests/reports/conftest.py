"""A tracking store of runs with KNOWN values, written through the runner's own writers (_store.py).

The values are written here as explicit numbers; the tests recompute every expected mean, std,
interval and p-value from these numbers by hand (numpy / enumeration), never by calling reports/.
"""
from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from augbench.core.layout import (ARTIFACT_FEATURES, ARTIFACT_REAL, ARTIFACT_SAMPLES, KIND_CELL, KIND_FIT, TAG_FIT,
                                  TAG_GRID)

from ._store import cell_params, fit_params, log_file, open_store

EXPERIMENT = "augbench"
GRID = "gridfixture01"
DATASET = "toy"
CLASSIFIER = "small-cnn"
SEEDS = [0, 1, 2, 3, 4, 5]
SEEDS_ALL = [0, 1, 2]            # budget "all" only has three seeds
CLASSES = ["healthy", "lesion"]  # lesion is the minority class (gets the budget)

# test_balanced_accuracy of the `none` arm per seed, and each arm's difference to it per seed
NONE_BACC = {"10": [0.60, 0.62, 0.58, 0.61, 0.59, 0.63], "all": [0.80, 0.82, 0.81]}
DIFF_BACC = {
    "10": {"oversample": [0.020, 0.030, 0.010, 0.040, 0.025, 0.050],    # all positive
           "classic": [0.011, -0.022, 0.033, 0.015, -0.004, 0.027],    # mixed signs, distinct |d|
           "dcgan": [-0.010, 0.020, -0.030, 0.015, 0.000, -0.025]},   # one zero: 5 non-zero pairs
    "all": {"oversample": [0.010, -0.005, 0.002], "classic": [0.000, 0.004, -0.006],
            "dcgan": [-0.020, -0.010, -0.030]},
}
ARMS = ["none", "oversample", "classic", "dcgan"]
NONE_AUC = {"10": [0.70, 0.71, 0.69, 0.72, 0.70, 0.73], "all": [0.90, 0.91, 0.89]}
AUC_SHIFT = {"none": 0.0, "oversample": 0.01, "classic": 0.02, "dcgan": -0.01}
# per-class recall of the minority class at budget 10 for each arm and seed
RECALL_LESION_10 = {"none": [0.30, 0.35, 0.25, 0.40, 0.33, 0.31], "oversample": [0.45, 0.50, 0.40, 0.52, 0.47, 0.44],
                    "classic": [0.38, 0.36, 0.37, 0.41, 0.35, 0.42], "dcgan": [0.28, 0.33, 0.30, 0.37, 0.29, 0.36]}
# fidelity of the dcgan fits at budget 10 (domain extractor), per seed
FID_LESION_10 = [41.0, 45.0, 38.0, 50.0, 44.0, 42.0]
FID_CALIB_LESION_10 = [20.0, 22.0, 19.0, 25.0, 21.0, 23.0]
FEATURES_PER_ROLE = 24


def bacc(arm: str, budget: str, i: int) -> float:
    base = NONE_BACC[budget][i]
    return base if arm == "none" else base + DIFF_BACC[budget][arm][i]


def _png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (96, 40), color).save(buf, format="PNG")
    return buf.getvalue()


def _features(rng) -> bytes:
    """The fidelity step's own feature file (benchmark/fidelity_step.feature_sample) of known arrays:
    its extractor is the identity, so each role's "images" are its features."""
    from augbench.benchmark.fidelity_step import feature_sample

    lesion = CLASSES.index("lesion")
    roles = {role: {lesion: rng.normal(shift, 1.0, (FEATURES_PER_ROLE, 8)).astype(np.float32)}
             for role, shift in (("real", 0.0), ("heldout", 0.2), ("fake", 1.0))}
    identity = SimpleNamespace(features=lambda images, reuse=False: images)
    feats = feature_sample(identity, roles["real"], roles["fake"], roles["heldout"], CLASSES, seed=0)
    buf = io.BytesIO()
    np.savez(buf, **feats)
    return buf.getvalue()


def write_store(root: Path, experiment: str = EXPERIMENT, seeds=None, seeds_all=None, with_features=True) -> str:
    """Write the fixture runs into a fresh sqlite store under ``root``; returns its tracking URI."""
    seeds = SEEDS if seeds is None else seeds
    seeds_all = SEEDS_ALL if seeds_all is None else seeds_all
    tracker = open_store(root, experiment)
    parent = tracker.grid_parent(GRID, {"datasets": [DATASET]}, name="grid")
    tracker.finish(parent)
    rng = np.random.default_rng(0)
    scratch = root / "scratch"

    def new_run(kind, name, params, tags=None):
        return tracker.start(kind, name, name, params=params, tags={TAG_GRID: GRID, **(tags or {})}, parent=parent)

    for budget, seed_list in (("10", seeds), ("all", seeds_all)):
        for i, seed in enumerate(seed_list):
            for arm in ARMS:
                effective = {"lesion": 10} if budget == "10" else None
                fit_id = None
                if arm == "dcgan":
                    fit_id = new_run(KIND_FIT, f"fit-{budget}-{seed}-{arm}",
                                     fit_params(DATASET, budget, seed, arm, minority="lesion", effective=effective)
                                     | {"fidelity_domain_name": "domain-small-cnn", "fidelity_domain_dims": 64,
                                        "fidelity_domain_image_size": 28, "fidelity_domain_weights": "toy"})
                    fid = FID_LESION_10[i] if budget == "10" else 30.0 + i
                    calib = FID_CALIB_LESION_10[i] if budget == "10" else 15.0 + i
                    metrics = {"fid_domain_lesion": fid, "fid_calib_domain_lesion": calib,
                               "fid_heldout_domain_lesion": fid + 5.0,
                               "kid_domain_lesion": fid / 1000, "kid_calib_domain_lesion": calib / 1000,
                               "precision_domain_lesion": 0.5, "recall_domain_lesion": 0.4,
                               "density_domain_lesion": 0.9, "coverage_domain_lesion": 0.6,
                               "memorisation_domain_lesion": 1.1, "msssim_lesion": 0.2, "msssim_real_lesion": 0.18,
                               "n_real_lesion": 10.0, "n_fake_lesion": 90.0, "n_calib_lesion": 90.0}
                    tracker.log_metric_rows(fit_id, [(0, metrics)] + [(s, {"train_loss_g": 2.0 / (s + 1),
                                                                          "train_loss_d": 0.5 + 0.01 * s})
                                                                      for s in range(10)])
                    log_file(tracker, fit_id, scratch, ARTIFACT_SAMPLES, _png((200, 40, 40)))
                    log_file(tracker, fit_id, scratch, ARTIFACT_REAL, _png((40, 40, 200)))
                    if with_features:
                        log_file(tracker, fit_id, scratch, ARTIFACT_FEATURES, _features(rng))
                    tracker.finish(fit_id)
                cell = new_run(KIND_CELL, f"cell-{budget}-{seed}-{arm}",
                               cell_params(DATASET, budget, seed, arm, CLASSIFIER, minority="lesion",
                                           effective=effective),
                               tags={TAG_FIT: f"fit-{budget}-{seed}"})
                metrics = {"test_balanced_accuracy": bacc(arm, budget, i),
                           "test_macro_auc": NONE_AUC[budget][i] + AUC_SHIFT[arm]}
                recall = RECALL_LESION_10[arm][i] if budget == "10" else 0.6
                for cls, r in (("healthy", 0.9), ("lesion", recall)):
                    metrics |= {f"test_recall_{cls}": r, f"test_precision_{cls}": r - 0.05,
                                f"test_f1_{cls}": r - 0.02, f"test_auc_{cls}": 0.5 + r / 2}
                tracker.log_metric_rows(cell, [(0, metrics)] + [(e, {"epoch_train_loss": 1.0 / (e + 1)})
                                                                for e in range(3)])
                tracker.finish(cell)
    # a FAILED cell must not enter any table: recorded the way the runner records a failure
    failed = new_run(KIND_CELL, "cell-failed", cell_params(DATASET, "10", 99, "none", CLASSIFIER))
    tracker.log_metrics(failed, {"test_balanced_accuracy": 0.0})
    tracker.close_failed(failed, RuntimeError("the fixture's failed cell"))
    return tracker.tracking_uri


@pytest.fixture(scope="session")
def fast_dir(tmp_path_factory):
    """RAM-backed scratch when available: sqlite's fsyncs make a disk-backed store 5x slower to write."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        path = Path(tempfile.mkdtemp(prefix="augbench-reports-", dir=shm))
        yield path
        shutil.rmtree(path, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="session")
def store(fast_dir) -> str:
    return write_store(fast_dir / "store")


@pytest.fixture(scope="session")
def one_seed_store(fast_dir) -> str:
    return write_store(fast_dir / "one-seed", seeds=[0], seeds_all=[0], with_features=False)

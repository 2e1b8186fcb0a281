"""The gap closed measures what it says: an arm that brings half real images and half duplicates closes
more of the gap to the `real` control than `oversample` (all duplicates) and less than `real` itself.

A real grid on real HAM10000 (`isic`: each minority class cut to 10 images, refilled to its original count), three
seeds; the planted arm is the `real` control with every other fill image replaced by a duplicate of a
budget image, so its real-image content sits exactly between the two others'.
"""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from augbench.generators import GENERATORS, register_generator
from augbench.generators.real_control import RealImageControl

PLANTED = "planted-half-real"


class HalfRealHalfDuplicates(RealImageControl):
    """Half of each class's fill from the reserve (real, outside the budget), half duplicates."""

    def _fit(self, images, labels, *, seed, device, progress):
        super()._fit(images, labels, seed=seed, device=device, progress=progress)
        self._budget = {int(c): images[labels == c] for c in np.unique(labels)}

    def _sample(self, label, n, *, seed):
        real = super()._sample(label, n, seed=seed)
        pool = self._budget[label]
        dup = pool[np.random.default_rng([seed, label]).integers(0, len(pool), n)]
        out = real.copy()
        out[1::2] = dup[1::2]
        return out


@pytest.fixture
def planted_arm():
    register_generator(PLANTED, order=99)(HalfRealHalfDuplicates)
    try:
        yield PLANTED
    finally:
        GENERATORS._entries.pop(PLANTED, None)


@pytest.mark.slow
def test_half_real_closes_a_gap_between_oversample_and_real(tmp_path, data_dir, planted_arm):
    from augbench.benchmark.cli import build_parser
    from augbench.benchmark.gridfile import spec_from_args
    from augbench.benchmark.runner import run_grid
    from augbench.reports.predictions import PredictionSource
    from augbench.reports.runs import load_runs
    from augbench.reports.stats import gap_closed

    preset = tmp_path / "p.yaml"
    preset.write_text(yaml.safe_dump({
        "name": "planted", "image_size": 28, "seeds": [0, 1, 2], "classifiers": ["small-cnn"],
        "subsample": {"train_per_class": 300, "eval_per_class": 200},
        "classifier": {"epochs": 6, "batch_size": 64, "lr": 0.002, "schedule": "cosine", "select": "last",
                       "eval_batch_size": 512},
        "fidelity": {"enabled": False}}))
    argv = ["run", "--dataset", "isic", "--generators", f"none,oversample,real,{planted_arm}", "--budget", "10",
            "--preset", str(preset), "--out", str(tmp_path / "out"), "--no-progress", "--device", "cpu",
            "--data-dir", str(data_dir)]
    spec = spec_from_args(build_parser().parse_args(argv))[0]
    result = run_grid(spec, show_progress=False, echo=lambda *a, **k: None)
    assert not result.failed, [o.error for o in result.failed]
    cells = load_runs(result.tracking_uri, result.experiment).cells
    source = PredictionSource(result.tracking_uri)

    def probs(arm):
        rows = cells[cells["arm"] == arm].sort_values("seed")
        assert len(rows) == 3, arm
        preds = [source.get(r) for r in rows["run_id"]]
        return np.stack([p.probs for p in preds]), preds[0].labels

    none, labels = probs("none")
    real, _ = probs("real")
    closed = {arm: gap_closed(probs(arm)[0], none, real, labels, "macro_auc") for arm in ("oversample", planted_arm)}
    assert all(c.resolved for c in closed.values()), closed
    assert closed["oversample"].estimate < closed[planted_arm].estimate < 1.0, closed

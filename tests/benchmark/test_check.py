"""`benchmark check` passes on unchanged code (determinism) and fails on a planted regression."""
import json

import numpy as np
import pytest

from augbench.benchmark.cli import main

GRID = {"datasets": ["pneumonia"], "generators": ["none", "classic"], "classifiers": ["small-cnn"],
        "budgets": [10], "seeds": [0], "preset": "smoke"}


@pytest.fixture()
def baseline(tmp_path, data_dir, capsys):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"grid": GRID, "metrics": ["test_balanced_accuracy", "test_minority_recall"],
                                "default_tolerance": 0.02}))
    assert main(["check", "--baseline", str(path), "--update-baseline", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    return path


@pytest.mark.slow
def test_check_holds_then_catches_a_generator_returning_noise(baseline, data_dir, capsys, monkeypatch):
    checks = json.loads(baseline.read_text())["checks"]
    assert {(c["arm"], c["metric"]) for c in checks} == {(a, m) for a in ("none", "classic")
                                                       for m in ("test_balanced_accuracy", "test_minority_recall")}
    # unchanged code, same seed: every metric holds (training is deterministic on CPU)
    assert main(["check", "--baseline", str(baseline), "--data-dir", str(data_dir)]) == 0
    assert "4/4 metrics hold" in capsys.readouterr().out

    # plant the regression: the classic arm now emits uniform noise instead of augmented images
    # (at budget 10 it lifts minority recall far above `none` on this split, so losing it shows)
    from augbench.generators.baselines import ClassicAugmentation

    def noise(self, label, n, *, seed):
        rng = np.random.default_rng(seed)
        return rng.integers(0, 256, (n, *self.image_shape), dtype=np.uint8)

    monkeypatch.setattr(ClassicAugmentation, "_sample", noise)
    assert main(["check", "--baseline", str(baseline), "--data-dir", str(data_dir)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out
    regressed = [line for line in out.splitlines() if line.startswith("| REGRESSED")]
    assert regressed and all("| classic |" in line for line in regressed)  # `none` is untouched


def test_check_rejects_missing_or_malformed_baseline(tmp_path, capsys):
    assert main(["check", "--baseline", str(tmp_path / "nope.json")]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"checks": []}))
    assert main(["check", "--baseline", str(bad)]) == 2
    assert "no 'grid' section" in capsys.readouterr().err


def test_a_baseline_grid_reaches_the_spec_with_its_overrides(tmp_path):
    """Every key of the baseline's grid is resolved like a grid file's: overrides were once dropped."""
    from augbench.benchmark.check import _grid_spec

    grid = {**GRID, "generators": ["none", "dcgan"], "image_size": 24, "val_budget": "full",
            "overrides": {"name": "short", "classifier": {"epochs": 2}, "generators": {"dcgan": {"steps": 3}}}}
    spec, opts, _ = _grid_spec(tmp_path / "baseline.json", grid, str(tmp_path / "out"), None)
    assert spec.preset["name"] == "smoke+short" and spec.preset["classifier"]["epochs"] == 2
    assert spec.preset["classifier"]["batch_size"] == 32  # merged into the smoke preset, not replacing it
    dcgan = next(f for f in spec.fits() if f.arm == "dcgan")
    assert dcgan.generator_config()["steps"] == 3 and spec.image_size == 24 and spec.val_budget == "full"
    assert spec.device == "cpu" and opts["executor"] == "local" and opts["jobs"] == 1
    assert spec.out_dir == str(tmp_path / "out")


def test_a_baseline_with_a_misspelt_override_stops_before_running(tmp_path, capsys):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"grid": {**GRID, "overrides": {"classifier": {"epoch": 2}}}}))
    out = tmp_path / "out"
    assert main(["check", "--baseline", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown classifier setting 'epoch'" in err and "did you mean 'epochs'" in err
    assert not out.exists()


def test_check_does_not_import_the_cli():
    import ast
    from pathlib import Path

    import augbench.benchmark.check as check

    tree = ast.parse(Path(check.__file__).read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "augbench.benchmark.cli" not in modules and "augbench.benchmark.gridfile" in modules


@pytest.mark.slow
def test_two_sided_check_fails_when_test_images_leak_into_training(baseline, data_dir, capsys, monkeypatch,
                                                                   tmp_path):
    """A leak raises the tiny-split metrics: the two-sided baseline calls that a failure (ROSE)."""
    assert {c["direction"] for c in json.loads(baseline.read_text())["checks"]} == {"both"}
    import augbench.classifiers.training as training
    from augbench.datasets import load_dataset
    from augbench.datasets.types import Split

    # the smoke preset's 28 px; the leak adds the whole test split (so every capped test image) 3 times
    test = load_dataset("pneumonia", data_dir=str(data_dir), image_size=28, cache_dir=str(tmp_path / "c")).test
    train = training.train_classifier

    def train_with_the_test_split(model, train_split, *args, **kwargs):
        leaked = Split(np.concatenate([train_split.images] + [test.images] * 3),
                       np.concatenate([train_split.labels] + [test.labels] * 3))
        return train(model, leaked, *args, **kwargs)

    monkeypatch.setattr(training, "train_classifier", train_with_the_test_split)
    assert main(["check", "--baseline", str(baseline), "--data-dir", str(data_dir)]) == 1
    out = capsys.readouterr().out
    rose = [line for line in out.splitlines() if line.startswith("| ROSE")]
    assert rose and "rose beyond tolerance" in out, out[-3000:]
    # the leak lifts `none` (which calls every image one class without it); a one-sided check passes that
    assert any("| none |" in line for line in rose)

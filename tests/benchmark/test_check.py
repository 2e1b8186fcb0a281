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

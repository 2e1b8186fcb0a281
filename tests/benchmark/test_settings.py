"""Typed settings: every mistake in a preset or a grid's overrides stops the grid before its first cell,
as one message naming the key and the keys allowed there; the classifier gets every TrainConfig field."""
import contextlib
import dataclasses
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from augbench.benchmark.cli import main
from augbench.benchmark.grid import GridSpec
from augbench.benchmark.presets import load_preset
from augbench.benchmark.settings import TRAIN_FIELDS, resolve_settings, train_config
from augbench.classifiers.training import TrainConfig
from augbench.core.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _one_error(err: str) -> tuple[str, str]:
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    fixes = [line for line in err.splitlines() if line.strip().startswith("fix: ")]
    assert len(errors) == 1 and len(fixes) == 1, err
    assert "Traceback" not in err
    return errors[0], fixes[0]


def _grid(tmp_path, extra: dict) -> str:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"dataset": "synthetic", "generators": "none,dcgan", "budgets": [10],
                                    "preset": "smoke", **extra}))
    return str(path)


# (grid-file content, the key the error line must name, keys the message must list as allowed)
BAD_GRIDS = {
    "misspelt-generator-setting": ({"overrides": {"generators": {"dcgan": {"stepz": 3}}}},
                                   "'stepz'", ["steps", "batch_size", "base_channels"]),
    "misspelt-classifier-key": ({"overrides": {"classifier": {"epoch": 3}}},
                                "'epoch'", ["epochs", "batch_size", "gamma", "milestones"]),
    "misspelt-top-level-override": ({"overrides": {"clasifier": {"epochs": 3}}},
                                    "'clasifier'", ["classifier", "generators", "fidelity"]),
    "classifier-value-type": ({"overrides": {"classifier": {"epochs": "ten"}}}, "epochs is 'ten'", []),
    "generator-value-type": ({"overrides": {"generators": {"dcgan": {"steps": "ten"}}}}, "steps is 'ten'", []),
    "fidelity-bare-off": ({"overrides": {"fidelity": {"inception": False}}}, "inception is False", ["'off'"]),
    "setting-for-a-no-settings-arm": ({"overrides": {"generators": {"none": {"steps": 3}}}}, "'steps'", []),
}


@pytest.mark.parametrize("extra, key, allowed", BAD_GRIDS.values(), ids=BAD_GRIDS)
def test_bad_override_stops_the_cli_before_any_cell(tmp_path, extra, key, allowed):
    out = tmp_path / "out"
    code, stdout, err = _cli(["run", "--config", _grid(tmp_path, extra), "--out", str(out), "--device", "cpu",
                              "--no-progress"])
    assert code == 2, stdout + err
    error, fix = _one_error(err)
    assert key in error, err
    for name in allowed:
        assert name in error + fix, err
    assert not out.exists()  # no store, no cache, no cell


def test_preset_entry_for_an_unknown_arm_is_refused(tmp_path):
    preset = load_preset("smoke")
    preset["generators"]["dcgn"] = {"steps": 3}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(preset))
    out = tmp_path / "out"
    code, _, err = _cli(["run", "--dataset", "synthetic", "--generators", "none", "--preset", str(path),
                         "--out", str(out)])
    assert code == 2
    error, fix = _one_error(err)
    assert "unknown generator 'dcgn'" in error and "did you mean 'dcgan'" in fix and "ddpm" in fix
    assert not out.exists()


def test_preset_file_with_a_misspelt_section_key_is_refused(tmp_path):
    preset = load_preset("smoke")
    preset["fidelity"]["domain_epoch"] = 3
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(preset))
    code, _, err = _cli(["run", "--dataset", "synthetic", "--generators", "none", "--preset", str(path),
                         "--out", str(tmp_path / "out")])
    assert code == 2
    error, fix = _one_error(err)
    assert "'domain_epoch'" in error and "did you mean 'domain_epochs'" in error and "inception_size" in fix


def test_the_real_cli_exits_non_zero_in_a_subprocess(tmp_path):
    out = tmp_path / "out"
    grid = _grid(tmp_path, {"overrides": {"classifier": {"epoch": 3}}})
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    proc = subprocess.run([sys.executable, "-m", "augbench.benchmark.cli", "run", "--config", grid, "--out", str(out),
                           "--device", "cpu"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    error, fix = _one_error(proc.stderr)
    assert "'epoch'" in error and "did you mean 'epochs'" in error and "epochs" in fix
    assert not out.exists()


def test_python_api_grid_with_a_bad_preset_fails_before_any_run(tmp_path):
    from augbench.benchmark.runner import run_grid

    preset = load_preset("smoke")
    preset["classifier"] = {**preset["classifier"], "epoch": 3}
    spec = GridSpec(datasets=["synthetic"], generators=["none"], classifiers=["small-cnn"], budgets=[10], seeds=[0],
                    preset=preset, image_size=28, out_dir=str(tmp_path / "out"))
    with pytest.raises(UserError, match="unknown classifier setting 'epoch'") as info:
        run_grid(spec, show_progress=False, echo=lambda *_: None)
    assert "epochs" in info.value.fix
    with sqlite3.connect(tmp_path / "out" / "mlflow.db") as con:
        assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    assert not (tmp_path / "out" / "cache" / "fits").exists()


def test_an_arm_without_a_preset_entry_runs_with_its_own_defaults(tmp_path):
    preset = load_preset("smoke")
    del preset["generators"]["dcgan"]
    settings = resolve_settings(preset)
    assert settings.generator("dcgan") == {} and settings.generator("ddpm") == preset["generators"]["ddpm"]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(preset))
    code, out, err = _cli(["run", "--dataset", "synthetic", "--generators", "dcgan", "--preset", str(path),
                           "--out", str(tmp_path / "out"), "--device", "cpu", "--dry-run"])
    assert code == 0, err


def test_overrides_only_override_what_they_name():
    smoke = load_preset("smoke")
    merged = {**smoke, "generators": {**smoke["generators"], "dcgan": {**smoke["generators"]["dcgan"], "steps": 3}}}
    settings = resolve_settings(merged)
    assert settings.generator("dcgan") == {"steps": 3, "batch_size": 32, "base_channels": 16}
    assert settings.classifier.epochs == 10 and settings.subsample.train_per_class == 120


# --- train_config ---------------------------------------------------------------------------------------
def test_every_train_config_field_reaches_the_classifier():
    block = {"epochs": 3, "batch_size": 7, "lr": 0.5, "weight_decay": 0.25, "milestones": [0.2], "gamma": 0.3,
             "amp": False, "eval_batch_size": 9, "cpu_bf16": "auto", "channels_last": False, "schedule": "cosine",
             "warmup": 0.2, "select": "last"}
    # the block above sets every field a preset may: a new TrainConfig field must be added here too
    per_cell = {"seed", "device", "steps_per_epoch"}
    assert set(block) == {f.name for f in dataclasses.fields(TrainConfig)} - per_cell == set(TRAIN_FIELDS)
    tc = train_config({**block, "weights": "w.pt"}, seed=4, device="cpu", steps_per_epoch=11)
    assert tc == TrainConfig(epochs=3, batch_size=7, lr=0.5, weight_decay=0.25, milestones=(0.2,), gamma=0.3,
                             amp=False, eval_batch_size=9, cpu_bf16="auto", channels_last=False, schedule="cosine",
                             warmup=0.2, select="last", seed=4,
                             device="cpu", steps_per_epoch=11)


def test_omitted_classifier_settings_take_the_one_default():
    tc = train_config({}, seed=0, device="cpu")
    assert tc.epochs == 5  # the harness's default, not TrainConfig's 10: what a preset without epochs always got
    assert (tc.batch_size, tc.lr, tc.weight_decay, tc.eval_batch_size, tc.cpu_bf16) == (128, 1e-3, 0.0, 512, False)
    assert (tc.milestones, tc.gamma, tc.amp, tc.channels_last, tc.steps_per_epoch) == ((0.5, 0.75), 0.1, True, True,
                                                                                      None)


@pytest.mark.parametrize("name, epochs, batch, eval_batch, lr, schedule, select", [
    ("smoke", 10, 32, 512, 0.001, "multistep", "val_auc"),
    ("quick", 6, 128, 1024, 0.002, "cosine", "last"),  # 330 steps on isic (docs/performance.md, learning curve)
    ("paper", 100, 128, 1024, 0.001, "multistep", "val_auc")])
def test_shipped_presets_train_as_recorded(name, epochs, batch, eval_batch, lr, schedule, select):
    settings = resolve_settings(load_preset(name))
    tc = train_config(settings.classifier, seed=2, device="cpu", steps_per_epoch=6)
    assert tc == TrainConfig(epochs=epochs, batch_size=batch, lr=lr, weight_decay=0.0, milestones=(0.5, 0.75),
                             gamma=0.1, seed=2, device="cpu", amp=True, eval_batch_size=eval_batch,
                             cpu_bf16="auto" if name == "quick" else False,
                             channels_last=True, steps_per_epoch=6, schedule=schedule, warmup=0.05, select=select)
    assert train_config(load_preset(name)["classifier"], seed=2, device="cpu", steps_per_epoch=6) == tc


@pytest.mark.parametrize("block, needle", [
    ({"seed": 3}, "unknown classifier setting 'seed'"),  # set per cell, never by a preset
    ({"epochs": 0}, "epochs is 0, not a whole number >= 1"),
    ({"epochs": True}, "epochs is True, not a whole number"),
    ({"lr": "fast"}, "lr is 'fast', not a number"),
    ({"cpu_bf16": "sometimes"}, "cpu_bf16='sometimes' is not a precision setting"),
    ({"milestones": "half"}, "milestones is 'half', not a list"),
])
def test_bad_classifier_blocks(block, needle):
    with pytest.raises(UserError, match=needle):
        train_config(block, seed=0, device="cpu")


def test_a_yaml_exponent_without_a_dot_is_still_a_number():
    """YAML 1.1 reads `lr: 1e-3` as the text '1e-3'; the harness always took it as 0.001."""
    assert yaml.safe_load("lr: 1e-3")["lr"] == "1e-3"
    assert train_config({"lr": "1e-3"}, seed=0, device="cpu").lr == 0.001

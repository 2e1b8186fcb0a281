"""Command-line ``key=value`` settings and named arm variants: the same typed settings as grid files,
checked before the first cell."""
import subprocess
import sys

import pytest
import yaml

from augbench.benchmark.cli import build_parser, main
from augbench.benchmark.gridfile import spec_from_args
from augbench.benchmark.overrides import parse_overrides
from augbench.core.errors import UserError
from augbench.generators import create_generator, expand_generators


def test_dotted_keys_nest_and_values_read_as_yaml_scalars():
    got = parse_overrides(["classifier.epochs=20", "generators.ddpm.guidance_scale=3.0", "fidelity.enabled=false",
                           "seeds=[0,1]", "image_size=32", "generators.ddpm.schedule=linear"])
    assert got == {"classifier": {"epochs": 20}, "generators": {"ddpm": {"guidance_scale": 3.0, "schedule": "linear"}},
                   "fidelity": {"enabled": False}, "seeds": [0, 1], "image_size": 32}
    assert isinstance(got["classifier"]["epochs"], int) and isinstance(got["fidelity"]["enabled"], bool)
    assert parse_overrides(["compute.flops=2e12"]) == {"compute": {"flops": 2e12}}  # YAML 1.1 would keep text


@pytest.mark.parametrize("pair, words", [
    ("classifier.epochs", ["KEY=VALUE"]),
    ("clasifier.epochs=3", ["'clasifier'", "did you mean 'classifier'"]),
    ("generators.ddpm=3", ["generators.<arm>.<setting>"]),
    ("classifier.opt.lr=1", ["classifier takes 2"]),
])
def test_malformed_keys_say_what_shape_is_expected(pair, words):
    with pytest.raises(UserError) as err:
        parse_overrides([pair])
    text = f"{err.value.problem} {err.value.fix}"
    assert all(w in text for w in words), text


def _spec(argv):
    args = build_parser().parse_args(["run", "--dataset", "pneumonia", "--preset", "smoke", *argv])
    return spec_from_args(args)


def test_command_line_settings_reach_the_fit_and_rename_the_preset():
    spec, _, shown = _spec(["--generators", "none,ddpm", "generators.ddpm.steps=5", "classifier.epochs=2"])
    fits = {f.arm: f for f in spec.fits() if f.budget == spec.budgets[0]}
    assert fits["ddpm"].generator_config()["steps"] == 5
    assert spec.preset["classifier"]["epochs"] == 2
    assert spec.preset["name"].startswith("smoke+custom-")  # never paired with the unmodified preset
    assert "generators.ddpm.steps=5" in shown["overrides"]
    plain, _, _ = _spec(["--generators", "none,ddpm"])
    assert plain.preset["name"] == "smoke"
    assert {f.hash for f in plain.fits()}.isdisjoint(f.hash for f in spec.fits() if f.arm == "ddpm")


def test_command_line_wins_over_the_grid_file(tmp_path):
    grid = tmp_path / "g.yaml"
    grid.write_text(yaml.safe_dump({"overrides": {"classifier": {"epochs": 7, "lr": 0.01}}}))
    spec, _, _ = _spec(["--config", str(grid), "classifier.epochs=3"])
    assert spec.preset["classifier"]["epochs"] == 3 and spec.preset["classifier"]["lr"] == 0.01


def test_misspelt_arm_setting_fails_before_any_cell_and_names_the_real_one(tmp_path, data_dir):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "augbench.benchmark.cli", "run", "--dataset", "pneumonia", "--generators", "ddpm",
           "--preset", "smoke", "--data-dir", str(data_dir), "--out", str(out), "generators.ddpm.stepz=5"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "'stepz'" in result.stderr and "did you mean 'steps'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / "mlflow.db").exists()  # nothing was started


def test_variant_inherits_its_base_settings_and_changes_one(tmp_path):
    spec, _, _ = _spec(["--generators", "ddpm,ddpm@g3", "generators.ddpm.steps=5",
                        "generators.ddpm@g3.guidance_scale=3.0"])
    fits = {f.arm: f for f in spec.fits() if f.budget == spec.budgets[0]}
    base, variant = fits["ddpm"].generator_config(), fits["ddpm@g3"].generator_config()
    assert variant == {**base, "guidance_scale": 3.0} and base.get("guidance_scale") != 3.0
    assert fits["ddpm"].hash != fits["ddpm@g3"].hash
    assert [c.fit.arm for c in spec.cells() if c.fit.budget == spec.budgets[0]] == ["ddpm", "ddpm@g3"]
    assert create_generator("ddpm@g3", **variant).config["guidance_scale"] == 3.0


def test_grid_file_lists_two_entries_of_one_arm_under_their_own_labels(tmp_path):
    grid = tmp_path / "variants.yaml"
    grid.write_text("generators:\n  - none\n  - ddpm: {steps: 5}\n  - ddpm@g3: {steps: 5, guidance_scale: 3.0}\n")
    spec, _, _ = _spec(["--config", str(grid)])
    assert spec.generators == ["none", "ddpm", "ddpm@g3"]
    fits = {f.arm: f.generator_config() for f in spec.fits() if f.budget == spec.budgets[0]}
    assert fits["ddpm"]["steps"] == 5 and fits["ddpm@g3"]["guidance_scale"] == 3.0
    assert "guidance_scale" not in fits["ddpm"] or fits["ddpm"]["guidance_scale"] != 3.0


@pytest.mark.parametrize("spec, words", [("ddpm@", "needs a label"), ("ddpm@a.b", "needs a label"),
                                         ("dpm@g3", "unknown generator")])
def test_bad_variant_names_are_refused(spec, words):
    with pytest.raises(UserError, match=words):
        expand_generators([spec])


def test_a_variant_setting_is_checked_against_the_base_arm(tmp_path, capsys):
    assert main(["run", "--dataset", "pneumonia", "--preset", "smoke", "--generators", "ddpm@g3", "--dry-run",
                 "generators.ddpm@g3.guidance=3"]) == 2
    err = capsys.readouterr().err
    assert "'guidance'" in err and "guidance_scale" in err

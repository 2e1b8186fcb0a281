"""`benchmark run --dry-run`: the expanded grid, what is finished or cached, an estimate; trains nothing."""
import dataclasses
import re

import pytest

from augbench.benchmark.cli import main
from augbench.benchmark.dryrun import estimate_seconds
from tests.benchmark._runner_support import run_argv, spec_for, tiny_preset


def _rows(printed: str) -> list[list[str]]:
    return [line.split(None, 3) for line in printed.splitlines() if re.match(r"^\s+\d+\s+(pending|finished)", line)]


def test_dry_run_lists_cells_and_state(tmp_path, capsys):
    out = tmp_path / "out"
    preset = tiny_preset(tmp_path)
    argv = run_argv(out, preset, generators="none,oversample", budget="10,20")
    assert main([*argv, "--dry-run"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert len(rows) == 4 and all(r[1] == "pending" and r[2] == "no" for r in rows)
    assert not (out / "mlflow.db").exists() and not (out / "cache" / "fits").exists()

    assert main(run_argv(out, preset, generators="none", budget="10")) == 0  # one cell done for real
    capsys.readouterr()
    assert main([*argv, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    rows = {r[3]: r[1:3] for r in _rows(printed)}
    assert rows["synthetic b=10 s=0 none small-cnn"] == ["finished", "yes"]
    assert rows["synthetic b=20 s=0 oversample small-cnn"] == ["pending", "no"]
    assert "4 cells (3 pending), 4 generator fits (3 not cached)" in printed


def test_estimate_grows_with_the_work(tmp_path):
    preset = tiny_preset(tmp_path)
    small = spec_for(run_argv(tmp_path, preset, generators="none", budget="10"))
    big = spec_for(run_argv(tmp_path, preset, generators="none,dcgan", budget="10,20"))
    t_small = estimate_seconds(small, 1000, 500, small.fits(), small.cells())
    t_big = estimate_seconds(big, 1000, 500, big.fits(), big.cells())
    assert 0 < t_small < t_big
    assert estimate_seconds(big, 1000, 500, [], []) == 0  # nothing pending: nothing to wait for


def test_a_flops_budget_sets_the_fit_estimate_and_a_pool_shortens_it(tmp_path, capsys):
    """Under compute: {budget: flops}, a fit costs what its FLOPs cost, whatever the preset's steps say."""
    from augbench.benchmark.dryrun import estimate_parts, pool_minutes

    preset = tiny_preset(tmp_path)
    spec = spec_for(run_argv(tmp_path, preset, generators="dcgan", budget="10"))

    def fit_seconds(compute, preset=None):
        # a new spec, resolved afresh: the settings are typed once, when a spec is made
        changed = dataclasses.replace(spec, preset={**(preset or spec.preset), "compute": compute}, settings=None)
        return estimate_parts(changed, 1000, 500, changed.fits(), [])["generator fits"]

    small, large = fit_seconds({"budget": "flops", "flops": 1e11}), fit_seconds({"budget": "flops", "flops": 4e11})
    assert 0 < small < large
    # the budget's seconds scale with the FLOPs, the sampling allowance does not
    double = fit_seconds({"budget": "flops", "flops": 2e11})
    assert (large - small) == pytest.approx(3 * (double - small))
    longer = {**spec.preset, "generators": {"dcgan": {**spec.preset["generators"]["dcgan"], "steps": 10_000}}}
    assert fit_seconds({"budget": "flops", "flops": 1e11}, longer) == pytest.approx(small)  # steps do not bound it
    sampling = small - (double - small)  # what 1e11 FLOPs cost on top of sampling, taken off once
    assert fit_seconds({"budget": "seconds", "seconds": 90}) == pytest.approx(90 + sampling)  # wall time as given
    assert 5 < pool_minutes(600, 2) < 10  # 10 min of two-thread work in two one-thread workers: faster, not 2x

    assert main([*run_argv(tmp_path, preset, generators="none,oversample", budget="10"), "--jobs", "2",
                 "--dry-run"]) == 0
    assert "in 2 parallel jobs of one thread each" in capsys.readouterr().out


@pytest.mark.parametrize("arm", ["lsgan", "latent-smote", "bagan"])
def test_an_arm_the_preset_leaves_out_is_estimated_at_its_own_default_length(tmp_path, arm):
    """The tiny preset has an entry for dcgan only: the other arms run on their defaults, and the
    estimate charges them their default length, not zero steps."""
    import math

    from augbench.benchmark.dryrun import GENERATOR_STEP_S, SAMPLE_S, estimate_parts
    from augbench.generators import create_generator

    spec = spec_for(run_argv(tmp_path, tiny_preset(tmp_path), "--image-size", "28", generators=arm, budget="10"))
    assert arm not in spec.preset["generators"]
    n_train = 1000
    defaults = create_generator(arm).config  # the arm's own defaults, read off the class
    if defaults.get("steps"):  # lsgan: a step count
        steps = defaults["steps"]
    else:  # latent-smote: epochs of ceil(n / batch) steps; bagan: gan_epochs of them (gan_steps 0)
        epochs = defaults.get("gan_epochs") if "gan_epochs" in defaults else defaults["epochs"]
        steps = epochs * math.ceil(n_train / defaults["batch_size"])
    assert steps > 0
    seconds = estimate_parts(spec, n_train, 500, spec.fits(), [])["generator fits"]
    assert seconds == pytest.approx(steps * GENERATOR_STEP_S[arm] + SAMPLE_S.get(arm, 1.0))

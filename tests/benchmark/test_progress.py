"""The grid bar's ETA is weighted by the cost model, and fits and trainings show a step line."""
import re

from augbench.benchmark.cli import build_parser, main
from augbench.benchmark.gridfile import spec_from_args
from augbench.benchmark.dryrun import cell_costs
from augbench.benchmark.progress import GridBar
from augbench.benchmark.runner import CellOutcome


def _groups(argv):
    spec, _, _ = spec_from_args(build_parser().parse_args(["run", "--dataset", "pneumonia", "--preset", "smoke",
                                                           "--budget", "10", *argv]))
    groups = {}
    for cell in spec.cells():
        groups.setdefault(cell.fit.hash, (cell.fit, []))[1].append(cell)
    return spec, list(groups.values())


def test_a_learned_fit_weighs_more_than_a_baseline_and_is_charged_once(data_dir):
    spec, groups = _groups(["--generators", "none,ddpm", "--classifiers", "small-cnn,resnet18",
                            "--data-dir", str(data_dir)])
    costs = cell_costs(spec, groups)
    by_arm = {fit.arm: [costs[c.hash] for c in cells] for fit, cells in groups}
    assert by_arm["ddpm"][0] > 3 * by_arm["none"][0]  # the fit rides on its group's first cell
    # the second cell of each group pays its classifier only: the same for both arms
    assert abs(by_arm["ddpm"][1] - by_arm["none"][1]) < 1e-9


def test_bar_advances_by_cost_not_by_cell_count():
    bar = GridBar({"cheap": 1.0, "dear": 99.0}, total_cells=2)
    try:
        bar.advance(CellOutcome("a cell", "cheap", "FINISHED"))
        state = bar.bar.format_dict
        assert state["n"] == 1.0 and state["total"] == 100.0  # 1 % done, not 50 %
        assert "cells 1/2" in bar.bar.desc
    finally:
        bar.close()


def test_fit_and_training_show_step_lines(tmp_path, data_dir, capfd):
    assert main(["run", "--dataset", "pneumonia", "--generators", "dcgan", "--preset", "smoke", "--budget", "10",
                 "--data-dir", str(data_dir), "--out", str(tmp_path / "out"), "generators.dcgan.steps=200"]) == 0
    err = capfd.readouterr().err.replace("\r", "\n")
    fit_lines = [line for line in err.splitlines() if "fit pneumonia b=10 s=0 dcgan" in line]
    assert any(re.search(r"\d+/200 .*step/s.*d_loss=", line) for line in fit_lines), fit_lines[-5:]
    assert any("train pneumonia b=10 s=0 dcgan small-cnn" in line for line in err.splitlines())
    assert "augbench cells 1/1" in err

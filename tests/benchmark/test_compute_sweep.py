"""--gen-budget 1x,2x: learned arms as @Nx variants that get N times the compute, and the report's
metric-vs-compute figure, on a real smoke grid."""
import mlflow
import pytest

from augbench.benchmark.cli import build_parser, main
from augbench.benchmark.gridfile import spec_from_args
from augbench.core.errors import UserError
from augbench.core.values import ArmName
from augbench.reports.build import build_report


def test_sweep_expands_only_learned_arms():
    spec, _, _ = spec_from_args(build_parser().parse_args(
        ["run", "--dataset", "pneumonia", "--preset", "smoke", "--generators", "none,dcgan,ddpm",
         "--gen-budget", "1x,4x,0.5x"]))
    assert spec.generators == ["none", "dcgan", "dcgan@4x", "dcgan@0_5x", "ddpm", "ddpm@4x", "ddpm@0_5x"]
    assert [ArmName.parse(a).scale for a in spec.generators] == [None, None, 4.0, 0.5, None, 4.0, 0.5]
    fits = {f.arm: f for f in spec.fits() if f.budget == spec.budgets[0]}
    assert fits["dcgan@4x"].config()["gen_scale"] == 4.0 and "gen_scale" not in fits["dcgan"].config()
    assert fits["dcgan@4x"].cells()[0].pair_key() == fits["none"].cells()[0].pair_key()  # compared with none
    with pytest.raises(UserError, match="multiple"):
        spec_from_args(build_parser().parse_args(["run", "--dataset", "pneumonia", "--gen-budget", "lots"]))


def test_a_2x_variant_trains_twice_the_steps_and_the_report_plots_it(tmp_path, data_dir):
    out = tmp_path / "out"
    assert main(["run", "--dataset", "pneumonia", "--generators", "none,dcgan", "--preset", "smoke", "--budget", "10",
                 "--gen-budget", "1x,2x", "--data-dir", str(data_dir), "--out", str(out), "--no-progress",
                 "fidelity.enabled=false"]) == 0
    client = mlflow.MlflowClient(f"sqlite:///{out / 'mlflow.db'}")
    fits = {r.data.params["arm"]: r.data for r in client.search_runs(["1"], "tags.`augbench.kind` = 'generator'")}
    one, two = fits["dcgan"], fits["dcgan@2x"]
    assert int(two.params["gen.steps"]) == 2 * int(one.params["gen.steps"])
    assert two.metrics["compute_flops"] == pytest.approx(2 * one.metrics["compute_flops"])
    report = build_report(f"sqlite:///{out / 'mlflow.db'}", "augbench", figures=True)
    figures = [f for f in report.figures if f.key.startswith("metric_vs_compute")]
    assert len(figures) == 1 and figures[0].png.startswith(b"\x89PNG") and figures[0].section == "compute"

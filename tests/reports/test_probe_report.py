"""The report reads the convergence probe back: curves as a figure, unfinished arms as a warning."""
import mlflow
import pandas as pd

from augbench.benchmark.cli import main
from augbench.benchmark.probe import FRACTIONS
from augbench.reports.build import build_report, probe_warnings


def test_warning_names_each_arm_budget_and_seed_still_improving():
    fits = pd.DataFrame({"dataset": ["isic"] * 4, "arm": ["dcgan", "dcgan", "ddpm", "cwgan-gp"],
                         "budget": ["50", "10", "10", "10"], "seed": [1, 0, 0, 0],
                         "params.probe_verdict": ["still improving", "still improving", "plateaued", "diverged"]})
    lines = probe_warnings(fits)
    assert len(lines) == 2
    assert lines[0].startswith("Still improving") and "dcgan on isic (budget 10 seed(s) 0, budget 50 seed(s) 1)" in lines[0]
    assert "lower bound" in lines[0] and "ddpm" not in lines[0]
    assert lines[1].startswith("Diverged") and "cwgan-gp on isic" in lines[1]
    assert probe_warnings(fits.drop(columns=["params.probe_verdict"])) == []


def test_probe_history_is_logged_and_drawn(tmp_path, data_dir):
    out = tmp_path / "out"
    assert main(["run", "--dataset", "pneumonia", "--generators", "none,dcgan", "--preset", "smoke", "--budget", "10",
                 "--data-dir", str(data_dir), "--out", str(out), "--no-progress", "generators.dcgan.steps=60"]) == 0
    uri = f"sqlite:///{out / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    (fit,) = client.search_runs(["1"], "tags.`augbench.kind` = 'generator' and params.arm = 'dcgan'")
    history = client.get_metric_history(fit.info.run_id, "probe_fid_mean")
    assert sorted(m.step for m in history) == [round(f * 60 + 0.4999) for f in FRACTIONS]
    assert fit.data.params["probe_verdict"] in ("plateaued", "still improving", "diverged")
    report = build_report(uri, "augbench", figures=True)
    (figure,) = [f for f in report.figures if f.key.startswith("probe")]
    assert figure.png.startswith(b"\x89PNG")
    none_fit = client.search_runs(["1"], "tags.`augbench.kind` = 'generator' and params.arm = 'none'")[0]
    assert "probe_verdict" not in none_fit.data.params  # arms that do not train are not probed

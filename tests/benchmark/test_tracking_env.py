"""MLflow's own environment variables: --tracking-uri / --experiment (or the grid file) beat
$MLFLOW_TRACKING_URI / $MLFLOW_EXPERIMENT_NAME, which beat the embedded sqlite store; the run header
says which won. Checked end to end against a real `mlflow server` on 127.0.0.1."""
import mlflow
import pytest

from augbench.benchmark.cli import main
from augbench.benchmark.gridfile import spec_from_grid
from augbench.benchmark.store import chosen_experiment, chosen_tracking_uri

GRID = {"datasets": ["pneumonia"], "generators": ["none"], "classifiers": ["small-cnn"], "budgets": [10],
        "seeds": [0], "preset": "smoke"}


def test_precedence_flag_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    assert chosen_tracking_uri(None) == (None, "default: embedded sqlite under --out")
    assert chosen_experiment(None) == ("augbench", "default")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "team")
    assert chosen_tracking_uri(None) == ("http://127.0.0.1:9", "$MLFLOW_TRACKING_URI")
    assert chosen_experiment(None) == ("team", "$MLFLOW_EXPERIMENT_NAME")
    assert chosen_tracking_uri("sqlite:///x.db")[0] == "sqlite:///x.db"
    assert chosen_experiment("mine")[0] == "mine"


def test_the_run_header_names_the_store_that_won(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "team")
    spec, _, shown = spec_from_grid(GRID, "test", out=str(tmp_path), device="cpu", executor="local", jobs=1)
    assert spec.tracking_uri == "http://127.0.0.1:9" and spec.experiment == "team"
    assert shown["tracking"] == "http://127.0.0.1:9 ($MLFLOW_TRACKING_URI)"
    assert shown["experiment"] == "team ($MLFLOW_EXPERIMENT_NAME)"
    flagged, _, shown = spec_from_grid(GRID, "test", out=str(tmp_path), device="cpu", executor="local", jobs=1,
                                       tracking_uri="sqlite:///mine.db", experiment="mine")
    assert flagged.tracking_uri == "sqlite:///mine.db" and flagged.experiment == "mine"
    assert "--tracking-uri" in shown["tracking"] and "--experiment" in shown["experiment"]


@pytest.mark.slow
def test_a_shell_pointed_at_a_server_writes_there(mlflow_server, tmp_path, data_dir, monkeypatch, capsys):
    server = mlflow_server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "team-experiment")
    out = tmp_path / "out"
    argv = ["run", "--dataset", "pneumonia", "--generators", "none", "--budget", "10", "--seeds", "0",
            "--preset", "smoke", "--data-dir", str(data_dir), "--out", str(out), "--no-progress",
            "classifier.epochs=1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"{server} ($MLFLOW_TRACKING_URI)" in printed and "team-experiment ($MLFLOW_EXPERIMENT_NAME)" in printed
    assert not (out / "mlflow.db").exists()  # nothing went to the embedded store
    client = mlflow.MlflowClient(server)
    experiment = client.get_experiment_by_name("team-experiment")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], "tags.`augbench.kind` = 'cell'")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    # `benchmark report` reads the same store and experiment from the environment
    assert main(["report", "--out", str(out), "--format", "md"]) == 0
    report = (out / "report" / "report.md").read_text()
    assert "| none |" in report and "team-experiment" in report


def test_reading_a_store_leaves_the_process_environment_alone(tmp_path, monkeypatch):
    """mlflow.set_tracking_uri also sets $MLFLOW_TRACKING_URI; the report's reads put it back, so a
    second `benchmark run` in the same process does not take the first one's store for the user's."""
    import os

    from augbench.benchmark.tracking import Tracker
    from augbench.reports.runs import search_runs

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    Tracker(uri, "augbench")
    search_runs(uri, "augbench", kind="cell")
    assert "MLFLOW_TRACKING_URI" not in os.environ
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    search_runs(uri, "augbench", kind="cell")
    assert os.environ["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:9"

"""`benchmark report` / `benchmark ui` from the command line: outputs written, bad input explained."""
import socket

import pytest
from mlflow import MlflowClient
from PIL import Image

from augbench.benchmark.cli import main
from augbench.core.errors import UserError


def test_report_prints_markdown_by_default(store, capsys):
    assert main(["report", "--tracking-uri", store]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# augbench report")
    assert "## Main tables" in out and "## Statistics: each arm against none" in out
    assert "## Per class" in out and "## Fidelity" in out
    assert "| arm | budget 10 | budget all |" in out


def test_report_writes_every_format(store, tmp_path, capsys):
    out_dir = tmp_path / "rep"
    assert main(["report", "--tracking-uri", store, "--metric", "macro_auc", "--budget", "all", "--format",
                 "md,csv,latex,html,png", "--output-dir", str(out_dir), "--grid-id", "gridfixture01",
                 "--dataset", "toy", "--attach"]) == 0
    printed = capsys.readouterr().out
    md = (out_dir / "report.md").read_text()
    assert "test_macro_auc — dataset toy" in md and "test_balanced_accuracy" not in md  # only the asked metric
    assert "Per class at budget all" in md
    csvs = sorted(p.name for p in (out_dir / "csv").iterdir())
    assert any(n.startswith("main_test_macro_auc_toy_small-cnn_fixture") for n in csvs)  # config in the name
    assert any(n.startswith("fidelity_") for n in csvs) and any(n.startswith("pairwise_") for n in csvs)
    assert r"\begin{tabular}" in (out_dir / "report.tex").read_text()
    assert "<table" in (out_dir / "report.html").read_text()
    pngs = list((out_dir / "figures").glob("*.png"))
    assert pngs and all(Image.open(p).format == "PNG" for p in pngs)
    assert f"wrote {out_dir / 'report.html'}" in printed
    # --attach: the grid's parent run now carries the report for the MLflow UI
    client = MlflowClient(tracking_uri=store)
    exp = client.get_experiment_by_name("augbench")
    parent = client.search_runs([exp.experiment_id], "tags.`augbench.kind` = 'grid'")[0]
    attached = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.html", "report/report.md", "report/report.tex"} <= attached


def test_attach_needs_files(store, capsys):
    assert main(["report", "--tracking-uri", store, "--attach"]) == 2
    assert "--attach needs files" in capsys.readouterr().err


def _error(capsys) -> str:
    return capsys.readouterr().err


def test_unknown_metric_names_close_matches(store, capsys):
    assert main(["report", "--tracking-uri", store, "--metric", "test_balanced_acc"]) == 2
    err = _error(capsys)
    assert "error: metric 'test_balanced_acc' was not logged" in err and "test_balanced_accuracy" in err
    assert "fix:" in err


def test_unknown_budget_and_format(store, capsys):
    assert main(["report", "--tracking-uri", store, "--budget", "77"]) == 2
    assert "budget 77 has no runs" in _error(capsys)
    assert main(["report", "--tracking-uri", store, "--format", "pdf"]) == 2
    assert "unknown report format(s): pdf" in _error(capsys)


def test_empty_selection_and_missing_store(store, tmp_path, capsys):
    assert main(["report", "--tracking-uri", store, "--grid-id", "no-such-grid"]) == 2
    assert "no finished classifier runs" in _error(capsys)
    assert main(["report", "--out", str(tmp_path / "nothing")]) == 2
    assert "no mlflow.db" in _error(capsys)


def test_ui_refuses_a_busy_port(store, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["ui", "--tracking-uri", store, "--port", str(port)]) == 2
    err = _error(capsys)
    assert f"port {port}" in err and "--port" in err


def test_report_budget_is_matched_as_a_budget_not_as_text(store, capsys):
    """`--budget 12.50%` names the runs stored as 12.5% (and ALL the ones stored as all)."""
    from types import SimpleNamespace

    import pandas as pd

    from augbench.reports.build import resolve_budget

    runs = SimpleNamespace(cells=pd.DataFrame({"budget": ["10", "12.5%", "all"]}))
    assert resolve_budget("12.50%", runs) == "12.5%" and resolve_budget("12.5%", runs) == "12.5%"
    assert resolve_budget(" 10 ", runs) == "10" and resolve_budget("ALL", runs) == "all"
    assert resolve_budget(None, runs) == "10"  # the smallest
    with pytest.raises(UserError, match="budget 5% has no runs"):
        resolve_budget("5.0%", runs)
    with pytest.raises(UserError, match="is not a number"):
        resolve_budget("ten", runs)

    assert main(["report", "--tracking-uri", store, "--budget", "ALL"]) == 0  # the fixture store's 'all'
    assert "Per class at budget all" in capsys.readouterr().out

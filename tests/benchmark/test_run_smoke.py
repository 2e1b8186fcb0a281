"""End to end on real data: `benchmark run` -> MLflow runs with per-class metrics -> resume -> report."""
import mlflow
import numpy as np
import pytest

from augbench.benchmark.cli import main
from augbench.benchmark.store import default_tracking_uri
from augbench.reports.runs import TAG_HASH, search_runs

ARMS = "none,class-weighted,oversample,classic"


def _cells(out, status="FINISHED"):
    return search_runs(default_tracking_uri(out), "augbench", kind="cell", status=status)


@pytest.mark.slow
def test_pneumonia_smoke_run_resume_and_report(tmp_path, data_dir, capsys):
    out = tmp_path / "out"
    argv = ["run", "--dataset", "pneumonia", "--generators", ARMS, "--budget", "10,50", "--seeds", "0",
            "--preset", "smoke", "--data-dir", str(data_dir), "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "test_macro_auc" in printed and "(n=1)" in printed  # summary table says n
    runs = _cells(out)
    assert len(runs) == 8  # 2 budgets x 4 arms x 1 classifier
    assert set(runs["params.arm"]) == set(ARMS.split(","))
    assert set(runs["params.budget"]) == {"10", "50"}
    for key in ("test_recall_normal", "test_recall_pneumonia", "test_precision_normal", "test_auc_pneumonia",
                "test_f1_normal", "test_balanced_accuracy", "test_macro_auc", "test_minority_recall"):
        assert runs[f"metrics.{key}"].notna().all(), key
    # the budget is applied to the minority class (normal) only, with the counts recorded
    assert set(runs["params.effective_normal"]) == {"10", "50"}
    oversampled = runs[runs["params.arm"] == "oversample"]
    assert (oversampled["params.n_train_synthetic"].astype(int) > 0).all()
    assert (runs[runs["params.arm"] == "none"]["params.n_train_synthetic"].astype(int) == 0).all()
    assert runs[f"tags.{TAG_HASH}"].nunique() == 8
    # confusion matrix artifact
    client = mlflow.MlflowClient(default_tracking_uri(out))
    names = [a.path for a in client.list_artifacts(runs.iloc[0]["run_id"])]
    assert "confusion_matrix_test.csv" in names and "predictions_test.npz" in names
    local = client.download_artifacts(runs.iloc[0]["run_id"], "predictions_test.npz", str(tmp_path))
    with np.load(local) as pred:
        assert pred["probs"].shape == (int(runs.iloc[0]["params.n_test"]), 2)
        assert np.allclose(pred["probs"].sum(axis=1), 1.0, atol=1e-4)
    # equal compute: every arm of one (dataset, budget, seed) takes the same optimiser steps and images
    for budget, at in runs.groupby("params.budget"):
        assert at["metrics.train_steps"].nunique() == 1, budget
        assert at["metrics.images_seen"].nunique() == 1, budget
        assert at["metrics.train_steps"].iloc[0] > 0
    # budget-true validation: the smoke cap (120 train / 40 val per class) scaled by B / 120, per the
    # protocol's max(1, round(B * n_val / n_train)); the majority class keeps its 40
    expected_val = {"10": max(1, round(10 * 40 / 120)), "50": max(1, round(50 * 40 / 120))}
    for budget, at in runs.groupby("params.budget"):
        assert set(at["params.n_val_normal"].astype(int)) == {expected_val[budget]}
        assert set(at["params.n_val"].astype(int)) == {expected_val[budget] + 40}
        assert set(at["params.val_budget"]) == {"budgeted"}

    # same command again: nothing reruns, no duplicates
    assert main(argv) == 0
    assert "8 already finished, 0 to run" in capsys.readouterr().out
    assert len(_cells(out)) == 8

    assert main(["report", "--out", str(out)]) == 0
    report = capsys.readouterr().out
    assert "| arm |" in report and "budget 10" in report and "oversample" in report


@pytest.mark.slow
def test_isic_smoke_logs_metrics_named_by_class(tmp_path, data_dir):
    out = tmp_path / "out"
    assert main(["run", "--dataset", "isic", "--generators", "none,oversample", "--budget", "10", "--preset", "smoke",
                 "--data-dir", str(data_dir), "--out", str(out), "--no-progress"]) == 0
    runs = _cells(out)
    assert len(runs) == 2
    for cls in ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"):
        assert runs[f"metrics.test_recall_{cls}"].notna().all()
    # nv is the largest class: not a minority, so no budget on it
    assert "params.effective_nv" not in runs or runs["params.effective_nv"].isna().all()
    assert set(runs["params.effective_df"]) == {"10"}

"""The report scores each run once and reuses it everywhere: the same tables as rescoring per comparison.

The store is written through the runner's own writers (Tracker, the grid's cell params, benchmark.metrics,
the cell's predictions logger: _store.py) with simulated probabilities of five arms, three seeds, two budgets and
clustered test subjects, so every table family takes the seeds x test-images bootstrap path.
"""
import numpy as np
import pytest

from augbench.benchmark.metrics import classification_metrics
from augbench.core.layout import KIND_CELL, TAG_GRID
from augbench.reports.build import build_report, report_markdown
from augbench.reports.simulate import Scenario, simulate, subject_ids
from augbench.reports.stats import KIND_BOTH

from ._store import cell_params, log_predictions, open_store
from .test_control_tables import FakeSource

SCENARIO = Scenario(class_counts=(120, 40, 15), views=2)
CLASSES = ["nv", "mel", "df"]
ARMS = {"none": 0.0, "oversample": 0.05, "dcgan": -0.05, "cwgan-gp": 0.02, "real": 0.4}


@pytest.fixture(scope="module")
def store(fast_dir):
    tracker = open_store(fast_dir / "shared-scores")
    groups, _ = subject_ids(SCENARIO)
    rng = np.random.default_rng(11)
    for budget in ("10", "50"):
        for arm, effect in ARMS.items():
            probs, _, labels = simulate(rng, 3, Scenario(**{**SCENARIO.__dict__, "effect": effect}))
            for seed in range(3):
                params = cell_params("toy", budget, seed, arm, "small-cnn", minority="mel,df")
                run_id = tracker.start(KIND_CELL, f"{arm}-{budget}-{seed}", f"{arm} {budget} {seed}", params=params,
                                       tags={TAG_GRID: "g-shared"})
                log_predictions(tracker, run_id, probs[seed], labels, class_names=CLASSES,
                                ids=np.array([f"img{i}" for i in range(len(labels))]), groups=groups)
                tracker.log_metrics(run_id, classification_metrics(labels, probs[seed], CLASSES,
                                                                   minority=(1, 2)))
                tracker.finish(run_id)
    return tracker.tracking_uri


def test_shared_scores_give_the_tables_of_rescoring_every_comparison(store):
    shared = build_report(store, figures=False, progress=False)
    rescored = build_report(store, figures=False, share_scores=False, progress=False)
    assert report_markdown(shared) == report_markdown(rescored)
    assert [t.key for t in shared.tables] == [t.key for t in rescored.tables]
    for a, b in zip(shared.tables, rescored.tables):
        assert a.data.equals(b.data), a.key
    # not vacuous: the comparisons really are the per-image bootstrap, in every family that compares
    for section in ("main", "stats", "pairwise", "per_class"):
        kinds = {k for t in shared.tables if t.section == section and "kind" in t.data for k in t.data["kind"].dropna()}
        assert kinds == {KIND_BOTH}, section
    gaps = [t for t in shared.tables if t.section == "main" and "gap_closed" in t.data]
    assert gaps and gaps[0].data["gap_closed"].notna().any()


def test_report_records_its_stages(store):
    report = build_report(store, figures=False, progress=False)
    assert {"load runs", "per class"} <= set(report.timings)
    assert all(v >= 0 for v in report.timings.values())


def test_per_class_scores_are_matched_by_class_name_only():
    from sklearn.metrics import recall_score

    from augbench.reports.compare import Comparer
    from augbench.reports.predictions import Predictions
    import pandas as pd

    probs, ref, labels = simulate(np.random.default_rng(5), 3, Scenario(class_counts=(60, 30, 12), effect=0.3))
    rows, preds = [], {}
    for arm, p in (("dcgan", probs), ("none", ref)):
        for s in range(3):
            rid = f"{arm}-{s}"
            rec = recall_score(labels, p[s].argmax(1), labels=[0, 1, 2], average=None, zero_division=0)
            rows.append({"run_id": rid, "arm": arm, "budget": "10", "seed": s,
                         "metrics.test_recall_df": rec[2], "metrics.test_balanced_accuracy": rec.mean()})
            preds[rid] = Predictions(p[s], labels, classes=CLASSES)
    cells = pd.DataFrame(rows)
    named = Comparer(FakeSource(preds), n_boot=200).compare(cells, "10", "dcgan", "none",
                                                         ["test_recall_df", "test_balanced_accuracy"])
    assert named["test_recall_df"].result.kind == KIND_BOTH and not named["test_recall_df"].note
    # one artifact without class names: its per-class score is not guessed from matching numbers
    preds["none-1"] = Predictions(ref[1], labels)
    got = Comparer(FakeSource(preds), n_boot=200).compare(cells, "10", "dcgan", "none",
                                                       ["test_recall_df", "test_balanced_accuracy"])
    assert "none-1" in got["test_recall_df"].note and "no class names" in got["test_recall_df"].note
    assert got["test_balanced_accuracy"].result.kind == KIND_BOTH     # global metrics need no names

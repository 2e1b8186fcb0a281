"""Pairing by configuration: two configurations of `none` in one store, each paired only with its own.

Runs carry the pair-key tag and the predictions artifact, written through the runner's own Tracker,
cell params and predictions logger (_store.py); expected differences are recomputed here with
scikit-learn from the fixture probabilities.
"""
import zlib

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, precision_recall_fscore_support, roc_auc_score

from augbench.core.layout import KIND_CELL, TAG_GRID, TAG_PAIR_KEY
from augbench.reports.build import build_report, report_html, report_markdown

from ._store import cell_params, log_predictions, open_store

N, CLASSES = 80, ["healthy", "lesion"]
LABELS = np.r_[np.zeros(60, int), np.ones(20, int)]


def probs_for(quality: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    score = np.clip(0.5 + (LABELS - 0.5) * quality + rng.normal(0, 0.25, N), 0.001, 0.999)
    return np.stack([1 - score, score], axis=1).astype(np.float32)


def logged(p: np.ndarray) -> dict:
    pred = p.argmax(1)
    prec, rec, f1, sup = precision_recall_fscore_support(LABELS, pred, labels=[0, 1], zero_division=0)
    out = {"test_balanced_accuracy": balanced_accuracy_score(LABELS, pred),
           "test_macro_auc": roc_auc_score(LABELS, p[:, 1])}
    for c, key in enumerate(CLASSES):
        out |= {f"test_recall_{key}": rec[c], f"test_precision_{key}": prec[c], f"test_f1_{key}": f1[c],
                f"test_auc_{key}": roc_auc_score(LABELS == c, p[:, c]), f"test_support_{key}": sup[c]}
    return out


# (config, pair key, arm, budget, seed, quality, cell hash); quality drives the probabilities
RUNS = [("smoke", "pkA", arm, "10", s, q + 0.02 * s, f"A-{arm}-{s}") for s in range(3)
        for arm, q in (("none", 0.20), ("oversample", 0.35))]
RUNS += [("smoke+long", "pkB", "none", "10", s, 0.50 + 0.02 * s, f"B-none-{s}") for s in range(3)]
RUNS += [("smoke", "pkA", arm, "50", 0, q, f"A-{arm}-50") for arm, q in (("none", 0.3), ("oversample", 0.4))]


def prob_seed(run) -> int:
    return zlib.crc32(repr(run[1:5]).encode()) % 10_000


@pytest.fixture(scope="module")
def paired_store(fast_dir):
    tracker = open_store(fast_dir / "pairing")

    def log(run, quality_seed, cell_hash):
        config, key, arm, budget, seed, quality, _ = run
        # the configuration's name is its preset's (grid.Cell.params); the pair key tells them apart
        rid = tracker.start(KIND_CELL, cell_hash, cell_hash, tags={TAG_GRID: "g1", TAG_PAIR_KEY: key},
                            params=cell_params("toy", budget, seed, arm, "small-cnn", preset=config))
        p = probs_for(quality, quality_seed)
        tracker.log_metrics(rid, logged(p))
        log_predictions(tracker, rid, p, LABELS, class_names=CLASSES, ids=np.array([f"img{i}" for i in range(N)]))
        tracker.finish(rid)
        return rid

    # older runs first: a --force duplicate (same hash) and a conflicting run (same cell, other arm settings)
    log(RUNS[0], 999, RUNS[0][6])
    conflicting = log(RUNS[1], 998, "A-oversample-0-other-settings")
    for run in RUNS:
        log(run, prob_seed(run), run[6])
    return tracker.tracking_uri, conflicting


def bacc(run) -> float:
    return balanced_accuracy_score(LABELS, probs_for(run[5], prob_seed(run)).argmax(1))


def test_each_configuration_is_paired_only_with_its_own_none(paired_store):
    uri, conflicting = paired_store
    report = build_report(uri, figures=False)
    mains = [t for t in report.tables if t.section == "main" and "balanced" in t.title]
    assert sorted(t.title.split("config ")[1] for t in mains) == ["smoke", "smoke+long"]
    long_table = next(t for t in mains if "smoke+long" in t.title)
    assert [r[0].text for r in long_table.rows] == ["none"]           # B has only none: nothing compared
    stats = next(t for t in report.tables if t.section == "stats" and "balanced" in t.title)
    assert "config smoke" in stats.title and "smoke+long" not in stats.title
    row = stats.data[(stats.data["arm"] == "oversample") & (stats.data["budget"] == "10")].iloc[0]
    a = [bacc(r) for r in RUNS if r[1] == "pkA" and r[2] == "oversample" and r[3] == "10"]
    b = [bacc(r) for r in RUNS if r[1] == "pkA" and r[2] == "none" and r[3] == "10"]
    b_long = [bacc(r) for r in RUNS if r[1] == "pkB"]
    assert row["estimate"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert row["estimate"] != pytest.approx(np.mean(np.subtract(a, b_long)))
    assert row["kind"] == "seeds x test images" and row["n_pairs"] == 3
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    # the --force duplicate is counted, the conflicting run is listed with its reason
    assert report.runs.duplicates_dropped == 1
    left = next(t for t in report.tables if t.section == "left_out")
    assert conflicting in set(left.data["run_id"])
    assert "different cell hash" in " ".join(left.data["reason"])
    md = report_markdown(report)
    assert "## Left out" in md and "## All pairs of arms" in md


def test_one_seed_intervals_are_labelled_test_image_only(paired_store):
    uri, _ = paired_store
    report = build_report(uri, figures=False, budget="50")
    stats = next(t for t in report.tables if t.section == "stats" and "balanced" in t.title)
    one = stats.data[stats.data["budget"] == "50"].iloc[0]
    assert one["kind"] == "test images only" and one["n_pairs"] == 1
    assert np.isfinite(one["ci_low"]) and np.isfinite(one["ci_high"])
    main = next(t for t in report.tables if t.section == "main" and "balanced" in t.title and "config smoke" in t.title
                and "+long" not in t.title)
    cell = main.text(1, "budget 50")
    assert "Δ" in cell and "†" in cell
    assert any("test-image-only" in n for n in main.notes)
    assert "test-image-only" in report_html(report)
    pairwise = next(t for t in report.tables if t.section == "pairwise" and "smoke" in t.title and "+long" not in t.title)
    assert pairwise.columns == ["arm", "none", "oversample"] and pairwise.rows[0][1].text == "–"

"""The `real` control in the comparison tables: labelled, never best, and the gap closed beside Δ.

Cells are built in memory with known per-seed values (no tracking store, so comparisons use the
logged per-seed values); the expected gap closed and its interval are worked out here by hand.
"""
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

from augbench.reports.compare import Comparer
from augbench.reports.predictions import Predictions
from augbench.reports.tables import main_tables, per_class_tables, pairwise_tables

from .test_gap_closed import HALF_FLIPS, LABELS, REAL_FLIPS, one_hot_probs, planted

METRIC = "test_balanced_accuracy"
NONE = {"10": [0.60, 0.62, 0.58], "50": [0.70, 0.71, 0.69]}
DIFF = {"10": {"real": [0.10, 0.12, 0.08], "dcgan": [0.06, 0.05, 0.04], "oversample": [0.0, 0.0, 0.0]},
        # at budget 50 real is not resolved above none: +0.02, −0.03, +0.01
        "50": {"real": [0.02, -0.03, 0.01], "dcgan": [0.01, 0.00, 0.02], "oversample": [0.005, 0.0, 0.01]}}
DIFF["10"]["ddpm"], DIFF["50"]["ddpm"] = [0.0, 0.0, 0.0], [0.0, 0.01, 0.0]


def cells(arms=("none", "oversample", "real", "dcgan")):
    rows = []
    for budget, base in NONE.items():
        for arm in arms:
            for seed, v in enumerate(base):
                value = v + (DIFF[budget][arm][seed] if arm != "none" else 0.0)
                rows.append({"run_id": f"{arm}-{budget}-{seed}", "dataset": "toy", "arm": arm, "budget": budget,
                             "seed": seed, f"metrics.{METRIC}": value, "metrics.test_recall_lesion": value})
    return pd.DataFrame(rows)


def test_main_table_labels_the_control_and_shows_gap_closed_by_hand():
    (t,) = main_tables(cells(), METRIC, ["dataset"], comparer=Comparer(None))
    assert [r[0].text for r in t.rows] == ["none", "oversample", "real (control)", "dcgan"]
    dcgan = t.text(3, "budget 10")
    # gap = mean(0.06, 0.05, 0.04) / mean(0.10, 0.12, 0.08) = 0.5; u = a − b/2 = (+0.01, −0.01, 0)
    se = math.sqrt(1e-4 / 3) / 0.10
    half = student_t.ppf(0.975, 2) * se
    assert dcgan.endswith(f"; gap closed 50% [{0.5 - half:.0%}, {0.5 + half:.0%}] ‡")
    row = t.data[(t.data["arm"] == "dcgan") & (t.data["budget"] == "10")].iloc[0]
    assert row["gap_closed"] == pytest.approx(0.5)
    assert (row["gap_low"], row["gap_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    assert "gap closed 0% [0%, 0%]" in t.text(1, "budget 10")          # oversample == none on every seed
    assert "gap closed" not in t.text(2, "budget 10") and "gap closed" not in t.text(0, "budget 10")
    # budget 50: real − none = (+0.02, −0.03, +0.01) has an interval through 0 -> no ratio printed
    assert "gap closed inconclusive (real not resolved vs none)" in t.text(3, "budget 50")
    assert math.isnan(t.data[(t.data["arm"] == "dcgan") & (t.data["budget"] == "50")].iloc[0]["gap_closed"])
    assert any("Gap closed" in n for n in t.notes)


def test_the_control_is_never_best_even_with_the_highest_mean():
    (t,) = main_tables(cells(), METRIC, ["dataset"], comparer=Comparer(None))
    # budget 10: real has the highest mean (0.70), dcgan the highest among the methods (0.65)
    assert not t.rows[2][1].bold and t.rows[3][1].bold
    (pc,) = per_class_tables(cells(), ["dataset"], budget="10", comparer=Comparer(None))
    arms = [r[1].text for r in pc.rows]
    assert "real (control)" in arms
    recall = pc.columns.index("recall")
    assert not pc.rows[arms.index("real (control)")][recall].bold
    assert pc.rows[arms.index("dcgan")][recall].bold


def test_pairwise_table_labels_the_control():
    (t,) = pairwise_tables(cells(), METRIC, ["dataset"], "10", comparer=Comparer(None))
    assert "real (control)" in t.columns and "real (control)" in [r[0].text for r in t.rows]


def test_without_a_control_the_main_table_has_no_gap_closed():
    with_real = main_tables(cells(), METRIC, ["dataset"], comparer=Comparer(None))[0]
    (t,) = main_tables(cells(("none", "oversample", "dcgan")), METRIC, ["dataset"], comparer=Comparer(None))
    assert not any("gap closed" in c.text for r in t.rows for c in r)
    assert not any("Gap closed" in n for n in t.notes) and "gap_closed" not in t.data
    # and the cells an arm shares with the control table read the same up to the gap-closed suffix
    assert with_real.text(3, "budget 10").split("; gap closed")[0] == t.text(2, "budget 10")


class FakeSource:
    def __init__(self, preds):
        self.preds = preds

    def get(self, run_id):
        return self.preds.get(run_id)


def test_comparer_uses_the_per_image_bootstrap_when_predictions_reproduce_the_logged_metric():
    p = planted(3, REAL_FLIPS, HALF_FLIPS)
    rows, preds = [], {}
    for arm in ("none", "real", "dcgan"):
        for seed in range(3):
            probs = p["arm" if arm == "dcgan" else arm][seed]
            acc = float(np.mean(probs.argmax(1) == LABELS))           # logged accuracy, by hand
            run_id = f"{arm}-{seed}"
            preds[run_id] = Predictions(probs, LABELS)
            rows.append({"run_id": run_id, "dataset": "toy", "arm": arm, "budget": "10", "seed": seed,
                         "metrics.test_accuracy": acc})
    group = pd.DataFrame(rows)
    g = Comparer(FakeSource(preds), n_boot=300).gap_closed(group, "10", "dcgan", "real", "test_accuracy")
    assert g.note == "" and g.result.kind == "seeds x test images" and g.result.metric == "test_accuracy"
    assert g.result.estimate == pytest.approx(0.5) and g.result.low < 0.5 < g.result.high
    # a run whose predictions do not reproduce its logged value -> the per-seed fallback, with the reason
    group.loc[group["run_id"] == "real-1", "metrics.test_accuracy"] += 0.01
    g = Comparer(FakeSource(preds), n_boot=300).gap_closed(group, "10", "dcgan", "real", "test_accuracy")
    assert "do not reproduce" in g.note and g.result.kind == "seeds only"


def test_gap_summary_lines_best_learned_arm_and_inconclusive_budget():
    from augbench.reports.tables import gap_summary_lines

    frame = cells(("none", "oversample", "real", "dcgan", "ddpm"))
    # ddpm closes 3/4 of the gap at budget 10 (0.075, 0.09, 0.06 of 0.10, 0.12, 0.08): the best learned arm;
    # oversample closes nothing but is not a learned arm anyway
    for seed, d in enumerate([0.075, 0.09, 0.06]):
        sel = (frame["arm"] == "ddpm") & (frame["budget"] == "10") & (frame["seed"] == seed)
        frame.loc[sel, f"metrics.{METRIC}"] = NONE["10"][seed] + d
    lines = gap_summary_lines(frame, METRIC, ["dataset"], comparer=Comparer(None))
    assert len(lines) == 2
    assert lines[0].startswith("budget 10: best learned arm ddpm closes 75% [75%, 75%] of the gap from none to real")
    # real − none at 50: (+0.02, −0.03, +0.01), mean 0: no lead, so more seeds are not the advice
    assert lines[1] == ("inconclusive at this compute: real is not resolved above none at budget 50; real − none is "
                        "+0.000 (n=3 seeds): the classifier does not use the extra real images at this compute, so "
                        "more seeds would not help; more classifier steps (classifier.epochs=...) or --preset paper "
                        "would.")


def test_an_unresolved_lead_names_the_seeds_it_needs():
    from augbench.reports.tables import gap_summary_lines

    frame = cells(("none", "real", "dcgan"))
    # real − none at 50 becomes (+0.03, −0.01, +0.01): mean +0.01, sd 0.02, se 0.02/sqrt(3)
    for seed, d in enumerate([0.03, -0.01, 0.01]):
        sel = (frame["arm"] == "real") & (frame["budget"] == "50") & (frame["seed"] == seed)
        frame.loc[sel, f"metrics.{METRIC}"] = NONE["50"][seed] + d
    (line,) = [x for x in gap_summary_lines(frame, METRIC, ["dataset"], comparer=Comparer(None)) if "budget 50" in x]
    se = 0.02 / math.sqrt(3)
    needed = math.ceil(3 * ((1.959964 + 0.841621) * se / 0.01) ** 2)   # 3 x (2.80 x 0.01155 / 0.01)^2 = 32
    assert f"real − none is +0.010 (se {se:.3f}, n=3 seeds); about {needed} seeds would resolve" in line
    assert f"--seeds 0,1,...,{needed - 1}" in line


def test_no_gap_lines_without_a_control_or_without_learned_arms():
    from augbench.reports.tables import gap_summary_lines

    assert gap_summary_lines(cells(("none", "dcgan")), METRIC, ["dataset"], comparer=Comparer(None)) == []
    assert gap_summary_lines(cells(("none", "oversample", "real")), METRIC, ["dataset"], comparer=Comparer(None)) == []


def test_a_one_class_decision_is_flagged_on_decision_metrics_only():
    import pandas as pd

    from augbench.reports.tables import one_class

    runs = pd.DataFrame({"metrics.test_majority_share": [0.97, 0.5], "metrics.test_pc_majority_share": [0.4, 0.4]})
    assert one_class(runs, "test_balanced_accuracy")
    assert not one_class(runs, "test_pc_balanced_accuracy")
    assert not one_class(runs, "test_macro_auc")
    assert not one_class(runs.iloc[1:], "test_balanced_accuracy")


def test_real_image_equivalent_interpolates_on_log_budget_and_censors():
    from augbench.reports.tables import real_image_equivalent

    curve = {10: 0.70, 100: 0.80}  # one decade per 0.10
    assert real_image_equivalent(curve, 0.75) == "≈ 32"  # sqrt(10 * 100) = 31.6
    assert real_image_equivalent(curve, 0.60) == "< 10"
    assert real_image_equivalent(curve, 0.90) == "> 100"
    assert real_image_equivalent({10: 0.7, 50: 0.8, 100: 0.9}, 0.85) == "≈ 71"  # sqrt(50 * 100) = 70.7
    # lower is better (e.g. a loss): the curve falls with budget
    assert real_image_equivalent({10: 0.5, 100: 0.3}, 0.4, lower=True) == "≈ 32"
    assert real_image_equivalent({10: 0.7}, 0.75) == ""  # one budget: no curve


def test_worth_interval_reads_the_delta_interval_off_none_curve():
    from augbench.reports.tables import worth_interval

    curve = {10: 0.70, 100: 0.80}
    # none at 10 scores 0.70; Δ in [+0.02, +0.05] -> 0.72 .. 0.75 -> 10^1.2 = 15.8 .. 10^1.5 = 31.6
    assert worth_interval(curve, 0.70, 0.02, 0.05) == "[16, 32]"
    assert worth_interval(curve, 0.70, -0.05, 0.05) == "[< 10, 32]"     # censored ends keep their side
    assert worth_interval(curve, 0.70, 0.05, 0.20) == "[32, > 100]"
    assert worth_interval({10: 0.5, 100: 0.3}, 0.5, -0.10, -0.04, lower=True) == "[16, 32]"  # 0.2 per decade
    assert worth_interval(curve, 0.70, float("nan"), 0.05) == ""


def test_main_table_prints_worth_with_its_interval_by_hand():
    (t,) = main_tables(cells(), METRIC, ["dataset"], comparer=Comparer(None))
    dcgan = t.text(3, "budget 10")
    # dcgan − none at 10: (0.06, 0.05, 0.04), mean 0.05, seed-t interval with 2 df; none: 0.60 at 10, 0.70 at 50
    half = student_t.ppf(0.975, 2) * 0.01 / math.sqrt(3)
    at = [10 * 5 ** ((d) / 0.10) for d in (0.05, 0.05 - half, 0.05 + half)]
    assert f"worth ≈ {at[0]:.0f} [{at[1]:.0f}, {at[2]:.0f}] real" in dcgan
    row = t.data[(t.data["arm"] == "dcgan") & (t.data["budget"] == "10")].iloc[0]
    assert row["worth_real"] == f"≈ {at[0]:.0f} [{at[1]:.0f}, {at[2]:.0f}]"
    assert any("Its interval" in n for n in t.notes)


def test_prior_corrected_metrics_are_recomputed_from_the_corrected_probabilities():
    """test_pc_ metrics pair image by image on probs_pc, the plain ones on probs: here the plain
    decision calls everything class 0 while the corrected one is the planted half-way arm."""
    p = planted(3, REAL_FLIPS, HALF_FLIPS)
    everything_zero = one_hot_probs(np.zeros(len(LABELS), dtype=int))
    rows, preds, acc_pc = [], {}, {}
    for arm in ("none", "real", "dcgan"):
        for seed in range(3):
            corrected = p["arm" if arm == "dcgan" else arm][seed]
            run_id = f"{arm}-{seed}"
            acc_pc[arm, seed] = float(np.mean(corrected.argmax(1) == LABELS))
            preds[run_id] = Predictions(everything_zero, LABELS, probs_pc=corrected)
            rows.append({"run_id": run_id, "dataset": "toy", "arm": arm, "budget": "10", "seed": seed,
                         "metrics.test_accuracy": float(np.mean(LABELS == 0)), "metrics.test_pc_accuracy": acc_pc[arm, seed]})
    group = pd.DataFrame(rows)
    comparer = Comparer(FakeSource(preds), n_boot=300)
    hits = comparer.compare(group, "10", "dcgan", "none", ["test_accuracy", "test_pc_accuracy"])
    by_hand = np.mean([acc_pc["dcgan", s] - acc_pc["none", s] for s in range(3)])
    assert hits["test_pc_accuracy"].note == "" and hits["test_pc_accuracy"].result.kind == "seeds x test images"
    assert hits["test_pc_accuracy"].result.estimate == pytest.approx(by_hand) and by_hand > 0
    assert hits["test_accuracy"].note == "" and hits["test_accuracy"].result.estimate == pytest.approx(0.0)
    g = comparer.gap_closed(group, "10", "dcgan", "real", "test_pc_accuracy")
    assert g.note == "" and g.result.estimate == pytest.approx(0.5)
    # runs logged before probs_pc: the logged per-seed values, and why
    preds["none-0"] = Predictions(everything_zero, LABELS)
    hit = Comparer(FakeSource(preds), n_boot=300).compare(group, "10", "dcgan", "none", ["test_pc_accuracy"])
    assert "no prior-corrected probabilities" in hit["test_pc_accuracy"].note
    assert hit["test_pc_accuracy"].result.kind == "seeds only"

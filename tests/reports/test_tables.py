"""Tables from a store of runs with known values, checked against numbers computed here by hand."""
import io
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from augbench.reports.build import build_report, report_latex, report_markdown
from augbench.reports.render import to_csv, to_markdown
from augbench.reports.tables import ONE_SEED_NOTE, main_table

from .conftest import (DIFF_BACC, FID_CALIB_LESION_10, FID_LESION_10, NONE_AUC, NONE_BACC, RECALL_LESION_10,
                       AUC_SHIFT)


@pytest.fixture(scope="module")
def report(store):
    return build_report(store, figures=False)


def table(report, section, contains=""):
    found = [t for t in report.tables if t.section == section and contains in t.title]
    assert found, f"no {section} table with {contains!r}: {[t.title for t in report.tables]}"
    return found[0]


def row_of(t, first_cells):
    for i, row in enumerate(t.rows):
        if [c.text for c in row[:len(first_cells)]] == first_cells:
            return i
    raise AssertionError(f"no row starting {first_cells} in {t.title}")


def hand_mean_std(values):
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, std


def exact_bootstrap(d):
    d = np.asarray(d, dtype=float)
    means = np.array([d[list(i)].mean() for i in itertools.product(range(len(d)), repeat=len(d))])
    return np.quantile(means, 0.025), np.quantile(means, 0.975)


def test_main_table_means_stds_n(report):
    t = table(report, "main", "test_balanced_accuracy")
    assert t.columns == ["arm", "budget 10", "budget all"]
    assert [r[0].text for r in t.rows] == ["none", "oversample", "classic", "dcgan"]  # baselines first
    # none at budget 10: mean 3.63 / 6 = 0.605; squared deviations sum to 0.00175 -> std sqrt(0.00175/5) = 0.0187
    assert t.text(0, "budget 10") == "0.605 ± 0.019 (n=6)"
    oversample = [b + d for b, d in zip(NONE_BACC["10"], DIFF_BACC["10"]["oversample"])]
    mean, std = hand_mean_std(oversample)
    assert t.text(1, "budget 10").startswith(f"{mean:.3f} ± {std:.3f} (n=6); Δ ")
    assert t.text(0, "budget all").endswith("(n=3)")  # only three seeds at budget all
    data = t.data[(t.data["arm"] == "classic") & (t.data["budget"] == "10")].iloc[0]
    classic = [b + d for b, d in zip(NONE_BACC["10"], DIFF_BACC["10"]["classic"])]
    assert data["mean"] == pytest.approx(np.mean(classic))
    assert data["std"] == pytest.approx(np.std(classic, ddof=1))
    assert data["n"] == 6


def hand_t(d, level=0.95):
    """Paired t interval and two-sided p over seeds (the fallback for runs without predictions)."""
    from scipy.stats import t

    d = np.asarray(d, dtype=float)
    se = d.std(ddof=1) / math.sqrt(len(d))
    half = t.ppf(0.5 + level / 2, len(d) - 1) * se
    return d.mean() - half, d.mean() + half, 2 * t.sf(abs(d.mean()) / se, len(d) - 1)


def hand_holm(p):
    order = np.argsort(p)
    out, running = np.empty(len(p)), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def test_main_table_best_and_corrected_marks(report):
    t = table(report, "main", "test_balanced_accuracy")
    bold = {(r[0].text, t.columns[j]) for r in t.rows for j, c in enumerate(r) if c.bold}
    assert bold == {("oversample", "budget 10"), ("oversample", "budget all")}
    marks = {(r[0].text, t.columns[j]): c.mark for r in t.rows for j, c in enumerate(r) if c.mark}
    # Holm over the 6 comparisons (3 arms x 2 budgets): only oversample at 10 survives (raw p ~0.004);
    # dcgan at 'all' (all three seeds negative, raw p ~0.07) no longer gets a mark
    keys = [(b, a) for b in ("10", "all") for a in ("oversample", "classic", "dcgan")]
    p = np.array([hand_t(DIFF_BACC[b][a])[2] for b, a in keys])
    adjusted = dict(zip(keys, hand_holm(p)))
    expected = {("oversample", "budget 10"): "up"}
    assert {k for k, v in adjusted.items() if v < 0.05} == {("10", "oversample")}
    assert marks == expected
    md = to_markdown(t)
    assert "Holm" in md and "‡ seeds-only interval" in md


def test_statistics_table_against_hand_computation(report):
    t = table(report, "stats", "test_balanced_accuracy")
    data = t.data.set_index(["budget", "arm"])
    keys = [(b, a) for b in ("10", "all") for a in ("oversample", "classic", "dcgan")]
    adjusted = dict(zip(keys, hand_holm(np.array([hand_t(DIFF_BACC[b][a])[2] for b, a in keys]))))
    for (budget, arm) in keys:
        d = DIFF_BACC[budget][arm]
        row = data.loc[(budget, arm)]
        low, high, p = hand_t(d)
        assert row["n_pairs"] == len(d) and row["kind"] == "seeds only"
        assert row["estimate"] == pytest.approx(np.mean(d))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
        assert row["p"] == pytest.approx(p)
        assert row["p_holm"] == pytest.approx(adjusted[(budget, arm)])
    assert data.loc[("10", "oversample"), "verdict"] == "better than none"
    assert data.loc[("all", "dcgan"), "verdict"] == "no detectable difference"
    # the corrected interval of the first Holm step is the 1 - 0.05/6 interval
    low, high, _ = hand_t(DIFF_BACC["10"]["oversample"], level=1 - 0.05 / 6)
    assert (data.loc[("10", "oversample"), "cci_low"], data.loc[("10", "oversample"), "cci_high"]) == \
        pytest.approx((low, high))
    i = row_of(t, ["10", "dcgan"])
    assert t.text(i, "per-seed difference").startswith("s0: -0.010, s1: +0.020")
    assert "no predictions_test.npz" in " ".join(t.notes)


def test_macro_auc_is_the_second_default_metric(report):
    t = table(report, "main", "test_macro_auc")
    for i, arm in enumerate(["none", "oversample", "classic", "dcgan"]):
        values = [v + AUC_SHIFT[arm] for v in NONE_AUC["10"]]
        mean, std = hand_mean_std(values)
        assert t.text(i, "budget 10").startswith(f"{mean:.3f} ± {std:.3f} (n=6)")


def test_per_class_table(report):
    t = table(report, "per_class")
    assert t.columns == ["class", "arm", "precision", "recall", "F1", "AUC"]
    i = row_of(t, ["lesion (minority)", "none"])
    mean, std = hand_mean_std(RECALL_LESION_10["none"])
    assert t.text(i, "recall") == f"{mean:.3f} ± {std:.3f} (n=6)"
    oversample = i + 1
    assert t.rows[oversample][1].text == "oversample"
    assert t.rows[oversample][t.columns.index("recall")].bold  # best recall of the minority class
    assert t.rows[oversample][t.columns.index("recall")].mark == "up"
    healthy = row_of(t, ["healthy", "none"])
    assert not any(c.bold for c in t.rows[healthy])  # all arms tie on the majority class: nothing is "best"


def test_fidelity_table_with_calibration_row(report):
    t = table(report, "fidelity", "budget 10")
    i = row_of(t, ["lesion", "dcgan"])
    # FID 41, 45, 38, 50, 44, 42: mean 260/6 = 43.33, std 4.08 -> three / two significant digits
    assert t.text(i, "FID") == "43.3 ± 4.1 (n=6)"
    mean, std = hand_mean_std(FID_LESION_10)
    assert t.text(i, "FID vs held-out") == f"{mean + 5:#.3g} ± {std:#.2g} (n=6)"  # logged as FID + 5 per seed
    assert t.text(i, "KID") == f"{mean / 1000:#.3g} ± {std / 1000:#.2g} (n=6)"  # 0.0433: small scales keep digits
    assert t.text(i, "n real / fake") == "10 / 90"
    assert t.text(i, "precision") == "0.500 ± 0.000 (n=6)"  # bounded scores keep fixed decimals
    assert t.rows[i + 1][1].text == "real vs real (calibration)"
    mean, std = hand_mean_std(FID_CALIB_LESION_10)
    assert t.rows[i + 1][t.columns.index("FID")].text == f"{mean:#.3g} ± {std:#.2g} (n=6)"
    assert "domain-small-cnn" in t.notes[0] and "64-d" in t.notes[0]


def test_failed_runs_are_not_counted(report):
    # the fixture has a FAILED `none` cell with seed 99 and metric 0.0
    assert 99 not in set(report.runs.cells["seed"])
    assert len(report.runs.cells) == 4 * (6 + 3)


def test_csv_has_numbers_not_display_text(report):
    t = table(report, "main", "test_balanced_accuracy")
    frame = pd.read_csv(io.StringIO(to_csv(t)))
    assert {"mean", "std", "n", "ci_low", "ci_high"} <= set(frame.columns)
    row = frame[(frame["arm"] == "none") & (frame["budget"].astype(str) == "10")].iloc[0]
    assert row["mean"] == pytest.approx(0.605)


def test_latex_is_escaped(report):
    tex = report_latex(report)
    assert r"\begin{tabular}" in tex and r"$\pm$" in tex and r"test\_balanced\_accuracy" in tex
    assert "±" not in tex and "↑" not in tex


def test_one_seed_says_so_and_invents_no_interval(one_seed_store):
    r = build_report(one_seed_store, figures=False)
    md = report_markdown(r)
    assert ONE_SEED_NOTE in md
    main = table(r, "main", "test_balanced_accuracy")
    assert main.text(0, "budget 10") == f"{NONE_BACC['10'][0]:.3f} (n=1)"
    assert not any(c.mark for row in main.rows for c in row)
    stats = table(r, "stats", "test_balanced_accuracy")
    # no per-image predictions and one seed: nothing to estimate an interval from, and no test
    assert all(stats.text(i, "95% CI") == "–" for i in range(len(stats.rows)))
    assert all(stats.text(i, "verdict") == "not tested" for i in range(len(stats.rows)))


def test_legacy_main_table_for_the_runner(store):
    text = main_table(store, "augbench", metric="test_balanced_accuracy", grid_id="gridfixture01")
    assert "| arm | budget 10 | budget all |" in text and "(n=6)" in text
    assert main_table(store, "augbench", metric="test_balanced_accuracy", grid_id="nope") == ""
    assert main_table(store, "no-such-experiment") == ""


def test_tsne_is_skipped_with_a_note_when_no_features_were_saved(one_seed_store):
    from augbench.reports.build import report_html

    r = build_report(one_seed_store, figures=True)
    assert not any(f.section == "tsne" for f in r.figures)
    assert any(f.section == "samples" for f in r.figures)  # the grids are still shown
    note = " ".join(r.figure_notes["tsne"])
    assert "saved no features_domain.npz" in note and "does not recompute" in note
    assert "saved no features_domain.npz" in report_html(r)

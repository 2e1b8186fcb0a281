"""The family of comparisons against the baseline arm: Holm-corrected p-values, the matching
simultaneous intervals, and the verdict a reader acts on ("better than none", "worse", "no
detectable difference"). The paired numbers themselves come from reports/compare.py."""
from __future__ import annotations

import math

import pandas as pd

from augbench.reports.compare import Comparer
from augbench.reports.conventions import BASELINE, arm_order, lower_is_better
from augbench.reports.runs import budget_sort_key
from augbench.reports.stats import CI_LEVEL, holm, holm_levels

ALPHA = 1.0 - CI_LEVEL
COLUMNS = ["metric", "budget", "arm", "reference", "n_pairs", "kind", "estimate", "se", "df", "ci_low", "ci_high",
           "p", "p_holm", "holm_level", "cci_low", "cci_high", "verdict", "note", "per_seed"]


def verdict(estimate: float, p_holm: float, lower: bool, reference: str = BASELINE) -> str:
    if p_holm is None or math.isnan(p_holm):
        return "not tested"
    if p_holm >= ALPHA:
        return "no detectable difference"
    return f"better than {reference}" if (estimate > 0) != lower else f"worse than {reference}"


def correct(frame: pd.DataFrame, lower: bool = False) -> pd.DataFrame:
    """Holm over every row of ``frame`` (one family), the Holm-consistent intervals and verdicts."""
    frame = frame.copy()
    frame["p_holm"] = holm(frame["p"].to_numpy(dtype=float)) if len(frame) else []
    frame["holm_level"] = holm_levels(frame["p"].to_numpy(dtype=float)) if len(frame) else []
    lows, highs, verdicts = [], [], []
    for _, r in frame.iterrows():
        level = r["holm_level"]
        low, high = r["result"].interval(1.0 - level) if isinstance(level, float) and level > 0 else (math.nan,
                                                                                                       math.nan)
        lows.append(low)
        highs.append(high)
        verdicts.append(verdict(r["estimate"], r["p_holm"], lower, r["reference"]))
    frame["cci_low"], frame["cci_high"], frame["verdict"] = lows, highs, verdicts
    return frame


def comparison_row(c) -> dict:
    r = c.result
    return {"metric": c.metric, "budget": c.budget, "arm": c.arm, "reference": c.reference, "n_pairs": r.n_seeds,
            "kind": r.kind, "estimate": r.estimate, "se": r.se, "df": r.df, "ci_low": r.low, "ci_high": r.high,
            "p": r.p_value, "note": c.note, "per_seed": dict(zip((int(s) for s in c.seeds), r.per_seed)),
            "result": r}


def compare_to_baseline(group: pd.DataFrame, metric: str, baseline: str = BASELINE,
                        comparer: Comparer | None = None) -> pd.DataFrame:
    """Every arm vs the baseline at every budget of one configuration, Holm over all of them.

    The family is the whole main table of one metric (arms x budgets): the set of ↑/↓ a reader
    scans for "did anything beat none?"."""
    comparer = comparer or Comparer.for_cells(group)
    rows = []
    for budget in sorted(group["budget"].unique(), key=budget_sort_key):
        for arm in arm_order(group["arm"]):
            if arm == baseline:
                continue
            hit = comparer.compare(group, budget, arm, baseline, [metric]).get(metric)
            if hit is not None:
                rows.append(comparison_row(hit))
    out = pd.DataFrame(rows, columns=[*COLUMNS[:12], "note", "per_seed", "result"])
    return correct(out, lower_is_better(metric))

"""Comparison tables read back from MLflow: arms x budgets, mean ± std over seeds with n.

A cell of the table always says how many seeds it averages: a single run shown as "0.71" would
hide that nothing is known about its spread.
"""
from __future__ import annotations

import math

import pandas as pd

from reports.runs import TAG_GRID, search_runs

BUDGET_ORDER_LAST = "all"


def _budget_key(label: str):
    return (1, 0) if label == BUDGET_ORDER_LAST else (0, int(label))


def aggregate(runs: pd.DataFrame, metric: str, *, rows: str = "arm", cols: str = "budget",
              extra_keys: tuple[str, ...] = ("dataset", "classifier")) -> pd.DataFrame:
    """Long frame with one row per (extra keys, row, col): mean, std (ddof=1), n."""
    column = f"metrics.{metric}"
    if runs.empty or column not in runs:
        return pd.DataFrame(columns=[*extra_keys, rows, cols, "mean", "std", "n"])
    keys = [f"params.{k}" for k in (*extra_keys, rows, cols)]
    frame = runs[keys + [column]].dropna(subset=[column])
    grouped = frame.groupby(keys, sort=False)[column]
    out = grouped.agg(["mean", "std", "count"]).reset_index().rename(columns={"count": "n"})
    out.columns = [c.removeprefix("params.") for c in out.columns]
    return out


def format_cell(mean: float, std: float, n: int, digits: int = 3) -> str:
    if n <= 1 or std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.{digits}f} (n={n})"
    return f"{mean:.{digits}f} ± {std:.{digits}f} (n={n})"


def pivot_markdown(agg: pd.DataFrame, *, rows: str = "arm", cols: str = "budget", arm_order=None,
                   higher_is_better: bool = True) -> str:
    """Markdown pivot; the best mean in each column is bold."""
    if agg.empty:
        return ""
    col_labels = sorted(agg[cols].astype(str).unique(), key=_budget_key if cols == "budget" else str)
    row_labels = list(dict.fromkeys(agg[rows].astype(str)))
    if arm_order:
        row_labels.sort(key=lambda r: arm_order.index(r) if r in arm_order else len(arm_order))
    best = {}
    for col in col_labels:
        sub = agg[agg[cols].astype(str) == col]
        if len(sub):
            best[col] = sub["mean"].max() if higher_is_better else sub["mean"].min()
    lines = [f"| {rows} | " + " | ".join(f"{cols} {c}" for c in col_labels) + " |",
             "|---|" + "---|" * len(col_labels)]
    for r in row_labels:
        cells = []
        for col in col_labels:
            hit = agg[(agg[rows].astype(str) == r) & (agg[cols].astype(str) == col)]
            if hit.empty:
                cells.append("–")
                continue
            row = hit.iloc[0]
            text = format_cell(row["mean"], row["std"], int(row["n"]))
            cells.append(f"**{text}**" if row["mean"] == best.get(col) else text)
        lines.append(f"| {r} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main_table(tracking_uri: str, experiment: str, *, metric: str = "test_balanced_accuracy",
               grid_id: str | None = None, dataset: str | None = None) -> str:
    """Markdown, one block per (dataset, classifier): rows = arms, columns = budgets."""
    filters = []
    if grid_id:
        filters.append(f"tags.`{TAG_GRID}` = '{grid_id}'")
    if dataset:
        filters.append(f"params.dataset = '{dataset}'")
    runs = search_runs(tracking_uri, experiment, filter_string=" and ".join(filters))
    agg = aggregate(runs, metric)
    if agg.empty:
        return ""
    blocks = []
    for (ds, clf), part in agg.groupby(["dataset", "classifier"], sort=False):
        arm_order = list(dict.fromkeys(runs["params.arm"]))
        blocks.append(f"### {metric} on the test split — dataset {ds}, classifier {clf} "
                      f"(mean ± std over seeds, n = seeds)\n\n" + pivot_markdown(part, arm_order=arm_order))
    return "\n\n".join(blocks)

"""Comparison tables read back from MLflow: arms x budgets, per class, and paired statistics.

A cell of a table always says how many seeds it averages: a single run shown as "0.71" would
hide that nothing is known about its spread. Every comparison with ``none`` is paired by seed (the
same seed draws the same budget images for every arm), see reports/stats.py.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from reports.render import Cell, Table, to_markdown
from reports.runs import TAG_GRID, budget_sort_key, class_keys, load_runs, minority_keys, search_runs
from reports.stats import CI_LEVEL, MIN_WILCOXON_PAIRS, bootstrap_ci, holm, wilcoxon_test

BUDGET_ORDER_LAST = "all"
BASELINE = "none"
DEFAULT_METRICS = ("test_balanced_accuracy", "test_macro_auc")
#: the baselines first, in this order; learned arms follow alphabetically
ARM_ORDER = ("none", "oversample", "classic", "class-weighted")
DIGITS = 3
ONE_SEED_NOTE = ("Only one seed per cell: there is no spread, no confidence interval and no test; "
                 "each number is a single training run and differences between arms may be noise.")


def _budget_key(label: str):
    return budget_sort_key(label)


def lower_is_better(metric: str) -> bool:
    name = metric.lower()
    return name.startswith("time_") or any(part in name for part in ("loss", "fid", "kid", "memoris"))


def arm_order(arms) -> list[str]:
    arms = list(dict.fromkeys(str(a) for a in arms))
    known = [a for a in ARM_ORDER if a in arms]
    return known + sorted(a for a in arms if a not in ARM_ORDER)


# --- legacy helpers (runner summary) --------------------------------------------------------------------
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


def format_cell(mean: float, std: float, n: int, digits: int = DIGITS, *, significant: bool = False) -> str:
    """"mean ± std (n=k)"; ``significant`` counts digits from the first non-zero one (for FID/KID,
    whose scale depends on the extractor and can be 1e-3 or 1e3)."""
    if n == 0 or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    spec = f"#.{digits}g" if significant else f".{digits}f"
    if n <= 1 or std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:{spec}} (n={n})"
    return f"{mean:{spec}} ± {std:{f'#.{max(1, digits - 1)}g' if significant else spec}} (n={n})"


def pivot_markdown(agg: pd.DataFrame, *, rows: str = "arm", cols: str = "budget", arm_order=None,
                   higher_is_better: bool = True) -> str:
    """Markdown pivot of an :func:`aggregate` frame; the best mean in each column is bold."""
    if agg.empty:
        return ""
    col_labels = sorted(agg[cols].astype(str).unique(), key=_budget_key if cols == "budget" else str)
    row_labels = list(dict.fromkeys(agg[rows].astype(str)))
    if arm_order:
        row_labels.sort(key=lambda r: arm_order.index(r) if r in arm_order else len(arm_order))
    pick = max if higher_is_better else min
    best = {col: pick(agg[agg[cols].astype(str) == col]["mean"]) for col in col_labels}
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


# --- summaries and paired comparisons -------------------------------------------------------------------
def summary(values) -> tuple[float, float, int]:
    """Mean, sample std (ddof=1; nan for one value) and n of the finite values."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan, 0
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else math.nan, len(x)


def values_by_seed(frame: pd.DataFrame, metric: str) -> pd.Series:
    column = f"metrics.{metric}"
    if column not in frame:
        return pd.Series(dtype=float)
    return pd.Series(frame[column].to_numpy(dtype=float), index=frame["seed"].to_numpy())


def paired_differences(group: pd.DataFrame, metric: str, arm: str, budget: str,
                       baseline: str = BASELINE) -> pd.Series:
    """arm − baseline per seed, over seeds where both runs exist and logged a finite value."""
    at = group[group["budget"] == budget]
    a = values_by_seed(at[at["arm"] == arm], metric).dropna()
    b = values_by_seed(at[at["arm"] == baseline], metric).dropna()
    seeds = sorted(set(a.index) & set(b.index))
    return pd.Series([a[s] - b[s] for s in seeds], index=seeds, dtype=float)


def compare_to_baseline(group: pd.DataFrame, metric: str, baseline: str = BASELINE) -> pd.DataFrame:
    """Every arm vs the baseline at every budget: differences, bootstrap CI, Wilcoxon, Holm.

    Holm's family is the set of arms tested at one budget for one metric: that is the question a
    reader asks of one column of the main table ("does any arm beat none here?").
    """
    rows = []
    budgets = sorted(group["budget"].unique(), key=budget_sort_key)
    for budget in budgets:
        for arm in arm_order(group["arm"]):
            if arm == baseline:
                continue
            d = paired_differences(group, metric, arm, budget, baseline)
            if d.empty:
                continue
            low, high = bootstrap_ci(d.to_numpy())
            test = wilcoxon_test(d.to_numpy())
            mean, std, n = summary(d.to_numpy())
            rows.append({"metric": metric, "budget": budget, "arm": arm, "n_pairs": n, "mean_diff": mean,
                         "std_diff": std, "ci_low": low, "ci_high": high, "n_nonzero": test.n_nonzero,
                         "wilcoxon_W": test.statistic, "p": test.p, "test_note": test.reason,
                         "per_seed": {int(s): float(v) for s, v in d.items()}})
    out = pd.DataFrame(rows, columns=["metric", "budget", "arm", "n_pairs", "mean_diff", "std_diff", "ci_low",
                                      "ci_high", "n_nonzero", "wilcoxon_W", "p", "test_note", "per_seed"])
    out["p_holm"] = math.nan
    for _, idx in out.groupby("budget").groups.items():
        out.loc[idx, "p_holm"] = holm(out.loc[idx, "p"].to_numpy())
    out["ci_excludes_zero"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    return out


def is_best(mean: float, n: int, means: list[float], lower: bool) -> bool:
    """Best of its column, and only when the column is not a tie of everything (then nothing is best)."""
    if not n or len(means) < 2 or max(means) == min(means):
        return False
    return mean == (min(means) if lower else max(means))


def _mark(row) -> str:
    if row is None or not row["ci_excludes_zero"]:
        return ""
    return "up" if row["ci_low"] > 0 else "down"


def _lookup(comparison: pd.DataFrame, budget: str, arm: str):
    hit = comparison[(comparison["budget"] == budget) & (comparison["arm"] == arm)]
    return None if hit.empty else hit.iloc[0]


def iter_groups(cells: pd.DataFrame, keys: list[str]):
    for values, group in cells.groupby(keys, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        yield dict(zip(keys, (str(v) for v in values))), group


def _describe(group_id: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in group_id.items())


def slug(*parts) -> str:
    text = "_".join(str(p) for p in parts if p != "")
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)


def _seed_note(n_max: int) -> list[str]:
    return [ONE_SEED_NOTE] if n_max <= 1 else []


#: below this many pairs the percentile bootstrap is visibly too narrow, and the tables say so
FEW_PAIRS = 10


def _marks_note(baseline: str = BASELINE) -> str:
    return (f"↑/↓: the bootstrap {CI_LEVEL:.0%} CI of the paired difference (arm − {baseline}, same seed) lies "
            f"entirely above/below zero.")


def few_pairs_note(n_max: int) -> list[str]:
    """A resampled mean never leaves the range of the observed differences, so with few seeds the
    interval is at most [min, max] of them: read it as "every seed agreed", not as 95% coverage."""
    if not 1 < n_max < FEW_PAIRS:
        return []
    return [f"With only {n_max} seeds the bootstrap interval cannot be wider than the observed per-seed "
            f"differences, so it is too narrow: ↑/↓ then means every seed moved the same way, no more."]


# --- main table ------------------------------------------------------------------------------------------
def main_tables(cells: pd.DataFrame, metric: str, keys: list[str]) -> list[Table]:
    """One table per (dataset, classifier[, context]): rows = arms, columns = budgets."""
    tables = []
    if f"metrics.{metric}" not in cells:
        return tables
    lower = lower_is_better(metric)
    for group_id, group in iter_groups(cells, keys):
        budgets = sorted(group["budget"].unique(), key=budget_sort_key)
        arms = arm_order(group["arm"])
        comparison = compare_to_baseline(group, metric) if BASELINE in arms else pd.DataFrame()
        stats = {}
        for arm in arms:
            for budget in budgets:
                sel = group[(group["arm"] == arm) & (group["budget"] == budget)]
                stats[arm, budget] = summary(values_by_seed(sel, metric).to_numpy())
        if not any(n for _, _, n in stats.values()):
            continue
        rows, data = [], []
        for arm in arms:
            row = [Cell(arm)]
            for budget in budgets:
                mean, std, n = stats[arm, budget]
                hit = _lookup(comparison, budget, arm) if len(comparison) else None
                means = [stats[a, budget][0] for a in arms if stats[a, budget][2]]
                row.append(Cell(format_cell(mean, std, n), bold=is_best(mean, n, means, lower), mark=_mark(hit)))
                if n:
                    data.append({**group_id, "metric": metric, "arm": arm, "budget": budget, "mean": mean,
                                 "std": std, "n": n,
                                 **({k: hit[k] for k in ("mean_diff", "ci_low", "ci_high", "ci_excludes_zero")}
                                    if hit is not None else {})})
            rows.append(row)
        n_max = max(n for _, _, n in stats.values())
        notes = [f"{metric}: mean ± sample std (ddof=1) over seeds, n = number of seeds; split: "
                 f"{'test' if metric.startswith('test_') else 'as named'}. Bold: best mean in the column "
                 f"({'lower' if lower else 'higher'} is better)."]
        if BASELINE in arms and n_max > 1:
            notes.append(_marks_note())
            notes += few_pairs_note(n_max)
        notes += _seed_note(n_max)
        tables.append(Table(slug("main", metric, *group_id.values()), f"{metric} — {_describe(group_id)}",
                            ["arm", *(f"budget {b}" for b in budgets)], rows, notes, pd.DataFrame(data), "main"))
    return tables


# --- statistics table ---------------------------------------------------------------------------------------
def _fmt_p(p: float) -> str:
    return "–" if p is None or math.isnan(p) else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def stats_tables(cells: pd.DataFrame, metric: str, keys: list[str]) -> list[Table]:
    """Every arm against ``none``: per-seed differences, their mean and CI, Wilcoxon and Holm p."""
    tables = []
    if f"metrics.{metric}" not in cells:
        return tables
    for group_id, group in iter_groups(cells, keys):
        if BASELINE not in set(group["arm"]):
            continue
        comparison = compare_to_baseline(group, metric)
        if comparison.empty:
            continue
        one_seed = int(comparison["n_pairs"].max()) <= 1
        rows = []
        for _, r in comparison.iterrows():
            per_seed = ", ".join(f"s{s}: {v:+.{DIGITS}f}" for s, v in r["per_seed"].items())
            ci = "–" if math.isnan(r["ci_low"]) else f"[{r['ci_low']:+.{DIGITS}f}, {r['ci_high']:+.{DIGITS}f}]"
            test = f"{_fmt_p(r['p'])}" if not math.isnan(r["p"]) else "n too small"
            rows.append([Cell(str(r["budget"])), Cell(r["arm"]), Cell(str(int(r["n_pairs"]))), Cell(per_seed),
                         Cell(f"{r['mean_diff']:+.{DIGITS}f}", mark=_mark(r)), Cell(ci), Cell(test),
                         Cell(_fmt_p(r["p_holm"]), bold=bool(r["p_holm"] < 0.05))])
        notes = [f"Paired difference {metric}(arm) − {metric}({BASELINE}) per seed (same budget images); "
                 f"CI: percentile bootstrap over seeds ({CI_LEVEL:.0%}, 10,000 resamples, fixed seed).",
                 f"Wilcoxon signed-rank (two-sided) only with at least {MIN_WILCOXON_PAIRS} non-zero pairs: with 5 "
                 f"the smallest attainable p is 2/2^5 = 0.0625 > 0.05, so it could never reject. Holm correction "
                 f"across the arms at each budget; bold = Holm-adjusted p < 0.05."]
        notes += few_pairs_note(int(comparison["n_pairs"].max()))
        if one_seed:
            notes.append(ONE_SEED_NOTE)
        data = comparison.drop(columns=["per_seed"]).assign(**group_id)
        data["per_seed"] = comparison["per_seed"].map(lambda d: ";".join(f"{k}:{v:.6g}" for k, v in d.items()))
        tables.append(Table(slug("stats", metric, *group_id.values()),
                            f"{metric}: each arm − {BASELINE}, paired by seed — {_describe(group_id)}",
                            ["budget", "arm", "pairs", "per-seed difference", "mean difference",
                             f"{CI_LEVEL:.0%} CI", "Wilcoxon p", "Holm p"], rows, notes, data, "stats"))
    return tables


# --- per-class table -------------------------------------------------------------------------------------
PER_CLASS = (("precision", "precision"), ("recall", "recall"), ("f1", "F1"), ("auc", "AUC"))


def default_budget(cells: pd.DataFrame) -> str:
    """The smallest budget: where augmentation has the most to add."""
    return sorted(cells["budget"].unique(), key=budget_sort_key)[0]


def per_class_tables(cells: pd.DataFrame, keys: list[str], budget: str | None = None, split: str = "test") -> list[Table]:
    """Per class and arm at one budget: precision / recall / F1 / AUC, mean ± std over seeds."""
    tables = []
    for group_id, group in iter_groups(cells, keys):
        b = str(budget) if budget is not None else default_budget(group)
        at = group[group["budget"] == b]
        if at.empty:
            continue
        arms = arm_order(at["arm"])
        minority = set(minority_keys(at))
        rows, data = [], []
        comparisons = {}
        logged = class_keys(at, split)
        for cls in [c for c in logged if c in minority] + [c for c in logged if c not in minority]:
            label = f"{cls} (minority)" if cls in minority else cls
            stats = {(arm, m): summary(values_by_seed(at[at["arm"] == arm], f"{split}_{m}_{cls}").to_numpy())
                     for arm in arms for m, _ in PER_CLASS}
            for m, _ in PER_CLASS:
                if BASELINE in arms:
                    comparisons[m] = compare_to_baseline(at, f"{split}_{m}_{cls}")
            for i, arm in enumerate(arms):
                row = [Cell(label if i == 0 else ""), Cell(arm)]
                for m, _ in PER_CLASS:
                    mean, std, n = stats[arm, m]
                    means = [stats[a, m][0] for a in arms if stats[a, m][2]]
                    hit = _lookup(comparisons[m], b, arm) if m in comparisons else None
                    row.append(Cell(format_cell(mean, std, n), bold=is_best(mean, n, means, lower=False),
                                    mark=_mark(hit)))
                    if n:
                        data.append({**group_id, "budget": b, "class": cls, "arm": arm, "metric": f"{split}_{m}",
                                     "mean": mean, "std": std, "n": n})
                rows.append(row)
        if not rows:
            continue
        n_max = int(pd.DataFrame(data)["n"].max()) if data else 0
        notes = [f"{split} split, budget {b}: mean ± sample std over seeds (n). Bold: best arm for the class. "
                 f"(minority) = a class the budget was applied to. AUC is one-vs-rest."]
        if BASELINE in arms and n_max > 1:
            notes.append(_marks_note())
        notes += _seed_note(n_max)
        tables.append(Table(slug("per_class", b, *group_id.values()),
                            f"Per class at budget {b} — {_describe(group_id)}",
                            ["class", "arm", *(label for _, label in PER_CLASS)], rows, notes, pd.DataFrame(data),
                            "per_class"))
    return tables


# --- the runner's summary ------------------------------------------------------------------------------------
def main_table(tracking_uri: str, experiment: str, *, metric: str = "test_balanced_accuracy",
               grid_id: str | None = None, dataset: str | None = None) -> str:
    """Markdown, one block per (dataset, classifier): rows = arms, columns = budgets ("" when no runs)."""
    from datasets.errors import UserError

    try:
        runs = load_runs(tracking_uri, experiment, grid_id=grid_id, dataset=dataset)
    except UserError:
        return ""
    return "\n\n".join(to_markdown(t) for t in main_tables(runs.cells, metric, runs.group_keys()))


__all__ = ["DEFAULT_METRICS", "aggregate", "compare_to_baseline", "format_cell", "main_table", "main_tables",
           "paired_differences", "per_class_tables", "pivot_markdown", "stats_tables", "summary", "TAG_GRID",
           "search_runs"]

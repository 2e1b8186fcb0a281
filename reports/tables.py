"""Comparison tables read back from MLflow: arms x budgets, per class, pairwise, and what was left out.

A cell of a table always says how many seeds it averages: a single run shown as "0.71" would
hide that nothing is known about its spread. Comparisons are made only within one configuration
(pair key) and paired by seed (the same seed draws the same budget images for every arm); the
numbers come from reports/compare.py and reports/stats.py, and every family of marks is Holm
corrected (one family per table).
"""
from __future__ import annotations

import math

import pandas as pd

from augbench.core.layout import TAG_PAIR_KEY
from augbench.core.values import Budget
from augbench.reports.render import Cell, Table, to_markdown
from augbench.reports.runs import TAG_GRID, budget_sort_key, class_keys, load_runs, minority_keys, search_runs
from augbench.reports.compare import Comparer
from augbench.reports.conventions import (BASELINE, arm_label, arm_order, control_of, is_control, is_learned,
                                         lower_is_better)
from augbench.reports.stats import CI_LEVEL, KIND_BOTH, KIND_IMAGES, KIND_SEEDS, summary, values_by_seed
from augbench.reports.verdicts import ALPHA, COLUMNS, comparison_row, compare_to_baseline, correct

DEFAULT_METRICS = ("test_balanced_accuracy", "test_macro_auc")
DIGITS = 3
ONE_SEED_NOTE = ("Only one seed per cell: each number is a single training run, there is no spread over seeds, "
                 "and any interval covers test-image sampling only (†), not seed-to-seed variation.")


def format_cell(mean: float, std: float, n: int, digits: int = DIGITS, *, significant: bool = False) -> str:
    """"mean ± std (n=k)"; ``significant`` counts digits from the first non-zero one (for FID/KID,
    whose scale depends on the extractor and can be 1e-3 or 1e3)."""
    if n == 0 or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    spec = f"#.{digits}g" if significant else f".{digits}f"
    if n <= 1 or std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:{spec}} (n={n})"
    return f"{mean:{spec}} ± {std:{f'#.{max(1, digits - 1)}g' if significant else spec}} (n={n})"


# --- summaries and paired comparisons -------------------------------------------------------------------
def is_best(mean: float, n: int, means: list[float], lower: bool, arm: str | None = None) -> bool:
    """Best of its column, and only when the column is not a tie of everything (then nothing is best).

    ``means`` should hold the candidates only (:func:`candidate_means`); a control ``arm`` is never
    best (it is the ceiling the methods are measured against, not one of them)."""
    if arm is not None and is_control(arm):
        return False
    if not n or len(means) < 2 or max(means) == min(means):
        return False
    return mean == (min(means) if lower else max(means))


def candidate_means(stats: dict, arms, key) -> list[float]:
    """The means that compete for "best": every arm with values except the controls.
    ``stats[(arm, key)]`` = (mean, std, n)."""
    return [stats[a, key][0] for a in arms if stats[a, key][2] and not is_control(a)]


def _mark(row, lower: bool = False) -> str:
    """↑ = better than the reference, ↓ = worse, after correction (Holm p < 0.05)."""
    if row is None or not (row["p_holm"] < ALPHA):
        return ""
    return "up" if row["estimate"] > 0 else "down"


def _lookup(comparison: pd.DataFrame, budget: str, arm: str):
    if comparison is None or comparison.empty:
        return None
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


def _fmt_diff(x: float) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:+.{DIGITS}f}"


def _fmt_ci(low: float, high: float) -> str:
    return "–" if not (math.isfinite(low) and math.isfinite(high)) else f"[{_fmt_diff(low)}, {_fmt_diff(high)}]"


def _kind_tag(kind: str) -> str:
    return {KIND_IMAGES: " †", KIND_SEEDS: " ‡"}.get(kind, "")


def kind_notes(kinds) -> list[str]:
    """One line per kind of interval that appears, saying what noise it covers."""
    kinds = set(kinds)
    notes = []
    if KIND_BOTH in kinds:
        notes.append("Intervals without a sign cover seeds x test images: seed-to-seed variation and test-image "
                     "sampling (the same images resampled for both arms), t-based, see docs/statistics.md.")
    if KIND_IMAGES in kinds:
        notes.append("† test-image-only interval: one seed, so it covers test-image sampling but not "
                     "seed-to-seed variation (with real seed variation it is too narrow, docs/statistics.md).")
    if KIND_SEEDS in kinds:
        notes.append("‡ seeds-only interval: these runs have no per-image predictions (or they did not match), so "
                     "a paired t interval over the logged per-seed values; shared test-image noise is not in it.")
    return notes


MAIN_MARKS_NOTE = (f"Δ: paired difference arm − {BASELINE} (same configuration, same seeds) with its {CI_LEVEL:.0%} "
                   f"interval. ↑/↓: better/worse than {BASELINE} after Holm correction over every arm x budget "
                   f"of this table (one family).")


def format_gap(g, control: str = "real") -> str:
    """"gap closed 50% [31%, 69%]" (share of the way from none to the control), or why there is none."""
    if not g.resolved:
        return f"gap closed inconclusive ({control} not resolved vs {BASELINE})" \
            if math.isfinite(g.denominator.estimate) else "gap closed –"
    ci = "" if not (math.isfinite(g.low) and math.isfinite(g.high)) else f" [{g.low:.0%}, {g.high:.0%}]"
    return f"gap closed {g.estimate:.0%}{ci}{_kind_tag(g.kind)}"


def _gap_data(gap) -> dict:
    g = gap.result
    return {"gap_closed": g.estimate, "gap_low": g.low, "gap_high": g.high, "gap_resolved": g.resolved,
            "gap_kind": g.kind, "gap_control": gap.control, "gap_note": g.note or gap.note}


def gap_note(control: str, lower: bool) -> str:
    better = "below" if lower else "above"
    return (f"{arm_label(control)}: real training images from outside the budget fill each minority class to the "
            f"same target count (the perfect generator); a control, never marked best. Gap closed = (arm − "
            f"{BASELINE}) / ({control} − {BASELINE}), paired by seed (ratio of the mean differences), with a "
            f"{CI_LEVEL:.0%} delta-method interval covering the same noise as Δ (docs/statistics.md): 0% = no better than "
            f"{BASELINE}, 100% = as good as real images. \"inconclusive\": {control} is not resolved {better} "
            f"{BASELINE} at this budget (its interval includes 0), so the share is undefined at this compute.")


def equivalent_budget(none_curve: dict, value: float, lower: bool = False) -> tuple[str, float] | None:
    """The budget at which ``none`` (real images only) would score ``value``: linear interpolation of
    none's mean on log(budget) between the grid's count budgets, censored outside the measured range
    (("<", 10), (">", 100)). The user's unit: "this arm's images are worth about N real images of each
    rare class". Where none's curve is not monotone between two budgets the first crossing is used.
    ``none_curve``: {count budget: none's mean}; fraction budgets and 'all' are left out by the caller."""
    import numpy as np

    points = sorted((Budget.parse(b).count, float(m)) for b, m in none_curve.items() if math.isfinite(m))
    if len(points) < 2 or not math.isfinite(value):
        return None
    sign = -1.0 if lower else 1.0
    b, m = zip(*points)
    v = sign * value
    ms = [sign * x for x in m]
    if v < ms[0]:
        return "<", float(b[0])
    for i in range(len(b) - 1):
        lo, hi = ms[i], ms[i + 1]
        if min(lo, hi) <= v <= max(lo, hi) and hi != lo:
            t = (v - lo) / (hi - lo)
            return "≈", float(np.exp(np.log(b[i]) + t * (np.log(b[i + 1]) - np.log(b[i]))))
        if lo == hi == v:
            return "≈", float(b[i])
    return ">", float(b[-1])


def real_image_equivalent(none_curve: dict, value: float, lower: bool = False) -> str:
    """:func:`equivalent_budget` as the table writes it: "≈ 32", "< 10", "> 100" ('' without a curve)."""
    found = equivalent_budget(none_curve, value, lower)
    return "" if found is None else f"{found[0]} {found[1]:.0f}"


def worth_interval(none_curve: dict, none_mean: float, ci_low: float, ci_high: float,
                   lower: bool = False) -> str:
    """The interval of the real-image equivalent: the ends of the paired Δ interval against ``none``
    at the arm's budget, added to none's mean there and read off the same curve ("[< 10, 48]").
    It carries the noise the Δ interval carries; none's curve at the other budgets is taken as fixed,
    which the table's note says."""
    if not (math.isfinite(ci_low) and math.isfinite(ci_high) and math.isfinite(none_mean)):
        return ""
    ends = [equivalent_budget(none_curve, none_mean + d, lower) for d in (ci_low, ci_high)]
    if None in ends:
        return ""
    key = {"<": 0, "≈": 1, ">": 2}
    ends.sort(key=lambda e: (key[e[0]], e[1]))
    return "[" + ", ".join(f"{n:.0f}" if rel == "≈" else f"{rel} {n:.0f}" for rel, n in ends) + "]"


def _count_budgets(stats: dict, arm: str, budgets) -> dict:
    return {b: stats[arm, b][0] for b in budgets if _is_count(b) and stats[arm, b][2]}


def _is_count(label) -> bool:
    """A count budget ('10'), the unit of none's curve; fractions and 'all' are not on it."""
    budget = Budget.read(label)
    return budget is not None and budget.is_count


ONE_CLASS_SHARE = 0.95  # applied to the shares benchmark/metrics.py's predicted_share logs on every cell
WORTH_NOTE = ("worth ≈ N real: the budget (real images of each rare class) at which `none` would score this mean, "
              "interpolated on none's curve over this table's count budgets in log budget; '< 10' / '> 100' lie "
              "outside the measured range. Its interval: the ends of the arm's paired Δ interval against none at that "
              "budget, read off the same curve (none's curve at the other budgets taken as fixed).")
ONE_CLASS_NOTE = ("[one class]: in at least one seed the decision put >= 95 % of the test images in one class "
                  "(test_majority_share, or test_pc_majority_share for a test_pc_ metric): the number measures "
                  "a class prior, not the arm.")


def one_class(runs: pd.DataFrame, metric: str) -> bool:
    """True when any run's decision (plain, or prior-corrected for a ``test_pc_`` metric) put at least
    ONE_CLASS_SHARE of the test images in one class. Threshold-free metrics (AUC, AP) are not flagged."""
    if "auc" in metric or metric.endswith("_ap") or "_ap_" in metric:
        return False
    column = "metrics.test_pc_majority_share" if metric.startswith("test_pc_") else "metrics.test_majority_share"
    if column not in runs:
        return False
    return bool((pd.to_numeric(runs[column], errors="coerce") >= ONE_CLASS_SHARE).any())


def mde_note(comparison: pd.DataFrame, budgets) -> list[str]:
    """The minimum detectable effect of each budget's comparisons with the reference: 80 % power at the
    table's strictest corrected level (Holm's first step, alpha / m over the table's m comparisons),
    from the median standard error and degrees of freedom the budget's comparisons observed."""
    from augbench.reports.stats import minimum_detectable_effect

    m = int(comparison["p"].notna().sum())
    if m == 0 or "se" not in comparison:
        return []
    level = ALPHA / m
    parts = []
    for budget in budgets:
        rows = comparison[(comparison["budget"] == budget) & comparison["se"].notna()]
        if rows.empty:
            continue
        mde = minimum_detectable_effect(float(rows["se"].median()), float(rows["df"].median()), level)
        if math.isfinite(mde):
            parts.append(f"budget {budget} ±{mde:.3f}")
    if not parts:
        return []
    return [f"Minimum detectable effect (80 % power, two-sided at the Holm level {ALPHA:g}/{m} = {level:.4f}, "
            f"median se and df of the budget's comparisons): {', '.join(parts)}. A difference smaller than this "
            "carries no mark even when it is real; more seeds shrink it."]


# --- main table ------------------------------------------------------------------------------------------
def main_tables(cells: pd.DataFrame, metric: str, keys: list[str], comparer: Comparer | None = None) -> list[Table]:
    """One table per (dataset, classifier, configuration): rows = arms, columns = budgets."""
    tables = []
    if f"metrics.{metric}" not in cells:
        return tables
    comparer = comparer or Comparer.for_cells(cells)
    lower = lower_is_better(metric)
    for group_id, group in iter_groups(cells, keys):
        budgets = sorted(group["budget"].unique(), key=budget_sort_key)
        arms = arm_order(group["arm"])
        comparison = compare_to_baseline(group, metric, comparer=comparer) if BASELINE in arms else None
        control = control_of(arms) if BASELINE in arms else None
        stats = {}
        for arm in arms:
            for budget in budgets:
                sel = group[(group["arm"] == arm) & (group["budget"] == budget)]
                stats[arm, budget] = summary(values_by_seed(sel, metric).to_numpy())
        if not any(n for _, _, n in stats.values()):
            continue
        rows, data, gaps = [], [], []
        worth_seen = False
        for arm in arms:
            row = [Cell(arm_label(arm))]
            for budget in budgets:
                mean, std, n = stats[arm, budget]
                hit = _lookup(comparison, budget, arm)
                means = candidate_means(stats, arms, budget)
                text, worth = format_cell(mean, std, n), ""
                if n and arm != BASELINE and BASELINE in arms and _is_count(budget):
                    curve = _count_budgets(stats, BASELINE, budgets)
                    worth = real_image_equivalent(curve, mean, lower)
                    if worth:
                        if hit is not None:
                            worth += " " + worth_interval(curve, stats[BASELINE, budget][0], hit["ci_low"],
                                                          hit["ci_high"], lower)
                        worth = worth.strip()
                        text += f"; worth {worth} real"
                        worth_seen = True
                if n and one_class(group[(group["arm"] == arm) & (group["budget"] == budget)], metric):
                    text += " [one class]"
                if hit is not None and n:
                    text += f"; Δ {_fmt_diff(hit['estimate'])} {_fmt_ci(hit['ci_low'], hit['ci_high'])}" \
                            f"{_kind_tag(hit['kind'])}"
                gap = None
                if control is not None and n and arm != BASELINE and not is_control(arm):
                    gap = comparer.gap_closed(group, budget, arm, control, metric, lower=lower)
                    if gap is not None:
                        gaps.append(gap)
                        text += f"; {format_gap(gap.result, control)}"
                row.append(Cell(text, bold=is_best(mean, n, means, lower, arm), mark=_mark(hit)))
                if n:
                    data.append({**group_id, "metric": metric, "arm": arm, "budget": budget, "mean": mean,
                                 "std": std, "n": n, **({"worth_real": worth} if worth else {}),
                                 **({k: hit[k] for k in ("estimate", "ci_low", "ci_high", "kind", "p", "p_holm",
                                                         "verdict")} if hit is not None else {}),
                                 **(_gap_data(gap) if gap is not None else {})})
            rows.append(row)
        n_max = max(n for _, _, n in stats.values())
        notes = [f"{metric}: mean ± sample std (ddof=1) over seeds, n = number of seeds; split: "
                 f"{'test' if metric.startswith('test_') else 'as named'}. Bold: best mean in the column "
                 f"({'lower' if lower else 'higher'} is better)."]
        if comparison is not None and len(comparison):
            notes.append(MAIN_MARKS_NOTE)
            notes += kind_notes(comparison["kind"])
        if gaps:
            notes.append(gap_note(control, lower))
        if comparison is not None and len(comparison):
            notes += mde_note(comparison, budgets)
        if worth_seen:
            notes.append(WORTH_NOTE)
        if any("[one class]" in c.text for r in rows for c in r):
            notes.append(ONE_CLASS_NOTE)
        notes += _seed_note(n_max)
        tables.append(Table(slug("main", metric, *group_id.values()), f"{metric} — {_describe(group_id)}",
                            ["arm", *(f"budget {b}" for b in budgets)], rows, notes, pd.DataFrame(data), "main"))
    return tables


# --- the runner's gap-closed lines ------------------------------------------------------------------------
INCONCLUSIVE_ADVICE = ("more seeds (--seeds), more classifier steps (classifier.epochs=...), or the paper preset "
                       "would help")
#: z-scores of a two-sided 5 % test and of 80 % power: the seeds a difference of the observed size needs
_Z_TEST, _Z_POWER = 1.959964, 0.841621


def inconclusive_advice(comparer: Comparer, group: pd.DataFrame, budget, control: str, metric: str,
                        lower: bool) -> str:
    """What would resolve the control at this budget, from the run's own numbers: where the control
    leads ``none`` on average but its interval includes 0, the seeds that a lead of this size needs at
    80 % power (the standard error shrinks as 1/sqrt(seeds)); where it does not lead at all, more seeds
    would only pin down "no difference", so the classifier's compute is what to change."""
    hit = comparer.compare(group, budget, control, BASELINE, [metric]).get(metric)
    if hit is None or not math.isfinite(hit.result.estimate) or not math.isfinite(hit.result.se) \
            or hit.result.se <= 0:
        return INCONCLUSIVE_ADVICE
    r = hit.result
    lead = -r.estimate if lower else r.estimate
    if lead <= 0:
        return (f"{control} − {BASELINE} is {r.estimate:+.3f} (n={r.n_seeds} seeds): the classifier does not use "
                f"the extra real images at this compute, so more seeds would not help; more classifier steps "
                f"(classifier.epochs=...) or --preset paper would")
    needed = math.ceil(r.n_seeds * ((_Z_TEST + _Z_POWER) * r.se / lead) ** 2)
    seeds = ",".join(map(str, range(needed))) if needed <= 12 else f"0,1,...,{needed - 1}"
    return (f"{control} − {BASELINE} is {r.estimate:+.3f} (se {r.se:.3f}, n={r.n_seeds} seeds); about {needed} seeds "
            f"would resolve a lead of this size at 80 % power (--seeds {seeds}), or more classifier steps "
            "(classifier.epochs=...) or --preset paper would widen the lead")


def gap_summary_lines(cells: pd.DataFrame, metric: str, keys: list[str], comparer: Comparer | None = None) -> list[str]:
    """One line per budget of every configuration that has the control and learned arms: the gap
    closed by the best learned arm (highest estimate) with its interval, or, where the control is
    not resolved above ``none``, that the answer is inconclusive at this compute and what would help."""
    lines = []
    if f"metrics.{metric}" not in cells:
        return lines
    comparer = comparer or Comparer.for_cells(cells)
    lower = lower_is_better(metric)
    groups = list(iter_groups(cells, keys))
    for group_id, group in groups:
        arms = arm_order(group["arm"])
        control = control_of(arms)
        learned = [a for a in arms if is_learned(a)]
        if control is None or BASELINE not in arms or not learned:
            continue
        where = f" ({_describe(group_id)})" if len(groups) > 1 else ""
        for budget in sorted(group["budget"].unique(), key=budget_sort_key):
            gaps = [g for g in (comparer.gap_closed(group, budget, a, control, metric, lower=lower) for a in learned)
                    if g is not None]
            if not gaps:
                continue
            resolved = [g for g in gaps if g.result.resolved and math.isfinite(g.result.estimate)]
            if not resolved:
                advice = inconclusive_advice(comparer, group, budget, control, metric, lower)
                lines.append(f"inconclusive at this compute: {control} is not resolved {'below' if lower else 'above'} "
                             f"{BASELINE} at budget {budget}{where}; {advice}.")
                continue
            best = max(resolved, key=lambda g: g.result.estimate)
            r = best.result
            ci = f" [{r.low:.0%}, {r.high:.0%}]" if math.isfinite(r.low) and math.isfinite(r.high) else " (no interval)"
            lines.append(f"budget {budget}{where}: best learned arm {best.arm} closes {r.estimate:.0%}{ci} of the gap "
                         f"from {BASELINE} to {control} on {metric} (n={r.n_seeds} seeds, interval over {r.kind}).")
    return lines


# --- statistics table ---------------------------------------------------------------------------------------
def _fmt_p(p: float) -> str:
    return "–" if p is None or math.isnan(p) else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def stats_tables(cells: pd.DataFrame, metric: str, keys: list[str], comparer: Comparer | None = None) -> list[Table]:
    """Every arm against ``none``: per-seed differences, estimate, intervals, p, Holm p and a verdict."""
    tables = []
    if f"metrics.{metric}" not in cells:
        return tables
    comparer = comparer or Comparer.for_cells(cells)
    for group_id, group in iter_groups(cells, keys):
        if BASELINE not in set(group["arm"]):
            continue
        comparison = compare_to_baseline(group, metric, comparer=comparer)
        if comparison.empty:
            continue
        rows = []
        for _, r in comparison.iterrows():
            per_seed = ", ".join(f"s{s}: {v:+.{DIGITS}f}" for s, v in r["per_seed"].items())
            rows.append([Cell(str(r["budget"])), Cell(r["arm"]), Cell(str(int(r["n_pairs"]))), Cell(r["kind"]),
                         Cell(per_seed), Cell(_fmt_diff(r["estimate"]), mark=_mark(r)),
                         Cell(_fmt_ci(r["ci_low"], r["ci_high"])), Cell(_fmt_p(r["p"])),
                         Cell(_fmt_p(r["p_holm"]), bold=bool(r["p_holm"] < ALPHA)),
                         Cell(_fmt_ci(r["cci_low"], r["cci_high"])), Cell(r["verdict"])])
        m = int(comparison["p"].notna().sum())
        notes = [f"Paired difference {metric}(arm) − {metric}({BASELINE}) within one configuration, same seeds; "
                 f"estimate = mean over seeds of the per-seed difference on the full test set.",
                 f"p: two-sided, from the same interval. Holm over all {m} comparisons of this table (arms x budgets, "
                 f"one family); corrected CI: the interval at the level Holm tested that comparison at, so it "
                 f"excludes 0 exactly when Holm rejects. Verdict from the Holm-adjusted p (bold < 0.05)."]
        notes += kind_notes(comparison["kind"])
        fallbacks = sorted({n for n in comparison["note"] if n})
        notes += [f"Seeds-only because: {n}." for n in fallbacks]
        if int(comparison["n_pairs"].max()) <= 1:
            notes.append(ONE_SEED_NOTE)
        data = comparison.drop(columns=["per_seed", "result"]).assign(**group_id)
        data["per_seed"] = comparison["per_seed"].map(lambda d: ";".join(f"{k}:{v:.6g}" for k, v in d.items()))
        tables.append(Table(slug("stats", metric, *group_id.values()),
                            f"{metric}: each arm − {BASELINE}, paired — {_describe(group_id)}",
                            ["budget", "arm", "seeds", "interval covers", "per-seed difference", "difference",
                             f"{CI_LEVEL:.0%} CI", "p", "Holm p", "corrected CI", "verdict"], rows, notes, data,
                            "stats"))
    return tables


# --- pairwise matrix ------------------------------------------------------------------------------------------
def pairwise_tables(cells: pd.DataFrame, metric: str, keys: list[str], budget: str,
                    comparer: Comparer | None = None) -> list[Table]:
    """All arms against each other at one budget: row − column, Holm over the pairs of the matrix."""
    tables = []
    if f"metrics.{metric}" not in cells:
        return tables
    comparer = comparer or Comparer.for_cells(cells)
    lower = lower_is_better(metric)
    for group_id, group in iter_groups(cells, keys):
        at = group[group["budget"] == str(budget)]
        arms = arm_order(at["arm"])
        if len(arms) < 2:
            continue
        pairs = []
        for i, a in enumerate(arms):
            for b in arms[i + 1:]:
                hit = comparer.compare(at, str(budget), a, b, [metric]).get(metric)
                if hit is not None:
                    pairs.append(comparison_row(hit))
        if not pairs:
            continue
        frame = correct(pd.DataFrame(pairs), lower)
        found = {(r["arm"], r["reference"]): r for _, r in frame.iterrows()}
        rows = []
        for a in arms:
            row = [Cell(arm_label(a))]
            for b in arms:
                r, sign = (found.get((a, b)), 1.0) if (a, b) in found else (found.get((b, a)), -1.0)
                if a == b or r is None:
                    row.append(Cell("–"))
                    continue
                est = sign * r["estimate"]
                low, high = sorted((sign * r["ci_low"], sign * r["ci_high"]))
                mark = "" if not r["p_holm"] < ALPHA else ("up" if est > 0 else "down")
                row.append(Cell(f"{_fmt_diff(est)} {_fmt_ci(low, high)}{_kind_tag(r['kind'])}", mark=mark))
            rows.append(row)
        notes = [f"{metric} at budget {budget}: cell = row arm − column arm (paired by seed, same configuration) with "
                 f"its {CI_LEVEL:.0%} interval. ↑/↓: row better/worse than column after Holm over the "
                 f"{len(frame)} pairs of this matrix (one family)."]
        notes += kind_notes(frame["kind"])
        data = frame.drop(columns=["per_seed", "result"]).assign(**group_id)
        tables.append(Table(slug("pairwise", metric, budget, *group_id.values()),
                            f"{metric}, all pairs at budget {budget} — {_describe(group_id)}",
                            ["arm", *(arm_label(a) for a in arms)], rows, notes, data, "pairwise"))
    return tables


# --- per-class table -------------------------------------------------------------------------------------
PER_CLASS = (("precision", "precision"), ("recall", "recall"), ("f1", "F1"), ("auc", "AUC"))


def default_budget(cells: pd.DataFrame) -> str:
    """The smallest budget: where augmentation has the most to add."""
    return sorted(cells["budget"].unique(), key=budget_sort_key)[0]


def per_class_tables(cells: pd.DataFrame, keys: list[str], budget: str | None = None, split: str = "test",
                     comparer: Comparer | None = None) -> list[Table]:
    """Per class and arm at one budget: precision / recall / F1 / AUC, mean ± std over seeds.

    ↑/↓ are corrected over everything the table shows: Holm over arms x classes x the four scores."""
    tables = []
    comparer = comparer or Comparer.for_cells(cells)
    for group_id, group in iter_groups(cells, keys):
        b = str(budget) if budget is not None else default_budget(group)
        at = group[group["budget"] == b]
        if at.empty:
            continue
        arms = arm_order(at["arm"])
        minority = set(minority_keys(at))
        logged = class_keys(at, split)
        ordered = [c for c in logged if c in minority] + [c for c in logged if c not in minority]
        names = [f"{split}_{m}_{cls}" for cls in ordered for m, _ in PER_CLASS]
        found = []
        if BASELINE in arms:
            for arm in arms:
                if arm != BASELINE:
                    found += [comparison_row(c) for c in comparer.compare(at, b, arm, BASELINE, names).values()]
        family = correct(pd.DataFrame(found, columns=[*COLUMNS[:12], "note", "per_seed", "result"]))
        marks = {(r["arm"], r["metric"]): r for _, r in family.iterrows()}
        rows, data = [], []
        for cls in ordered:
            label = f"{cls} (minority)" if cls in minority else cls
            stats = {(arm, m): summary(values_by_seed(at[at["arm"] == arm], f"{split}_{m}_{cls}").to_numpy())
                     for arm in arms for m, _ in PER_CLASS}
            for i, arm in enumerate(arms):
                row = [Cell(label if i == 0 else ""), Cell(arm_label(arm))]
                for m, _ in PER_CLASS:
                    mean, std, n = stats[arm, m]
                    means = candidate_means(stats, arms, m)
                    hit = marks.get((arm, f"{split}_{m}_{cls}"))
                    row.append(Cell(format_cell(mean, std, n), bold=is_best(mean, n, means, lower=False, arm=arm),
                                    mark=_mark(hit)))
                    if n:
                        data.append({**group_id, "budget": b, "class": cls, "arm": arm, "metric": f"{split}_{m}",
                                     "mean": mean, "std": std, "n": n,
                                     **({k: hit[k] for k in ("estimate", "ci_low", "ci_high", "kind", "p", "p_holm")}
                                        if hit is not None else {})})
                rows.append(row)
        if not rows:
            continue
        n_max = int(pd.DataFrame(data)["n"].max()) if data else 0
        notes = [f"{split} split, budget {b}: mean ± sample std over seeds (n). Bold: best arm for the class. "
                 f"(minority) = a class the budget was applied to. AUC is one-vs-rest."]
        if len(family):
            notes.append(f"↑/↓: better/worse than {BASELINE} (paired, same configuration and seeds) after Holm over "
                         f"all {int(family['p'].notna().sum())} arm x class x score comparisons of this table; "
                         f"the differences and intervals are in the CSV.")
            notes += kind_notes(family["kind"])
        notes += _seed_note(n_max)
        tables.append(Table(slug("per_class", b, *group_id.values()),
                            f"Per class at budget {b} — {_describe(group_id)}",
                            ["class", "arm", *(label for _, label in PER_CLASS)], rows, notes, pd.DataFrame(data),
                            "per_class"))
    return tables


# --- what was left out ----------------------------------------------------------------------------------------
def left_out_table(cells: pd.DataFrame, keys: list[str], left_out: list[dict]) -> list[Table]:
    """Runs not used and comparisons not made, each with the reason."""
    entries = list(left_out)
    for group_id, group in iter_groups(cells, keys):
        where = _describe(group_id)
        if BASELINE not in set(group["arm"]):
            entries.append({"run_id": "–", "arm": ", ".join(arm_order(group["arm"])), "budget": "all", "seed": "–",
                            "config": group_id.get("config", ""),
                            "reason": f"no {BASELINE} run in this configuration ({where}): these arms are shown "
                                      f"but not compared with {BASELINE}"})
            continue
        for budget in sorted(group["budget"].unique(), key=budget_sort_key):
            at = group[group["budget"] == budget]
            base = set(at[at["arm"] == BASELINE]["seed"])
            for _, r in at[(at["arm"] != BASELINE) & ~at["seed"].isin(base)].iterrows():
                entries.append({"run_id": r["run_id"], "arm": r["arm"], "budget": budget, "seed": r["seed"],
                                "config": group_id.get("config", ""),
                                "reason": f"no {BASELINE} run at seed {r['seed']} in the same configuration: unpaired, "
                                          f"not in the comparisons"})
    if not entries:
        return []
    rows = [[Cell(str(e["run_id"])[:12]), Cell(str(e["config"])), Cell(str(e["arm"])), Cell(str(e["budget"])),
             Cell(str(e["seed"])), Cell(e["reason"])] for e in entries]
    notes = [f"Runs are compared only within one configuration (tag {TAG_PAIR_KEY}: same split, classifier "
             "recipe, preset and overrides, target, minority classes, image size, val budget) and paired by seed."]
    return [Table("left_out", "Runs and comparisons left out", ["run", "configuration", "arm", "budget", "seed",
                                                                "why"], rows, notes, pd.DataFrame(entries),
                  "left_out")]


# --- the runner's summary ------------------------------------------------------------------------------------
def main_table(tracking_uri: str, experiment: str, *, metric: str = "test_balanced_accuracy",
               grid_id: str | None = None, dataset: str | None = None) -> str:
    """Markdown, one block per (dataset, classifier): rows = arms, columns = budgets ("" when no runs)."""
    from augbench.core.errors import UserError

    try:
        runs = load_runs(tracking_uri, experiment, grid_id=grid_id, dataset=dataset)
    except UserError:
        return ""
    return "\n\n".join(to_markdown(t) for t in main_tables(runs.cells, metric, runs.group_keys()))


__all__ = ["DEFAULT_METRICS", "format_cell", "format_gap", "gap_summary_lines", "left_out_table", "main_table", "main_tables", "pairwise_tables",
           "per_class_tables", "stats_tables", "TAG_GRID", "search_runs"]

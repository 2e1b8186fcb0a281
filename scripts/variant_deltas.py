"""Paired differences between arms of one finished grid: each ``arm@variant`` against another arm
(its own base ``arm`` by default), per budget, with the seeds x test-subjects interval the report
uses (reports/compare.py). What docs/generators.md's "variant against its plain arm" tables come
from; the report's own tables compare every arm with ``none`` only.

    python scripts/variant_deltas.py runs/few-shot-sqrt-isic            # X@v - X for every variant
    python scripts/variant_deltas.py runs/few-shot-sqrt-isic --against plain   # X and X@v - X@plain
"""
from __future__ import annotations

import argparse
from pathlib import Path

from augbench.core.values import ArmName, budget_sort_key
from augbench.reports.compare import Comparer
from augbench.reports.runs import load_runs


def pairs(arms: list[str], against: str | None) -> list[tuple[str, str]]:
    """(arm, reference) for every variant: against its base arm, or against ``base@against``."""
    out = []
    for arm in arms:
        name = ArmName.parse(arm)
        reference = ArmName(name.base, against).label()
        if arm != reference and reference in arms and (against is not None or name.variant is not None):
            out.append((arm, reference))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the --out folder of a finished `benchmark run`")
    parser.add_argument("--against", help="compare with base@AGAINST instead of the base arm")
    parser.add_argument("--metric", default="test_macro_auc")
    args = parser.parse_args(argv)
    runs = load_runs(f"sqlite:///{(args.out / 'mlflow.db').resolve()}")
    cells = runs.cells
    comparer = Comparer.for_cells(cells)
    arms = sorted(cells["arm"].unique())
    print(f"| arm | reference | budget | Δ {args.metric} [95 % interval] | p | seeds | interval covers |")
    print("|---|---|---|---|---|---|---|")
    for budget in sorted(cells["budget"].unique(), key=budget_sort_key):
        for arm, reference in pairs(arms, args.against):
            found = comparer.compare(cells, budget, arm, reference, [args.metric]).get(args.metric)
            if found is None:
                continue
            r = found.result
            low, high = r.interval(0.95)
            print(f"| {arm} | {reference} | {budget} | {r.estimate:+.3f} [{low:+.3f}, {high:+.3f}] | "
                  f"{r.p_value:.2f} | {r.n_seeds} | {r.kind} |")


if __name__ == "__main__":
    main()

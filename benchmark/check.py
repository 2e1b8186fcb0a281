"""`benchmark check`: rerun a tiny grid and compare its metrics with a committed baseline.

The baseline file holds the grid to run and, for every (run, metric), the expected value, a
tolerance and a direction. Training is deterministic on CPU, so the tolerance only has to absorb
floating-point differences between machines, and a real regression (a generator producing noise,
a label bug) shows up as a clear miss. Checks are two-sided ("both", what --update-baseline
writes): a tiny-split metric that *rises* beyond its tolerance fails too, because on a fixed split
and seed an unexplained gain is more often a leak (test images reaching training, a selection on
the test split) than an improvement; an intended improvement is recorded with
``--update-baseline``. ``--update-baseline`` rewrites the file after an intended change.
"""
from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from augbench.core.errors import UserError
from augbench.core.values import Budget

DEFAULT_METRICS = ["test_balanced_accuracy", "test_macro_auc", "test_minority_recall"]
DIRECTIONS = ("higher", "lower", "both")
ROW_KEYS = ("dataset", "budget", "seed", "arm", "classifier")


@dataclass
class Verdict:
    key: dict
    metric: str
    expected: float
    actual: float
    tolerance: float
    direction: str

    @property
    def status(self) -> str:
        """"ok", "REGRESSED" (worse beyond tolerance) or "ROSE" (better beyond tolerance, two-sided checks)."""
        if self.ok:
            return "ok"
        return "ROSE" if self.actual - self.expected > 0 else "REGRESSED"

    @property
    def ok(self) -> bool:
        if math.isnan(self.actual):
            return math.isnan(self.expected)
        delta = self.actual - self.expected
        if self.direction == "higher":
            return delta >= -self.tolerance
        if self.direction == "lower":
            return delta <= self.tolerance
        return abs(delta) <= self.tolerance


def load_baseline(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"baseline file {str(p)!r} not found.",
                        "pass --baseline PATH, or create one with `benchmark check --baseline PATH --update-baseline`.")
    text = p.read_text()
    data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict) or "grid" not in data:
        raise UserError(f"baseline {str(p)!r} has no 'grid' section.", "see docs/ci.md for the file format.")
    for check in data.get("checks", []):
        if check.get("direction", "both") not in DIRECTIONS:
            raise UserError(f"baseline check has direction {check.get('direction')!r}.", f"use one of {DIRECTIONS}.")
    return data


def _grid_spec(baseline_path: str, grid, out: str, data_dir: str | None):
    """The baseline's grid resolved like a grid file (every key, ``overrides`` included), run on this
    CPU, sequentially, into ``out``: the numbers a baseline holds are CPU numbers."""
    from augbench.benchmark.gridfile import spec_from_grid

    return spec_from_grid(grid, f"baseline {str(baseline_path)!r} grid", out=out, device="cpu", executor="local",
                          jobs=1, data_dir=data_dir)


def _actual_rows(result) -> list[dict]:
    from augbench.core.layout import TAG_GRID
    from augbench.reports.runs import search_runs

    runs = search_runs(result.tracking_uri, result.experiment, filter_string=f"tags.`{TAG_GRID}` = '{result.grid_id}'")
    rows = []
    for _, run in runs.iterrows():
        key = {k: str(run[f"params.{k}"]) for k in ROW_KEYS}
        metrics = {c.removeprefix("metrics."): float(run[c]) for c in runs.columns
                   if c.startswith("metrics.") and run[c] == run[c]}
        rows.append({"key": key, "metrics": metrics})
    return rows


def run_check(baseline_path: str, *, update: bool = False, out: str | None = None, data_dir: str | None = None,
              echo=print) -> int:
    from augbench.benchmark.runner import run_grid

    baseline = load_baseline(baseline_path)
    with tempfile.TemporaryDirectory(prefix="augbench-check-") as tmp:
        spec, run_opts, _ = _grid_spec(baseline_path, baseline["grid"], out or tmp, data_dir)
        run_opts["force"] = True  # a check always recomputes: a cached number cannot regress
        result = run_grid(spec, show_progress=False, echo=echo, **run_opts)
        if result.failed:
            for o in result.failed:
                echo(f"FAILED {o.label}: {o.error}")
            echo(f"check: {len(result.failed)} cells failed to run")
            return 1
        rows = _actual_rows(result)
    if update:
        return _write_baseline(baseline_path, baseline, rows, echo)
    return _compare(baseline, rows, echo)


def _write_baseline(path, baseline, rows, echo) -> int:
    metrics = baseline.get("metrics", DEFAULT_METRICS)
    tol = float(baseline.get("default_tolerance", 0.02))
    checks = []
    for row in sorted(rows, key=lambda r: tuple(r["key"].values())):
        for metric in metrics:
            if metric in row["metrics"]:
                checks.append({**row["key"], "metric": metric, "expected": round(row["metrics"][metric], 6),
                               "tolerance": tol, "direction": "both"})
    baseline = {**baseline, "checks": checks}
    Path(path).write_text(json.dumps(baseline, indent=2) + "\n")
    echo(f"baseline {path} rewritten: {len(checks)} checks from {len(rows)} runs")
    return 0


def _compare(baseline, rows, echo) -> int:
    index = {tuple(r["key"][k] for k in ROW_KEYS): r["metrics"] for r in rows}
    verdicts, missing = [], []
    for check in baseline.get("checks", []):
        # a hand-written budget is matched as a budget: 12.50% is the 12.5% the runs store
        key = tuple(Budget.parse(check[k]).label() if k == "budget" else str(check[k]) for k in ROW_KEYS)
        metrics = index.get(key)
        if metrics is None or check["metric"] not in metrics:
            missing.append(f"{' '.join(key)} {check['metric']}")
            continue
        verdicts.append(Verdict(dict(zip(ROW_KEYS, key)), check["metric"], float(check["expected"]),
                                metrics[check["metric"]], float(check.get("tolerance", 0.0)),
                                check.get("direction", "both")))
    if not verdicts and not missing:
        raise UserError("the baseline has no checks.", "create them with --update-baseline.")
    bad = [v for v in verdicts if not v.ok]
    echo(f"| status | dataset | budget | seed | arm | classifier | metric | expected | actual | delta | tolerance |")
    echo("|---|---|---|---|---|---|---|---|---|---|---|")
    for v in sorted(verdicts, key=lambda v: v.ok):
        if v.ok and not bad:
            continue
        k = v.key
        echo(f"| {v.status} | {k['dataset']} | {k['budget']} | {k['seed']} | {k['arm']} | "
             f"{k['classifier']} | {v.metric} | {v.expected:.4f} | {v.actual:.4f} | {v.actual - v.expected:+.4f} | "
             f"{v.tolerance:g} ({v.direction}) |")
    for m in missing:
        echo(f"| MISSING | {m} |")
    rose = [v for v in bad if v.status == "ROSE"]
    echo(f"check: {len(verdicts) - len(bad)}/{len(verdicts)} metrics hold, {len(bad) - len(rose)} regressed, "
         f"{len(rose)} rose beyond tolerance, {len(missing)} missing")
    if rose:
        echo("A metric that rose beyond its tolerance on a fixed tiny split is more often a leak (test images in "
             "training, selection on the test split) than a gain: find the cause; if the gain is intended, record "
             "it with --update-baseline.")
    return 1 if bad or missing else 0

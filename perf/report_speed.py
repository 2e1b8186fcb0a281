"""Wall time of `benchmark report` on a recorded store, stage by stage, shared scores vs rescoring.

The report's cost is the bootstrap: every comparison (each arm against none, the gap closed towards
the control, every pair of arms, every class) recomputes metrics on 2000 test-set resamples. With
shared scores each run is scored once on the resamples all comparisons of its test set share; the
old path rescored both arms for every comparison. This script builds the same report both ways,
prints the seconds of each stage, and checks that the two Markdown reports are identical.

    .venv/bin/python perf/mission_quick.py --workdir /tmp/mission      # records a mission-sized store
    .venv/bin/python perf/report_speed.py --store /tmp/mission/augbench-out
    .venv/bin/python perf/report_speed.py --store ... --skip-old       # only the shared path
    .venv/bin/python perf/report_speed.py --store ... --figures        # also the figures (html/png)

Run it on an idle machine: the CPU is named in the output; quote the ratio of one run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_description  # noqa: E402


def store_uri(path: str) -> str:
    if "://" in path:
        return path
    p = Path(path)
    db = p / "mlflow.db" if p.is_dir() else p
    if not db.exists():
        raise SystemExit(f"no MLflow store at {db}: pass --store <benchmark run's --out folder> or a tracking URI")
    return f"sqlite:///{db.resolve()}"


def timed(uri: str, share: bool, figures: bool, experiment: str):
    from augbench.reports.build import build_report, report_markdown

    t0 = time.perf_counter()
    report = build_report(uri, experiment, figures=figures, share_scores=share, progress=False)
    text = report_markdown(report)
    return time.perf_counter() - t0, report, text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, help="a `benchmark run` output folder (with mlflow.db) or a tracking URI")
    ap.add_argument("--experiment", default="augbench")
    ap.add_argument("--figures", action="store_true", help="also draw the figures (what --format html,png adds)")
    ap.add_argument("--skip-old", action="store_true", help="do not time the per-comparison rescoring path")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = store_uri(args.store)
    cpu = cpu_description()
    print(f"CPU: {cpu}; store {uri}", flush=True)
    wall, report, text = timed(uri, True, args.figures, args.experiment)
    runs = report.runs
    result = {"cpu": cpu, "cpus": os.cpu_count(), "store": uri, "cells": len(runs.cells), "fits": len(runs.fits),
              "tables": len(report.tables), "figures": args.figures, "shared_s": wall,
              "shared_stages": report.timings}
    print(f"{len(runs.cells)} cells, {len(runs.fits)} fits, {len(report.tables)} tables")
    print(f"shared scores: {wall:.1f} s")
    for name, sec in report.timings.items():
        print(f"  {name:<32} {sec:7.1f} s")
    if not args.skip_old:
        old_wall, old_report, old_text = timed(uri, False, args.figures, args.experiment)
        result |= {"rescoring_s": old_wall, "rescoring_stages": old_report.timings, "identical": old_text == text}
        print(f"rescoring per comparison: {old_wall:.1f} s (x{old_wall / wall:.1f}); Markdown identical: "
              f"{old_text == text}")
        for name, sec in old_report.timings.items():
            print(f"  {name:<32} {sec:7.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if result.get("identical", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())

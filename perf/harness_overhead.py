"""Harness overhead of `benchmark run`: the share of wall time not spent on the work itself.

    overhead = wall - work,   share = overhead / wall

``wall`` is measured around the whole command, as a user sees it: process start (imports
included) to exit, with a fresh output folder (no cached fits, a new MLflow store). ``work`` is
summed from the timings every run logs:

* generator-fit runs: ``time_fit_s`` (training the arm) + ``time_sample_s`` (drawing its images)
* classifier cells: ``time_train_s`` (optimisation) + ``time_val_eval_s`` (per-epoch validation
  scoring for model selection) + ``time_test_eval_s`` (final val + test predictions)
* fidelity metrics of learned arms (``time_fidelity_s``: domain-extractor features, FID/KID/PRDC/
  MS-SSIM/memorisation) are evaluation too; the share is printed with them counted as work (the
  target) and, for transparency, as overhead.

What is left is the harness: interpreter start and imports, validation and planning, dataset
loading from the decoded cache, budget sampling, MLflow bookkeeping, metric computation, the
summary table. The decoded-image cache ($AUGBENCH_CACHE or <out>/cache/datasets) is assumed warm
(a one-time cost per machine, reported by whether it existed). Target: share <= 3 %.

    .venv/bin/python perf/harness_overhead.py --quick     # isic, 2 arms, budget 10, quick preset (~2-4 min)
    .venv/bin/python perf/harness_overhead.py             # isic, 5 arms x 2 budgets (~10-15 min)
    .venv/bin/python perf/harness_overhead.py --from-out DIR --wall SECONDS   # analyse an earlier run
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CELL_WORK = ("time_train_s", "time_val_eval_s", "time_test_eval_s")
FIT_WORK = ("time_fit_s", "time_sample_s")


def bench_env(threads: int | None = None) -> dict:
    env = dict(os.environ)
    env.setdefault("BENCHMARK_DATA_DIR", str(REPO.parent / "shared" / "data"))
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "NO_ALBUMENTATIONS_UPDATE": "1",
                "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true", "PYTHONUNBUFFERED": "1"})
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def timed_run(argv: list[str], log: Path, env: dict) -> tuple[int, float]:
    """Run `benchmark ...` as a fresh process; wall seconds from spawn to exit."""
    t0 = time.perf_counter()
    with open(log, "wb") as handle:
        code = subprocess.call([sys.executable, "-m", "augbench.benchmark.cli", *argv], cwd=REPO, env=env,
                               stdout=handle, stderr=subprocess.STDOUT)
    return code, time.perf_counter() - t0


def _sum(frame, column: str) -> float:
    col = f"metrics.{column}"
    return float(frame[col].fillna(0).sum()) if col in frame else 0.0


def analyse(out: Path, wall: float, experiment: str = "augbench", workers: int | None = None) -> dict:
    """Work and overhead from the runs in ``out``'s store (every FINISHED fit and cell run).

    With a pool of ``workers`` local processes (the grid run's ``grid_jobs``, or given), the logged
    times are worker-seconds: the machine had ``wall x workers`` of them, and what work did not fill
    is harness overhead plus workers waiting (the last groups of a grid, the domain extractor lock).
    With one worker this is the same sum as before."""
    from augbench.benchmark.store import default_tracking_uri
    from augbench.reports.runs import search_runs

    uri = default_tracking_uri(out)
    cells = search_runs(uri, experiment, kind="cell")
    fits = search_runs(uri, experiment, kind="generator")
    work = {k: _sum(cells, k) for k in CELL_WORK} | {k: _sum(fits, k) for k in FIT_WORK}
    fidelity = _sum(fits, "time_fidelity_s")
    data = _sum(fits, "time_data_s")
    compute_plan = _sum(fits, "time_compute_plan_s")
    grids = search_runs(uri, experiment, kind="grid", status=None)
    phases = {k: _sum(grids, f"time_{k}_s") for k in ("open_store", "validate", "plan", "execute")}
    if workers is None:
        workers = int(_sum(grids, "grid_jobs")) or 1
    in_cells = _sum(cells, "time_total_s") - sum(work[k] for k in CELL_WORK)
    total_work = sum(work.values()) + fidelity
    per_arm = {}
    for arm in sorted(set(cells.get("params.arm", [])) | set(fits.get("params.arm", []))):
        c = cells[cells["params.arm"] == arm] if len(cells) else cells
        f = fits[fits["params.arm"] == arm] if len(fits) else fits
        per_arm[arm] = {"fit_sample_s": sum(_sum(f, k) for k in FIT_WORK), "fidelity_s": _sum(f, "time_fidelity_s"),
                        "classifier_s": sum(_sum(c, k) for k in CELL_WORK), "cells": int(len(c))}
        per_arm[arm]["total_s"] = sum(v for k, v in per_arm[arm].items() if k.endswith("_s"))
    capacity = wall * workers
    execute_overhead = phases["execute"] * workers - total_work
    return {
        "wall_s": wall, "workers": workers, "capacity_s": capacity, "work_s": total_work,
        "overhead_s": capacity - total_work,
        "overhead_share": (capacity - total_work) / capacity,
        "overhead_share_fidelity_as_overhead": (capacity - total_work + fidelity) / capacity,
        "work_parts_s": work | {"time_fidelity_s": fidelity},
        "phases_s": {
            "classifier training": work["time_train_s"],
            "classifier scoring (val each epoch, final val + test)": work["time_val_eval_s"] + work["time_test_eval_s"],
            "generator fits (convergence probe included)": work["time_fit_s"],
            "drawing synthetic images": work["time_sample_s"],
            "fidelity metrics": fidelity,
            "measuring each arm's cost for the FLOPs budget": compute_plan,
        },
        "overhead_parts_s": {
            "interpreter start, imports, argument resolution, closing summary": wall - sum(phases.values()),
            "opening/creating the MLflow store": phases["open_store"],
            "validation (names, dataset decode or cache load)": phases["validate"],
            "planning (finished-cell lookup, grid run)": phases["plan"],
            "during execution, outside fit/sample/train/eval (worker-seconds)": execute_overhead,
            "  of which measuring each arm's cost for the FLOPs budget": compute_plan,
            "  of which inside classifier cells (metrics, logging)": in_cells,
            "  of which data preparation (subsets, budgets)": data,
        },
        "n_cells": int(len(cells)), "n_fits": int(len(fits)), "per_arm": per_arm,
    }


def startup_seconds(env: dict) -> float:
    """Interpreter + the imports every `benchmark run` pays before its first cell (one cold-ish sample)."""
    code = "import benchmark.cli, benchmark.runner, benchmark.execute, torch, mlflow, generators, classifiers"
    t0 = time.perf_counter()
    subprocess.check_call([sys.executable, "-c", code], cwd=REPO, env=env)
    return time.perf_counter() - t0


def markdown(result: dict, argv: list[str]) -> str:
    workers = result.get("workers", 1)
    pool = (f" x {workers} workers = {result['capacity_s']:.1f} worker-s; every figure below is worker-seconds"
            if workers > 1 else "")
    lines = [f"command: `benchmark {' '.join(argv)}`",
             f"- wall {result['wall_s']:.1f} s{pool}, work {result['work_s']:.1f} s "
             f"({result['n_fits']} generator fits, {result['n_cells']} classifier cells)",
             f"- **harness overhead{' and idle workers' if workers > 1 else ''} {result['overhead_s']:.1f} s = "
             f"{100 * result['overhead_share']:.2f} % of {'capacity' if workers > 1 else 'wall'}** "
             f"(fidelity counted as evaluation work; counted as overhead instead: "
             f"{100 * result['overhead_share_fidelity_as_overhead']:.2f} %)"]
    if "phases_s" in result:
        lines.append("- phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in result["phases_s"].items()))
    lines += [f"  - {k}: {v:.1f} s" for k, v in result["overhead_parts_s"].items()]
    if "startup_s" in result:
        lines.append(f"  - (of which interpreter + imports, measured separately: {result['startup_s']:.1f} s)")
    lines.append("- work: " + ", ".join(f"{k.removeprefix('time_')} {v:.1f} s" for k, v in result["work_parts_s"].items()))
    lines.append("\n| arm | cells | fit + sample (s) | fidelity (s) | classifier train + eval (s) | total (s) |")
    lines.append("|---|---|---|---|---|---|")
    for arm, p in sorted(result["per_arm"].items(), key=lambda kv: -kv[1]["total_s"]):
        lines.append(f"| {arm} | {p['cells']} | {p['fit_sample_s']:.1f} | {p['fidelity_s']:.1f} | "
                     f"{p['classifier_s']:.1f} | {p['total_s']:.1f} |")
    return "\n".join(lines)


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="isic, none+oversample, budget 10 (a few minutes)")
    ap.add_argument("--dataset", default="isic")
    ap.add_argument("--generators", help="default: none,oversample,classic,dcgan,latent-smote (quick: none,oversample)")
    ap.add_argument("--budget", help="default 10,50 (quick: 10)")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--threads", type=int, help="OMP_NUM_THREADS for the run (default: unset)")
    ap.add_argument("--out", help="output folder (default: a fresh temporary one)")
    ap.add_argument("--from-out", help="analyse the store of an earlier run instead of running")
    ap.add_argument("--wall", type=float, help="with --from-out: the wall seconds of that run")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args()
    env = bench_env(args.threads)
    if args.from_out:
        if args.wall is None:
            ap.error("--from-out needs --wall")
        result = analyse(Path(args.from_out), args.wall)
        print(markdown(result, ["(earlier run)", str(args.from_out)]))
        return 0
    generators = args.generators or ("none,oversample" if args.quick else "none,oversample,classic,dcgan,latent-smote")
    budget = args.budget or ("10" if args.quick else "10,50")
    out = Path(args.out or tempfile.mkdtemp(prefix="augbench-overhead-"))
    argv = ["run", "--dataset", args.dataset, "--generators", generators, "--budget", budget, "--preset", args.preset,
            "--out", str(out), "--no-progress"]
    cache = Path(env.get("AUGBENCH_CACHE", out / "cache")) / "datasets"
    print(f"load average before: {load_average()}; decoded-image cache {'warm' if cache.exists() else 'cold'}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    code, wall = timed_run(argv, out / "bench.log", env)
    print(f"wall {wall:.1f} s (exit code {code})", flush=True)
    (out / "wall.json").write_text(json.dumps({"wall_s": wall, "argv": argv, "exit_code": code}))
    if code != 0:
        print(f"`benchmark {' '.join(argv)}` failed with exit code {code}; see the log in {out}")
        return code
    result = analyse(out, wall)
    result["startup_s"] = startup_seconds(env)
    result |= {"argv": argv, "load_after": load_average(), "cpus": os.cpu_count()}
    print(markdown(result, argv))
    print(f"load average after: {result['load_after']} (machine shared with other work: compare shares, not seconds)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

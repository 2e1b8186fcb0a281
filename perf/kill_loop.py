"""Kill loop: `benchmark run` survives SIGKILL at any moment, and a rerun finishes every cell exactly once.

A small grid (smoke preset, 2 arms x 2 budgets, small-cnn, CPU, 1 thread) is started and killed
with SIGKILL (the whole process group, like `kill -9`) at random moments, then rerun; when a run
completes before its kill, the store is checked and a fresh store starts the next round. After
``--kills`` real kills and a final completing rerun, each round's store must show:

* one FINISHED cell run per cell hash, and no second FINISHED run for any hash (nothing ran twice);
* one FINISHED generator run per fit hash;
* no run left RUNNING (the grid parent included) and no cell that is not FINISHED;
* ``PRAGMA integrity_check`` = ok on the SQLite store.

The random moments are drawn uniformly over the measured length of a clean run (a first, unkilled
round that also calibrates), so some land in start-up and store creation, some in data loading,
fits, training and MLflow writes. Not a unit test (minutes of CPU); results go to docs/ci.md.

    python perf/kill_loop.py                      # 20 kills, breast, ~8-12 min on 2 cores
    python perf/kill_loop.py --kills 5 --seed 1   # a quicker look
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from augbench.core.layout import KIND_CELL, KIND_FIT, TAG_HASH, TAG_KIND, TAG_SUPERSEDED

REPO = Path(__file__).resolve().parents[1]


def grid_argv(out: Path, dataset: str) -> list[str]:
    return ["run", "--dataset", dataset, "--generators", "none,oversample", "--budget", "10,20",
            "--classifiers", "small-cnn", "--seeds", "0", "--preset", "smoke", "--device", "cpu",
            "--threads", "1", "--out", str(out), "--no-progress"]


def child_env(cache: Path) -> dict:
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
                "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "NO_ALBUMENTATIONS_UPDATE": "1",
                "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true", "AUGBENCH_CACHE": str(cache)})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def start(argv: list[str], log: Path, env: dict) -> subprocess.Popen:
    with open(log, "ab") as handle:
        return subprocess.Popen([sys.executable, "-m", "augbench.benchmark.cli", *argv], cwd=REPO, env=env,
                                stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def store_rows(db: Path) -> list[tuple]:
    """(run id, status, kind, hash, superseded) of every active augbench run."""
    query = """
        SELECT r.run_uuid, r.status,
               (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = ?),
               (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = ?),
               (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = ?)
        FROM runs r WHERE r.lifecycle_stage = 'active'"""
    with sqlite3.connect(db, timeout=30) as con:
        return con.execute(query, (TAG_KIND, TAG_HASH, TAG_SUPERSEDED)).fetchall()


def check_store(out: Path, n_cells: int, n_fits: int) -> list[str]:
    """Problems found in a completed round's store (empty list: all good)."""
    db = out / "mlflow.db"
    problems = []
    with sqlite3.connect(db, timeout=30) as con:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    rows = store_rows(db)
    for kind, expected in ((KIND_CELL, n_cells), (KIND_FIT, n_fits)):
        finished = Counter(h for _, status, k, h, sup in rows if k == kind and status == "FINISHED" and sup != "true")
        if len(finished) != expected:
            problems.append(f"{kind}: {len(finished)} hashes FINISHED, expected {expected}")
        twice = {h: n for h, n in finished.items() if n > 1}
        if twice:
            problems.append(f"{kind}: finished more than once: {twice}")
    running = [(k, h) for _, status, k, h, _ in rows if status == "RUNNING"]
    if running:
        problems.append(f"left RUNNING: {running}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--dataset", default="breast")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random kill moments")
    ap.add_argument("--workdir", help="keep stores and logs here (default: a temporary folder)")
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="augbench-kill-loop-"))
    work.mkdir(parents=True, exist_ok=True)
    env = child_env(work / "cache")
    n_cells, n_fits = 4, 4  # 2 arms x 2 budgets x 1 seed x 1 classifier

    # calibration round: a clean run (also warms the decoded-image cache and the store template)
    out = work / "round-0"
    t0 = time.perf_counter()
    rc = start(grid_argv(out, args.dataset), work / "round-0.log", env).wait()
    clean = time.perf_counter() - t0
    if rc != 0:
        print(f"clean run failed (rc={rc}); see {work / 'round-0.log'}")
        return 1
    problems = {"round-0": check_store(out, n_cells, n_fits)}
    print(f"clean run: {clean:.1f} s; kill moments drawn from U(0, {clean:.1f} s)")

    kills, attempts, rounds, moments, t_all = 0, 0, 1, [], time.perf_counter()
    out, log = work / f"round-{rounds}", work / f"round-{rounds}.log"
    while True:
        attempts += 1
        proc = start(grid_argv(out, args.dataset), log, env)
        if kills < args.kills:
            moment = rng.uniform(0.0, clean)
            try:
                rc = proc.wait(timeout=moment)
            except subprocess.TimeoutExpired:
                kill_group(proc)
                kills += 1
                moments.append(round(moment, 2))
                print(f"kill {kills:2d} at {moment:5.1f} s (round {rounds}, attempt {attempts})", flush=True)
                continue
        else:
            rc = proc.wait()
        # the run ended on its own: the round is complete
        if rc != 0:
            problems[f"round-{rounds}"] = [f"completing run exited {rc}; see {log}"]
        else:
            problems[f"round-{rounds}"] = check_store(out, n_cells, n_fits)
        print(f"round {rounds} complete: {problems[f'round-{rounds}'] or 'ok'}", flush=True)
        if kills >= args.kills:
            break
        rounds += 1
        out, log = work / f"round-{rounds}", work / f"round-{rounds}.log"

    bad = {k: v for k, v in problems.items() if v}
    result = {"kills": kills, "attempts": attempts, "rounds": rounds, "clean_run_s": round(clean, 1),
              "loop_s": round(time.perf_counter() - t_all, 1), "kill_moments_s": moments,
              "cells_per_round": n_cells, "problems": bad, "workdir": str(work)}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Wall time of the mission command, exactly as a user types it, on this machine.

    benchmark run --generators all --dataset isic --budget 10,50,100

No other flag: on a machine without a GPU the preset is chosen by hardware (quick), and the output
folder is the default ./augbench-out, here in a fresh temporary working directory, so nothing is
cached and a new MLflow store is created. Only $BENCHMARK_DATA_DIR is set (to the shared data).
The decoded-image cache is cold unless $AUGBENCH_CACHE points at a warm one; this script unsets
it, so decoding the images counts too.

Reported: the CPU (model, AVX-512/AMX/bf16 flags, the bf16 verdict the presets act on), the wall
time (target: three seeds in at most 30 minutes on 2 CPU cores), the time per phase (classifier
training and scoring, generator fits, sampling, fidelity, cost measurement) and per arm, and the
harness overhead from perf/harness_overhead.py's accounting. With a pool of workers (the quick
preset's ``jobs: auto``) the phase and arm times are worker-seconds.

    .venv/bin/python perf/mission_quick.py                  # the real thing (~30 min)
    .venv/bin/python perf/mission_quick.py --quick          # same pipeline, budget 10, 3 arms (a few min)
    .venv/bin/python perf/mission_quick.py -- --seeds 0     # extra arguments go to `benchmark run`
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness_overhead import REPO, analyse, bench_env, load_average, markdown  # noqa: E402
from machine import cpu_description  # noqa: E402

MISSION = ["run", "--generators", "all", "--dataset", "isic", "--budget", "10,50,100"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="check the script: budget 10, arms none,oversample,dcgan")
    ap.add_argument("--workdir", help="where ./augbench-out is created (default: a fresh temporary folder)")
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("extra", nargs="*", help="after --: more arguments for `benchmark run` (a variant to time)")
    args = ap.parse_args()
    argv = list(MISSION)
    if args.quick:
        argv = ["run", "--generators", "none,oversample,dcgan", "--dataset", "isic", "--budget", "10"]
    argv += args.extra
    work = Path(args.workdir or tempfile.mkdtemp(prefix="augbench-mission-"))
    work.mkdir(parents=True, exist_ok=True)
    env = bench_env()
    env.pop("AUGBENCH_CACHE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    cpu = cpu_description()
    print(f"CPU: {cpu}", flush=True)
    print(f"{started}: `benchmark {' '.join(argv)}` in {work} (load average {load_average()})", flush=True)
    code, wall = _run_in(work, argv, env)
    print(f"exit code {code}, wall {wall:.0f} s = {wall / 60:.1f} min (load average after: {load_average()})")
    out = work / "augbench-out"
    if not (out / "mlflow.db").exists():
        print("no store was written; see the log")
        return code or 1
    result = analyse(out, wall) | {"argv": argv, "exit_code": code, "started": started, "cpus": os.cpu_count(), "cpu": cpu,
                                    "load_after": load_average(), "log": str(work / "mission.log")}
    print(markdown(result, argv))
    head = (work / "mission.log").read_text().split("grid ", 1)[0]
    print("\ndefaults printed by the command:\n" + head)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return code


def _run_in(work: Path, argv: list[str], env: dict):
    """timed_run with the working directory set to ``work`` (so ./augbench-out lands there)."""
    import subprocess
    import time

    t0 = time.perf_counter()
    with open(work / "mission.log", "wb") as handle:
        code = subprocess.call([sys.executable, "-m", "augbench.benchmark.cli", *argv], cwd=work, env=env,
                               stdout=handle, stderr=subprocess.STDOUT)
    return code, time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())

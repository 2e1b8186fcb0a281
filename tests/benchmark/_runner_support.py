"""Shared by the runner tests: a tiny preset, `benchmark run` as a real subprocess, reading the store back.

The tiny preset (16 px synthetic shapes, a few classifier epochs, no fidelity) keeps each cell to
about a second on one CPU thread, so the tests exercise the runner, not the models.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def tiny_preset(tmp_path: Path, *, epochs: int = 3, dcgan_steps: int = 10, name: str = "tiny") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "image_size": 16, "seeds": [0], "classifiers": ["small-cnn"],
        "subsample": {"train_per_class": 60, "eval_per_class": 20},
        "classifier": {"epochs": epochs, "batch_size": 32, "lr": 0.001, "eval_batch_size": 256},
        "fidelity": {"enabled": False},
        "generators": {"dcgan": {"steps": dcgan_steps, "batch_size": 16}},
    }))
    return path


def run_argv(out: Path, preset: Path, *extra: str, generators: str = "none,oversample", budget: str = "10") -> list[str]:
    return ["run", "--dataset", "synthetic", "--generators", generators, "--budget", budget, "--preset", str(preset),
            "--out", str(out), "--no-progress", "--device", "cpu", *extra]


def env(threads: int = 1) -> dict:
    e = dict(os.environ)
    e.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1",
              "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "NO_ALBUMENTATIONS_UPDATE": "1",
              "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true", "RAY_DISABLE_USAGE_STATS": "1"})
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), e.get("PYTHONPATH")]))
    return e


def start_cli(argv: list[str], log: Path, threads: int = 1) -> subprocess.Popen:
    """`python -m benchmark.cli ...` in its own session (so a kill reaches nothing else), output to ``log``."""
    handle = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "augbench.benchmark.cli", *argv], cwd=REPO, env=env(threads),
                            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def run_cli(argv: list[str], log: Path, timeout: float = 300, threads: int = 1) -> int:
    proc = start_cli(argv, log, threads)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        raise AssertionError(f"`benchmark {' '.join(argv)}` ran over {timeout}s:\n{log.read_text()[-3000:]}")


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL, like `kill -9` on the command (and whatever it spawned), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def wait_for(condition, proc: subprocess.Popen, log: Path, what: str, timeout: float = 240, poll: float = 0.02):
    """Poll ``condition()`` until it is true; fail (showing the log) if the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (rc={proc.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        time.sleep(poll)
    kill(proc)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


# --- reading the MLflow store directly (cheap enough to poll while a run writes it) ---------------------
def store_runs(out: Path, kind: str = "cell") -> list[dict]:
    """Active (not deleted) runs of one kind: run_id, status, hash, grid id, superseded."""
    db = out / "mlflow.db"
    if not db.exists():
        return []
    query = """
        SELECT r.run_uuid, r.status,
               (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = 'augbench.hash'),
               (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = 'augbench.grid_id'),
               (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = 'augbench.superseded')
        FROM runs r JOIN tags k ON k.run_uuid = r.run_uuid
        WHERE k.key = 'augbench.kind' AND k.value = ? AND r.lifecycle_stage = 'active'"""
    try:
        with sqlite3.connect(db, timeout=30) as con:
            rows = con.execute(query, (kind,)).fetchall()
    except sqlite3.OperationalError:  # schema not created yet
        return []
    return [{"run_id": r[0], "status": r[1], "hash": r[2], "grid_id": r[3], "superseded": r[4] == "true"}
            for r in rows]


def spec_for(argv: list[str]):
    """The GridSpec the CLI builds for ``argv`` (to know the expected cell and fit hashes)."""
    from augbench.benchmark.cli import build_parser
    from augbench.benchmark.gridfile import spec_from_args

    from augbench.benchmark.split_check import with_fingerprints

    spec = spec_from_args(build_parser().parse_args(argv))[0]
    return with_fingerprints(spec)  # as the runner does before hashing

"""--executor ray against a real local Ray cluster (`ray start --head` on 127.0.0.1, started here):
the grid's cells run as Ray tasks and land in the shared MLflow store, once each."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from augbench.benchmark.cli import main
from tests.benchmark._runner_support import env, run_argv, spec_for, start_cli, store_runs, tiny_preset, wait_for

ray = pytest.importorskip("ray")
START_TIMEOUT = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_cluster(tmp_path):
    """A one-node cluster with 2 CPUs in its own session and temp dir; torn down by process group."""
    port = _free_port()
    temp = Path("/tmp") / f"augbench-ray-{os.getpid()}-{port}"  # short: Ray's socket paths have a length limit
    ray_bin = Path(sys.executable).with_name("ray")
    cmd = [str(ray_bin) if ray_bin.exists() else shutil.which("ray"), "start", "--head", "--block",
           "--port", str(port), "--node-ip-address", "127.0.0.1", "--num-cpus", "2", "--num-gpus", "0",
           "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", str(temp),
           "--ray-client-server-port", str(_free_port()), "--dashboard-agent-listen-port", str(_free_port())]
    log = open(tmp_path / "ray.log", "wb")
    proc = subprocess.Popen(cmd, env=env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`ray start` exited ({proc.returncode}):\n{(tmp_path / 'ray.log').read_text()[-3000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0 and b"Ray runtime started" in (tmp_path / "ray.log").read_bytes():
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"Ray did not start in {START_TIMEOUT}s:\n{(tmp_path / 'ray.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        proc.send_signal(signal.SIGTERM)  # `ray start --block` stops its processes on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of this cluster, nothing else
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_grid_on_local_ray_cluster(tmp_path, ray_cluster, monkeypatch, capsys):
    for key, value in env().items():
        if key.startswith(("MLFLOW", "DO_NOT", "NO_ALB", "RAY_")):
            monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    argv = run_argv(out, tiny_preset(tmp_path), "--executor", "ray", "--ray-address", ray_cluster,
                    "--cpus-per-cell", "1", generators="none,oversample,classic")
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "ray at 127.0.0.1" in printed and "3 cells finished now" in printed
    assert not ray.is_initialized()  # the executor closed the connection it opened

    expected = Counter(c.hash for c in spec_for(argv).cells())
    runs = store_runs(out)
    assert Counter(r["hash"] for r in runs) == expected
    assert {r["status"] for r in runs} == {"FINISHED"}
    # the work ran in Ray worker processes, not in this one
    import mlflow

    from augbench.benchmark.store import default_tracking_uri

    client = mlflow.MlflowClient(default_tracking_uri(out))
    owners = {client.get_run(r["run_id"]).data.tags["augbench.owner"] for r in runs}
    assert all(o.split(":")[1] != str(os.getpid()) for o in owners)

    # resume through Ray too: nothing left to do
    assert main(argv) == 0
    assert "3 already finished, 0 to run" in capsys.readouterr().out
    assert len(store_runs(out)) == 3


def _running_owners(out: Path) -> list[str]:
    """Owner tags (host:pid[:ticks]) of the cell runs now RUNNING in the store."""
    import sqlite3

    db = out / "mlflow.db"
    if not db.exists():
        return []
    query = """SELECT o.value FROM runs r JOIN tags k ON k.run_uuid = r.run_uuid JOIN tags o ON o.run_uuid = r.run_uuid
               WHERE k.key = 'augbench.kind' AND k.value = 'cell' AND o.key = 'augbench.owner'
               AND r.status = 'RUNNING' AND r.lifecycle_stage = 'active'"""
    try:
        with sqlite3.connect(db, timeout=30) as con:
            return [row[0] for row in con.execute(query)]
    except sqlite3.OperationalError:  # schema not created yet
        return []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_killed_ray_worker_is_retried_and_the_grid_finishes(tmp_path, ray_cluster):
    """SIGKILL the Ray worker process that is training a cell: the driver clears the run it left and
    resubmits the group; every cell ends FINISHED exactly once, nothing is left RUNNING."""
    out, log = tmp_path / "out", tmp_path / "run.log"
    preset = tiny_preset(tmp_path, epochs=60)  # a cell long enough to be caught running
    argv = run_argv(out, preset, "--executor", "ray", "--ray-address", ray_cluster, "--cpus-per-cell", "1",
                    generators="none,oversample")
    proc = start_cli(argv, log)
    owner = wait_for(lambda: _running_owners(out), proc, log, "a cell running on a Ray worker")[0]
    pid = int(owner.split(":")[1])
    assert pid != proc.pid  # a worker, not the driver
    os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=400) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "died (WorkerCrashedError)" in text and "1 run(s) it left RUNNING deleted" in text, text[-3000:]

    expected = Counter(c.hash for c in spec_for(argv).cells())
    runs = store_runs(out)
    assert Counter(r["hash"] for r in runs if r["status"] == "FINISHED") == expected
    assert not [r for r in runs if r["status"] != "FINISHED"]  # the killed attempt's run is gone, not FAILED


def test_unreachable_ray_cluster_is_one_message(tmp_path, capsys):
    out = tmp_path / "out"
    argv = run_argv(out, tiny_preset(tmp_path), "--executor", "ray", "--ray-address", f"127.0.0.1:{_free_port()}",
                    generators="none")
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "cannot join a Ray cluster" in err and "fix:" in err

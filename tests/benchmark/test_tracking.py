"""Tracking store safety: lock errors are retried, crash corpses are told from live runs, and two
grids writing one store at once neither corrupt it nor mix their runs."""
import socket
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest

from augbench.benchmark import tracking
from augbench.benchmark.tracking import TAG_DRIVER, Tracker, default_tracking_uri, owner_alive, owner_token, retrying
from augbench.reports.runs import TAG_OWNER, TAG_SUPERSEDED
from tests.benchmark._runner_support import run_argv, spec_for, start_cli, store_runs, tiny_preset


def test_lock_errors_are_retried_and_others_are_not(monkeypatch):
    monkeypatch.setattr(tracking.time, "sleep", lambda s: None)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        return "ok"

    assert retrying(flaky) == "ok" and len(calls) == 4

    def broken():
        calls.append(1)
        raise ValueError("no such column")

    calls.clear()
    with pytest.raises(ValueError):
        retrying(broken)
    assert len(calls) == 1


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_owner_liveness():
    host = socket.gethostname()
    assert owner_alive(owner_token())
    assert not owner_alive(f"{host}:{_dead_pid()}")
    me = owner_token()
    if me.count(":") == 2:  # Linux: a recycled pid (same number, other start time) is not the owner
        assert not owner_alive(me.rsplit(":", 1)[0] + ":1")
    assert owner_alive(f"some-other-host:{_dead_pid()}")  # cannot tell: never delete another machine's work
    assert owner_alive("")


def test_clear_stale_deletes_only_corpses(tmp_path):
    tracker = Tracker(default_tracking_uri(tmp_path), "t", tmp_path / "artifacts")
    host, dead = socket.gethostname(), _dead_pid()
    alive = tracker.start("cell", "h1", "alive", params={})
    dead_owner = tracker.start("cell", "h1", "dead owner", params={}, tags={TAG_OWNER: f"{host}:{dead}"})
    dead_driver = tracker.start("cell", "h1", "dead driver", params={}, tags={TAG_DRIVER: f"{host}:{dead}"})
    failed = tracker.start("cell", "h1", "failed", params={})
    tracker.finish(failed, "FAILED")
    done = tracker.start("cell", "h1", "done", params={})
    tracker.finish(done)
    other = tracker.start("cell", "h2", "other cell", params={}, tags={TAG_OWNER: f"{host}:{dead}"})

    assert tracker.clear_stale("cell", "h1") == 2
    left = {r.info.run_id: r for r in tracker.runs("cell", hash_="h1")}
    assert set(left) == {alive, failed, done}
    assert left[failed].data.tags[TAG_SUPERSEDED] == "true"
    assert TAG_SUPERSEDED not in left[done].data.tags
    assert tracker.finished("cell") == {"h1": done}
    assert [r.info.run_id for r in tracker.runs("cell", hash_="h2")] == [other]  # another cell: untouched

    tracker.clear_stale("cell", "h1", supersede_finished=True)  # what --force does before a rerun
    assert tracker.finished("cell") == {}


@pytest.mark.slow
def test_two_grids_write_one_store_at_once(tmp_path):
    """Two `benchmark run` processes, started together on a fresh store, with overlapping cells."""
    out = tmp_path / "out"
    preset = tiny_preset(tmp_path, epochs=10)
    argv_a = run_argv(out, preset, generators="none,oversample,classic", budget="10,20")
    argv_b = run_argv(out, preset, generators="none,oversample,classic", budget="20,30")
    procs = [start_cli(argv_a, tmp_path / "a.log"), start_cli(argv_b, tmp_path / "b.log")]
    for proc, name in zip(procs, "ab"):
        assert proc.wait(timeout=600) == 0, (tmp_path / f"{name}.log").read_text()[-3000:]

    spec_a, spec_b = spec_for(argv_a), spec_for(argv_b)
    cells_a, cells_b = {c.hash for c in spec_a.cells()}, {c.hash for c in spec_b.cells()}
    assert len(cells_a & cells_b) == 3  # budget 20 is in both grids
    runs = store_runs(out)
    assert Counter(r["hash"] for r in runs) == Counter(cells_a | cells_b)  # each cell once, none lost
    assert {r["status"] for r in runs} == {"FINISHED"}
    by_grid = Counter(r["grid_id"] for r in runs)
    assert set(by_grid) <= {spec_a.grid_id(), spec_b.grid_id()}
    for r in runs:  # a run is tagged with a grid that contains it, never with the other one
        assert r["hash"] in (cells_a if r["grid_id"] == spec_a.grid_id() else cells_b)
    assert by_grid[spec_a.grid_id()] >= 3 and by_grid[spec_b.grid_id()] >= 3  # their own budgets 10 / 30
    fits = store_runs(out, "generator")
    assert Counter(r["hash"] for r in fits) == Counter({f.hash for f in spec_a.fits()} | {f.hash for f in spec_b.fits()})
    parents = Counter(r["grid_id"] for r in store_runs(out, "grid"))
    assert parents == {spec_a.grid_id(): 1, spec_b.grid_id(): 1}
    with sqlite3.connect(out / "mlflow.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # each grid's summary shows all its cells, including the ones the other grid ran
    for name in "ab":
        log = (tmp_path / f"{name}.log").read_text()
        table = log.split("### test_balanced_accuracy", 1)[1]
        assert all(f"budget {b}" in table for b in (("10", "20") if name == "a" else ("20", "30")))

"""Two grids writing one store at once neither corrupt it nor mix their runs."""
import sqlite3
from collections import Counter

import pytest

from tests.benchmark._runner_support import run_argv, spec_for, start_cli, store_runs, tiny_preset


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
        table = log.split("### test_macro_auc", 1)[1]
        assert all(f"budget {b}" in table for b in (("10", "20") if name == "a" else ("20", "30")))

"""`benchmark run --dry-run`: the expanded grid, what is finished or cached, an estimate; trains nothing."""
import re

from augbench.benchmark.cli import main
from augbench.benchmark.dryrun import estimate_seconds
from tests.benchmark._runner_support import run_argv, spec_for, tiny_preset


def _rows(printed: str) -> list[list[str]]:
    return [line.split(None, 3) for line in printed.splitlines() if re.match(r"^\s+\d+\s+(pending|finished)", line)]


def test_dry_run_lists_cells_and_state(tmp_path, capsys):
    out = tmp_path / "out"
    preset = tiny_preset(tmp_path)
    argv = run_argv(out, preset, generators="none,oversample", budget="10,20")
    assert main([*argv, "--dry-run"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert len(rows) == 4 and all(r[1] == "pending" and r[2] == "no" for r in rows)
    assert not (out / "mlflow.db").exists() and not (out / "cache" / "fits").exists()

    assert main(run_argv(out, preset, generators="none", budget="10")) == 0  # one cell done for real
    capsys.readouterr()
    assert main([*argv, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    rows = {r[3]: r[1:3] for r in _rows(printed)}
    assert rows["synthetic b=10 s=0 none small-cnn"] == ["finished", "yes"]
    assert rows["synthetic b=20 s=0 oversample small-cnn"] == ["pending", "no"]
    assert "4 cells (3 pending), 4 generator fits (3 not cached)" in printed


def test_estimate_grows_with_the_work(tmp_path):
    preset = tiny_preset(tmp_path)
    small = spec_for(run_argv(tmp_path, preset, generators="none", budget="10"))
    big = spec_for(run_argv(tmp_path, preset, generators="none,dcgan", budget="10,20"))
    t_small = estimate_seconds(small, 1000, 500, small.fits(), small.cells())
    t_big = estimate_seconds(big, 1000, 500, big.fits(), big.cells())
    assert 0 < t_small < t_big
    assert estimate_seconds(big, 1000, 500, [], []) == 0  # nothing pending: nothing to wait for

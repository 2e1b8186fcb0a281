"""The process pool (--jobs N) gives the same numbers as sequential runs, and a worker that dies
fails only its own cells: the grid ends, says so, and a rerun completes it with each cell once."""
import os
from collections import Counter

import mlflow
import pytest

from augbench.benchmark.cli import main
from augbench.benchmark.execute import run_group
from augbench.benchmark.store import default_tracking_uri
from tests.benchmark._runner_support import run_argv, spec_for, store_runs, tiny_preset

ARMS = "none,oversample,classic"


def _metrics(out) -> dict:
    client = mlflow.MlflowClient(default_tracking_uri(out))
    runs = [r for r in store_runs(out) if r["status"] == "FINISHED"]
    return {r["hash"]: {k: v for k, v in client.get_run(r["run_id"]).data.metrics.items()
                        if not k.startswith("time_") and not k.endswith("seconds")} for r in runs}


@pytest.mark.slow
def test_process_pool_matches_sequential(tmp_path, capsys):
    import torch

    preset = tiny_preset(tmp_path)
    threads = torch.get_num_threads()
    try:
        assert main(run_argv(tmp_path / "seq", preset, "--threads", "1", generators=ARMS)) == 0
        assert main(run_argv(tmp_path / "pool", preset, "--jobs", "2", "--threads", "1", generators=ARMS)) == 0
    finally:
        torch.set_num_threads(threads)
    assert "process pool of 2" in capsys.readouterr().out
    sequential, pooled = _metrics(tmp_path / "seq"), _metrics(tmp_path / "pool")
    assert len(sequential) == 3 and set(sequential) == set(pooled)
    for h in sequential:
        assert sequential[h] == pooled[h], h  # bit-identical: same seeds, same thread count


def dying_group(fit, cells, parent, force, driver):
    """Stands in for the pool's worker function: the oversample group's worker dies abruptly."""
    if fit.arm == "oversample":
        os._exit(3)
    return run_group(fit, cells, parent, force=force, driver=driver)


@pytest.mark.slow
def test_dead_worker_fails_its_group_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("augbench.benchmark.executors._group_in_pool", dying_group)
    preset = tiny_preset(tmp_path)
    out = tmp_path / "out"
    argv = run_argv(out, preset, "--jobs", "2", generators=ARMS)
    assert main(argv) == 1
    printed = capsys.readouterr().out
    assert "FAILED synthetic b=10 s=0 oversample small-cnn: worker process failed" in printed
    monkeypatch.undo()
    assert main(run_argv(out, preset, generators=ARMS)) == 0  # rerun, sequentially: completes the grid
    expected = {c.hash for c in spec_for(argv).cells()}
    runs = store_runs(out)
    assert Counter(r["hash"] for r in runs if r["status"] == "FINISHED") == Counter(expected)
    assert not [r for r in runs if r["status"] == "RUNNING"]  # the dead worker's runs were cleared

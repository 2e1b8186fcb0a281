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
def test_a_worker_that_always_dies_fails_its_group_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("augbench.benchmark.executors._group_in_pool", dying_group)
    preset = tiny_preset(tmp_path)
    out = tmp_path / "out"
    argv = run_argv(out, preset, "--jobs", "2", generators=ARMS)
    assert main(argv) == 1
    printed = capsys.readouterr().out
    # the group that kills every worker it is given fails after its tries alone; the groups its first
    # death took down with the shared pool finish
    assert "FAILED synthetic b=10 s=0 oversample small-cnn: worker process died on each of 2 tries" in printed
    assert "1 failed" in printed
    assert not [arm for arm in ("none", "classic") if f"FAILED synthetic b=10 s=0 {arm} " in printed]
    monkeypatch.undo()
    assert main(run_argv(out, preset, generators=ARMS)) == 0  # rerun, sequentially: completes the grid
    expected = {c.hash for c in spec_for(argv).cells()}
    runs = store_runs(out)
    assert Counter(r["hash"] for r in runs if r["status"] == "FINISHED") == Counter(expected)
    assert not [r for r in runs if r["status"] == "RUNNING"]  # the dead worker's runs were cleared


def _submitted_arms(monkeypatch, argv) -> list[str]:
    """The arms of the fit groups in the order run_grid hands them to the executor (nothing is run)."""
    seen = []

    def record(groups, parent, progress, **kwargs):
        seen.extend(fit.arm for fit, _ in groups)

    monkeypatch.setattr("augbench.benchmark.executors.execute", record)
    assert main(argv) == 0
    return seen


def test_a_pool_takes_the_longest_fit_groups_first(tmp_path, monkeypatch):
    """With workers in parallel, a long fit left for last keeps one busy while the others idle."""
    preset = tiny_preset(tmp_path)
    arms = "none,dcgan,oversample"
    pooled = _submitted_arms(monkeypatch, run_argv(tmp_path / "pool", preset, "--jobs", "2", generators=arms,
                                                   budget="10,20"))
    assert pooled[:2] == ["dcgan", "dcgan"] and sorted(pooled[2:]) == ["none", "none", "oversample", "oversample"]
    sequential = _submitted_arms(monkeypatch, run_argv(tmp_path / "seq", preset, generators=arms, budget="10,20"))
    assert sequential == ["none", "dcgan", "oversample"] * 2  # one worker: grid order, as the progress reads


def test_longest_first_is_stable_for_equal_costs():
    from types import SimpleNamespace

    from augbench.benchmark.runner import longest_first

    groups = [(name, [SimpleNamespace(hash=name + str(i)) for i in range(n)]) for name, n in
              (("a", 1), ("b", 2), ("c", 1), ("d", 1))]
    costs = {"a0": 1.0, "b0": 1.0, "b1": 1.0, "c0": 5.0, "d0": 1.0}
    assert [name for name, _ in longest_first(groups, costs)] == ["c", "b", "a", "d"]

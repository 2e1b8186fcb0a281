"""A pool worker killed mid-grid (SIGKILL, as the OOM killer does) fails only its own fit group's
attempt: the groups still unfinished go to a fresh pool, every cell of the grid finishes in the
same run, and no cell is recorded twice."""
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from augbench.benchmark.cli import main
from augbench.benchmark.store import default_tracking_uri
from augbench.reports.runs import TAG_HASH, search_runs


def _pool_workers(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and "spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def _kill_one_worker_when_busy(parent: int, killed: list, after: float = 4.0, give_up: float = 120.0) -> None:
    start, seen = time.monotonic(), None
    while time.monotonic() - start < give_up:
        workers = _pool_workers(parent)
        if workers and seen is None:
            seen = time.monotonic()
        if workers and time.monotonic() - seen >= after:
            os.kill(workers[0], signal.SIGKILL)
            killed.append(workers[0])
            return
        time.sleep(0.2)


@pytest.mark.slow
def test_a_killed_worker_fails_only_its_group_and_the_grid_finishes(tmp_path, data_dir, capsys):
    out = tmp_path / "out"
    arms = "none,oversample,classic,class-weighted"
    argv = ["run", "--dataset", "pneumonia", "--generators", arms, "--budget", "10,50", "--seeds", "0",
            "--preset", "smoke", "--data-dir", str(data_dir), "--out", str(out), "--no-progress", "--jobs", "2"]
    killed: list = []
    killer = threading.Thread(target=_kill_one_worker_when_busy, args=(os.getpid(), killed), daemon=True)
    killer.start()
    code = main(argv)
    killer.join(timeout=1)
    captured = capsys.readouterr()
    assert killed, "no pool worker was found to kill"
    assert "a worker process died" in captured.err and "resubmitted to a fresh pool" in captured.err
    assert code == 0, captured.out[-2000:]
    cells = search_runs(default_tracking_uri(out), "augbench", kind="cell", status="FINISHED")
    assert len(cells) == 8                                   # 4 arms x 2 budgets, all in this same run
    assert cells[f"tags.{TAG_HASH}"].nunique() == 8          # none twice
    assert search_runs(default_tracking_uri(out), "augbench", kind="cell", status="RUNNING").empty

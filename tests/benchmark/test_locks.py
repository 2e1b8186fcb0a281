"""file_lock excludes a second process and is released when its holder is killed."""
import multiprocessing as mp
import os
import signal
import time

from augbench.benchmark.locks import file_lock, lock_dir


def _hold(path, log, hold_s, ready):
    with file_lock(path):
        with open(log, "a") as f:
            f.write(f"a-in {time.time()}\n")
        ready.set()
        time.sleep(hold_s)
        with open(log, "a") as f:
            f.write(f"a-out {time.time()}\n")


def _wait(path, log):
    with file_lock(path):
        with open(log, "a") as f:
            f.write(f"b-in {time.time()}\n")


def _hold_forever(path, ready):
    with file_lock(path):
        ready.set()
        time.sleep(600)


def test_a_second_process_waits_for_the_holder(tmp_path):
    ctx = mp.get_context("spawn")
    path, log, ready = tmp_path / "x" / "cell.lock", tmp_path / "log.txt", ctx.Event()
    a = ctx.Process(target=_hold, args=(path, log, 1.0, ready))
    a.start()
    assert ready.wait(60)
    b = ctx.Process(target=_wait, args=(path, log))
    b.start()
    a.join(60), b.join(60)
    events = dict(line.split() for line in log.read_text().splitlines())
    assert list(events) == ["a-in", "a-out", "b-in"]
    assert float(events["b-in"]) >= float(events["a-out"])


def test_a_killed_holder_releases_the_lock(tmp_path):
    ctx = mp.get_context("spawn")
    path, ready = tmp_path / "cell.lock", ctx.Event()
    holder = ctx.Process(target=_hold_forever, args=(path, ready))
    holder.start()
    assert ready.wait(60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    start = time.monotonic()
    with file_lock(path):
        assert time.monotonic() - start < 10


def test_lock_dir_sits_beside_a_sqlite_store_else_in_the_output_folder(tmp_path):
    assert lock_dir(f"sqlite:///{tmp_path}/mlflow.db", "out") == tmp_path / "mlflow.db.locks"
    assert lock_dir("file:///x", tmp_path) == tmp_path / "cache" / "locks"

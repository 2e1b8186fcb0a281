"""Where fit groups run: in this process, in a local process pool, or as Ray tasks.

The unit shipped is a *fit group* (one generator fit and the classifier cells that use its samples),
not a single cell: the fit is the expensive shared step, and a group keeps it on the machine that
holds its cached samples, so no GAN is trained twice and no samples cross the network. Groups are
independent (each claims its own fit and cells, cache entries are written atomically), so an
executor only ships ``(fit, cells, parent)`` somewhere and hands back the outcomes.

A worker that dies (out of memory, killed) takes only its group down: the group is retried on its own
(a fresh single-worker pool, or a resubmitted Ray task after its lost runs are cleared), and only a
group that keeps killing its worker is reported as failed; the grid goes on, and a rerun redoes it.
"""
from __future__ import annotations

import os
import sys
import threading
import time

from augbench.benchmark.cell import CellOutcome
from augbench.benchmark.claims import clear_lost_attempt, owner_token
from augbench.benchmark.execute import group_tracker, run_group
from augbench.datasets import UserError


def usable_cpus() -> int:
    """Cores this process may use (the cgroup/affinity mask, not the host's core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_job(jobs: int, threads: int | None = None) -> int:
    return max(1, int(threads) if threads else usable_cpus() // max(1, jobs))


def execute(groups, parent, progress, *, executor="local", jobs=1, ray_address=None, gpus_per_cell=0.0,
            cpus_per_cell=None, threads=None, force=False, driver=None):
    if executor not in ("local", "process", "ray"):
        raise UserError(f"unknown executor {executor!r}.", "use --executor local (with --jobs N) or --executor ray.")
    if jobs < 1:
        raise UserError(f"--jobs {jobs} must be at least 1.", "pass --jobs 1 (sequential) or more.")
    if executor == "ray":
        return _ray(groups, parent, progress, ray_address, gpus_per_cell, cpus_per_cell, threads, force, driver)
    if jobs == 1 and executor == "local":
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        for fit, cells in groups:
            run_group(fit, cells, parent, progress, force=force, driver=driver)
        return None
    return _process_pool(groups, parent, progress, jobs, threads_per_job(jobs, threads), force, driver)


def _lost(cells, why: str) -> list[CellOutcome]:
    return [CellOutcome(c.label(), c.hash, "FAILED", error=why) for c in cells]


# --- process pool ---------------------------------------------------------------------------------------
def _die_with_parent(parent_pid: int) -> None:
    """A pool worker outliving a killed `benchmark run` would keep writing runs nobody waits for."""

    def watch():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="augbench-parent-watch").start()


def _pool_init(parent_pid: int, threads: int) -> None:
    import torch

    _die_with_parent(parent_pid)
    torch.set_num_threads(threads)


def _group_in_pool(fit, cells, parent, force, driver):
    return run_group(fit, cells, parent, force=force, driver=driver)


#: how many times a grid replaces a pool whose worker died before the groups still unfinished are FAILED
MAX_POOL_RESTARTS = 2


def _process_pool(groups, parent, progress, jobs, threads, force, driver):
    """Run the groups on one shared pool. A worker that dies abruptly (SIGKILL, the OOM killer) breaks
    the pool for every group it still holds, innocent or not, so each of those groups is retried on its
    own single-worker pool (up to ``jobs`` at a time): there a death can only be the group's own, and
    a group that kills its worker MAX_POOL_RESTARTS times fails alone while the others finish. Finished
    cells are skipped by hash and the dead worker's RUNNING cell is redone (docs/scaling.md)."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    lost = _one_pool(groups, parent, progress, jobs, threads, force, driver)
    if not lost:
        return
    print(f"augbench: a worker process died; {len(lost)} unfinished fit group(s) resubmitted to a fresh pool "
          f"each, so that a group that kills its worker fails alone (up to {MAX_POOL_RESTARTS} tries each).",
          file=sys.stderr, flush=True)
    with ThreadPoolExecutor(max_workers=min(jobs, len(lost))) as retries:
        futures = [retries.submit(_alone, fit, cells, parent, threads, force, driver) for fit, cells in lost]
        for future in as_completed(futures):
            for outcome in future.result():
                progress(outcome)


def _alone(fit, cells, parent, threads, force, driver) -> list[CellOutcome]:
    """One group on a pool of its own, retried while its worker dies; its outcomes, collected here so
    that only the calling thread reports progress."""
    for _ in range(MAX_POOL_RESTARTS):
        outcomes: list[CellOutcome] = []
        if not _one_pool([(fit, cells)], parent, outcomes.append, 1, threads, force, driver):
            return outcomes
    return _lost(cells, f"worker process died on each of {MAX_POOL_RESTARTS} tries of this fit group on its own "
                        "pool (killed, or out of memory?); rerun the command to retry")


def _one_pool(groups, parent, progress, jobs, threads, force, driver) -> list:
    """One pool over ``groups``; returns the groups lost to a broken pool (none when it stayed whole)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    lost = []
    # spawn, not fork: torch's thread pools and an open SQLite connection do not survive a fork
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_pool_init,
                             initargs=(os.getpid(), threads)) as pool:
        futures = {pool.submit(_group_in_pool, fit, cells, parent, force, driver): (fit, cells)
                   for fit, cells in groups}
        for future in as_completed(futures):
            try:
                outcomes = future.result()
            except BrokenProcessPool:
                lost.append(futures[future])
                continue
            except Exception as exc:  # noqa: BLE001 - a failing group fails alone, not the grid
                outcomes = _lost(futures[future][1], f"worker process failed: {type(exc).__name__}: {exc}")
            for outcome in outcomes:
                progress(outcome)
    return lost


# --- Ray ------------------------------------------------------------------------------------------------
RAY_ENV = ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT",
           "NO_ALBUMENTATIONS_UPDATE", "AUGBENCH_CACHE", "BENCHMARK_DATA_DIR", "MLFLOW_TRACKING_USERNAME",
           "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


def _ray_group(fit, cells, parent, threads, force, driver):
    import torch

    torch.set_num_threads(threads)
    return run_group(fit, cells, parent, force=force, driver=driver)


def connect_ray(address: str | None):
    """Join the cluster at ``address`` ("auto", HOST:PORT, or "local" for a throwaway one-machine cluster).

    Returns True when this call started the connection (and so should close it).
    """
    import ray

    if ray.is_initialized():
        return False
    env = {k: os.environ[k] for k in RAY_ENV if k in os.environ}
    address = address or "auto"
    check_ray_address(address)
    kwargs = {"log_to_driver": False, "runtime_env": {"env_vars": env}} if env else {"log_to_driver": False}
    try:
        if address == "local":
            ray.init(include_dashboard=False, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot join a Ray cluster at {address!r} ({type(exc).__name__}: {str(exc)[:200]}).",
                        "start one with `ray start --head` (see docs/scaling.md), pass its --ray-address "
                        "HOST:PORT, or use --ray-address local for a one-machine cluster.") from None
    return True


def check_ray_address(address: str, timeout: float = 5.0) -> None:
    """ray.init retries an unreachable HOST:PORT for minutes; a plain TCP connect fails in seconds."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", "local": Ray resolves these itself and fails fast
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UserError(f"cannot join a Ray cluster at {address!r}: nothing answers there ({exc.strerror or exc}).",
                        "start one with `ray start --head --port PORT` (see docs/scaling.md), pass its "
                        "--ray-address HOST:PORT, or use --ray-address local for a one-machine cluster.") from None


#: how many times a group whose Ray worker or node died is resubmitted before its cells are FAILED
MAX_RAY_RETRIES = 2


def _lost_worker_errors() -> tuple[type, ...]:
    """Ray's exceptions for an attempt that died under the task (not an error the task raised)."""
    import ray.exceptions as rex

    names = ("WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "OutOfMemoryError",
             "ObjectLostError", "OwnerDiedError")
    return tuple(getattr(rex, n) for n in names if hasattr(rex, n))


def _ray(groups, parent, progress, address, gpus_per_cell, cpus_per_cell, threads, force, driver):
    """One Ray task per group. Ray's own retries stay off (``max_retries=0``): a retry is resubmitted
    here instead, after the driver has deleted the RUNNING runs the lost attempt left
    (claims.clear_lost_attempt), because the retry's claims cannot judge a dead worker on another host."""
    import ray

    if not groups:
        return None
    driver = driver or owner_token()
    started = connect_ray(address)
    try:
        cpus = float(cpus_per_cell or 1)
        remote = ray.remote(_ray_group).options(num_cpus=cpus, num_gpus=float(gpus_per_cell or 0.0), max_retries=0)
        torch_threads = int(threads) if threads else max(1, int(cpus))
        lost_worker = _lost_worker_errors()

        def submit(fit, cells, tries):
            pending[remote.remote(fit, cells, parent, torch_threads, force, driver)] = (fit, cells, tries)

        pending: dict = {}
        for fit, cells in groups:
            submit(fit, cells, 0)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            fit, cells, tries = pending.pop(done[0])
            try:
                outcomes = ray.get(done[0])
            except lost_worker as exc:
                if tries < MAX_RAY_RETRIES:
                    cleared = clear_lost_attempt(group_tracker(fit.spec), fit, cells, driver)
                    print(f"augbench: the Ray worker of fit group {fit.label()} died ({type(exc).__name__}); "
                          f"{cleared} run(s) it left RUNNING deleted, group resubmitted "
                          f"(try {tries + 2} of {MAX_RAY_RETRIES + 1}).", file=sys.stderr, flush=True)
                    submit(fit, cells, tries + 1)
                    continue
                outcomes = _lost(cells, f"Ray worker died on each of {MAX_RAY_RETRIES + 1} tries of this fit group "
                                        f"({type(exc).__name__}: {str(exc)[:200]}); rerun the command to retry")
            except Exception as exc:  # noqa: BLE001 - a task that raised fails its group, not the grid
                outcomes = _lost(cells, f"Ray task failed: {type(exc).__name__}: {str(exc)[:300]}")
            for outcome in outcomes:
                progress(outcome)
    finally:
        if started:
            ray.shutdown()
    return None

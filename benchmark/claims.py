"""Claiming work so each fit and each cell runs once, even with several processes on one store.

A claim is a file lock plus a look at the store: the lock stops two live processes from starting
the same work, the store says whether someone already finished it, and runs left RUNNING by a
process that is certainly gone (a crash, a kill -9) are deleted before the work is redone, so a
rerun never leaves duplicates. Ownership is a host:pid[:start ticks] token tagged on every run.

This module reads and edits runs only through the tracker it is handed, and imports no tracking
module: the tracker tags each run it starts with :func:`owner_token` from here.
"""
from __future__ import annotations

import contextlib
import functools
import os
import socket
from pathlib import Path

from augbench.benchmark.grid import Cell, Fit
from augbench.benchmark.locks import file_lock
from augbench.core.layout import KIND_CELL, KIND_FIT, SUPERSEDED, TAG_DRIVER, TAG_OWNER, TAG_SUPERSEDED


# --- who owns a run -------------------------------------------------------------------------------------
def _start_ticks(pid: int) -> str:
    """Process start time in clock ticks since boot (Linux), so a recycled pid is not taken for the owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


@functools.lru_cache(maxsize=None)
def _token_for(pid: int) -> str:
    ticks = _start_ticks(pid)
    return f"{socket.gethostname()}:{pid}" + (f":{ticks}" if ticks else "")


def owner_token() -> str:
    """host:pid[:start ticks] of this process (cached per pid: forked workers get their own)."""
    return _token_for(os.getpid())


def owner_alive(owner: str) -> bool:
    """False only when the owner is certainly gone: same host, and the pid is dead or was recycled."""
    host, _, rest = owner.partition(":")
    if not owner or host != socket.gethostname():
        return True  # cannot tell for another machine: assume alive, never delete its work
    pid, _, ticks = rest.partition(":")
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return not ticks or _start_ticks(int(pid)) in ("", ticks)


# --- stale runs -----------------------------------------------------------------------------------------
def clear_stale(tracker, kind: str, hash_: str, *, supersede_finished: bool = False) -> int:
    """Delete crash corpses and mark earlier failures (and, with --force, results) superseded.

    A RUNNING run is a corpse when the process that owns it, or the `benchmark run` that planned
    it, is gone: the driver's workers die with it, so a dead driver means a dead run even when
    the worker's pid has not been reaped yet. Returns how many corpses were deleted.
    """
    deleted = 0
    for run in tracker.runs(kind, hash_=hash_):
        status, tags = run.info.status, run.data.tags
        if status == "RUNNING":
            if not owner_alive(tags.get(TAG_OWNER, "")) or not owner_alive(tags.get(TAG_DRIVER, "")):
                tracker.client.delete_run(run.info.run_id)
                deleted += 1
        elif status in ("FAILED", "KILLED") or (supersede_finished and status == "FINISHED"):
            if tags.get(TAG_SUPERSEDED) != SUPERSEDED:
                tracker.client.set_tag(run.info.run_id, TAG_SUPERSEDED, SUPERSEDED)
    return deleted


def clear_lost_attempt(tracker, fit: Fit, cells: list[Cell], driver: str) -> int:
    """Delete the RUNNING runs a lost attempt of this group left, so that its retry starts clean.

    Called by the driver once the executor has seen the attempt end (its worker or node died). Only
    that attempt can have left them: in one grid a fit and each of its cells belong to one group, and
    the runs are the ones tagged with this driver. The retry's own claims could not tell, on another
    host, a dead worker's RUNNING run from a live one. Returns how many runs were deleted.
    """
    deleted = 0
    for kind, hash_ in [(KIND_FIT, fit.hash), *((KIND_CELL, cell.hash) for cell in cells)]:
        for run in tracker.runs(kind, hash_=hash_):
            if run.info.status == "RUNNING" and run.data.tags.get(TAG_DRIVER) == driver:
                tracker.client.delete_run(run.info.run_id)
                deleted += 1
    return deleted


# --- claims ---------------------------------------------------------------------------------------------
def fit_lock(locks: Path, fit: Fit):
    """The lock one generator fit is made and logged under: samples and its run are written once."""
    return file_lock(locks / f"fit-{fit.hash}.lock")


@contextlib.contextmanager
def claimed(tracker, locks: Path, cell: Cell, force: bool):
    """Hold the cell's lock; yield False when a run finished it meanwhile (another grid, an earlier
    attempt), else clear its crash corpses and yield True: the caller runs it, exactly once."""
    with file_lock(locks / f"cell-{cell.hash}.lock"):
        if not force and tracker.finished(KIND_CELL, cell.hash):
            yield False
            return
        clear_stale(tracker, KIND_CELL, cell.hash, supersede_finished=force)
        yield True

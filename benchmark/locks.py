"""Advisory file locks that make "run each cell once" hold when several processes share a store.

The MLflow store can tell that a cell is finished, but not atomically claim an unfinished one: two
grids (or a grid and its own earlier, still-dying worker) could both start it. A kernel lock on a
small file closes that gap on one machine (or a shared file system); the kernel drops it when the
holder dies, even by SIGKILL, so a crash never leaves a lock behind. ``filelock`` gives the same
lock on Windows too (msvcrt), where the earlier fcntl version silently did not lock at all.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from filelock import FileLock


@contextlib.contextmanager
def file_lock(path: str | Path):
    """Hold an exclusive lock on ``path`` (created if missing) for the duration of the block."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # thread_local=False: a lock taken in one thread of a grid excludes the others too, as flock did
    # preserve_lock_file: deleting it on release races a waiter that opened the old file;
    # fallback_to_soft=False: a soft (exists-file) lock would outlive a SIGKILLed holder
    with FileLock(path, thread_local=False, is_singleton=False, preserve_lock_file=True, fallback_to_soft=False):
        yield


def made_once(path: str | Path, read, make):
    """``read()`` the cached result at ``path`` if it is there, else ``make()`` it, holding a lock next to
    it so that of several processes wanting it at once one makes it and the others read it. ``read``
    returns None for a file it cannot use; ``make`` writes the file (atomically) and returns the result."""
    found = read()
    if found is not None:
        return found
    path = Path(path)
    with file_lock(path.with_name(path.name + ".lock")):
        found = read()
        return found if found is not None else make()


def lock_dir(tracking_uri: str, out_dir: str | Path) -> Path:
    """Locks live next to a SQLite store (all writers of it share them), else in the output folder."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        return db.with_name(db.name + ".locks")
    return Path(out_dir) / "cache" / "locks"

"""Advisory file locks that make "run each cell once" hold when several processes share a store.

The MLflow store can tell that a cell is finished, but not atomically claim an unfinished one: two
grids (or a grid and its own earlier, still-dying worker) could both start it. A kernel lock on a
small file closes that gap on one machine (or a shared file system); the kernel drops it when the
holder dies, even by SIGKILL, so a crash never leaves a lock behind.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no fcntl; runs stay correct for one grid at a time
    fcntl = None


@contextlib.contextmanager
def file_lock(path: str | Path):
    """Hold an exclusive lock on ``path`` (created if missing) for the duration of the block."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def lock_dir(tracking_uri: str, out_dir: str | Path) -> Path:
    """Locks live next to a SQLite store (all writers of it share them), else in the output folder."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        return db.with_name(db.name + ".locks")
    return Path(out_dir) / "cache" / "locks"

"""Where data and the decoded-image cache live.

Data never ships with augbench (licences, size), so every loader finds it through one rule:
an explicit argument, else ``$BENCHMARK_DATA_DIR``; the cache defaults outside the repo so a
clean checkout never carries megabytes of decoded pixels.
"""
from __future__ import annotations

import os
from pathlib import Path

from augbench.core.errors import DataError

DATA_ENV = "BENCHMARK_DATA_DIR"
CACHE_ENV = "AUGBENCH_CACHE"


def resolve_data_dir(data_dir=None, origin: str | None = None) -> Path:
    """The data root: the argument, else $BENCHMARK_DATA_DIR; a DataError if neither names a folder.

    ``origin`` says where an explicit argument came from (default ``--data-dir``), so the message
    blames the setting the user actually made.
    """
    if data_dir is None or str(data_dir) == "":
        env = os.environ.get(DATA_ENV, "")
        if not env:
            raise DataError(
                "no data directory given.",
                f"set {DATA_ENV}=/path/to/data or pass --data-dir /path/to/data "
                "(the folder that holds ham10000/, medmnist/, chest_xray/, ...).",
            )
        data_dir, origin = env, f"${DATA_ENV}"
    return check_data_dir(data_dir, origin or "--data-dir")


def check_data_dir(data_dir, origin: str) -> Path:
    """``data_dir`` as a Path, or a DataError naming ``origin`` (``--data-dir``, ``$BENCHMARK_DATA_DIR``,
    a grid file's ``data_dir``) when it is not a folder."""
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        what = "is a file, not a folder" if path.is_file() else "does not exist"
        fix = (f"unset {DATA_ENV} or point it at the folder that holds the datasets (or pass --data-dir, which wins)"
               if origin == f"${DATA_ENV}" else
               f"fix {origin} to name the folder that holds the datasets (ham10000/, medmnist/, chest_xray/, ...)")
        raise DataError(f"data directory {path} (from {origin}) {what}.", fix + ".")
    return path


def optional_data_dir(data_dir=None) -> Path | None:
    """Like resolve_data_dir, but None when nothing is configured (for sources that do not need it)."""
    if data_dir is None and not os.environ.get(DATA_ENV):
        return None
    return resolve_data_dir(data_dir)


def resolve_cache_dir(cache_dir=None) -> Path:
    """The argument, else $AUGBENCH_CACHE/datasets, else ~/.cache/augbench/datasets."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser() / "datasets"
    return Path.home() / ".cache" / "augbench" / "datasets"

"""Decode once, reuse: resized pixels stored as .npz keyed by what they were made from.

The key covers the dataset name, a fingerprint of the source files (relative path, size,
mtime), the target size and a format version, so replacing a file or changing the decoder
invalidates the entry without anyone remembering to clear the cache. Writes go through a temp
file and a rename so a killed run never leaves a half-written entry that later loads as valid.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1


def fingerprint(files, root: Path | None = None) -> str:
    """Hash of (relative path, size, mtime) for each file: cheap (stat only) yet catches edits."""
    h = hashlib.sha256()
    for path in sorted(str(p) for p in files):
        st = os.stat(path)
        rel = os.path.relpath(path, root) if root is not None else path
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cache_key(name: str, fingerprint_hex: str, image_size: int | None, extra: str = "") -> str:
    payload = json.dumps([FORMAT_VERSION, name, fingerprint_hex, image_size, extra])
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def cache_path(cache_dir: Path, name: str, image_size: int | None, key: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:60] or "dataset"
    return Path(cache_dir) / f"{slug}-{image_size or 'native'}-{key}.npz"


def load_cached(path: Path, expected_ids: np.ndarray) -> np.ndarray | None:
    """The cached images, or None when missing, unreadable or not matching the current file list."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            ids, images = data["ids"], data["images"]
    except Exception:  # a damaged entry is rebuilt, never fatal
        return None
    if len(ids) != len(expected_ids) or not np.array_equal(ids.astype(str), np.asarray(expected_ids).astype(str)):
        return None
    return images


def save_cached(path: Path, images: np.ndarray, ids: np.ndarray) -> Path | None:
    """Store atomically; on an unwritable cache dir warn and carry on (caching is an optimisation)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, images=images, ids=np.asarray(ids).astype(str))
        os.replace(tmp, path)
    except OSError as exc:
        warnings.warn(f"could not write dataset cache {path}: {exc}; continuing without it", stacklevel=2)
        return None
    _drop_stale(path)
    return path


def _drop_stale(path: Path) -> None:
    """Remove older entries for the same dataset and size (their source files changed)."""
    prefix = path.name.rsplit("-", 1)[0] + "-"
    for other in path.parent.glob(prefix + "*.npz"):
        if other != path and len(other.name) == len(path.name):
            try:
                other.unlink()
            except OSError:
                pass

"""Download a dataset's official files, verified against published checksums.

Only datasets published as plain files with known checksums are fetched (MedMNIST npz at each
of its native sizes, Fashion-MNIST IDX); archives behind portals (HAM10000, ISIC 2019, Kermany)
get a message saying what to download and where to put it. Any failure says exactly which files
belong where, so an offline machine can be prepared by hand.
"""
from __future__ import annotations

import hashlib
import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

from augbench.core.errors import DataError
from augbench.datasets.remote import RemoteFile

CHUNK = 1 << 20


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _expected(remote: RemoteFile) -> tuple[str, str]:
    return ("sha256", remote.sha256.lower()) if remote.sha256 else ("md5", remote.md5.lower())


def verify(path: Path, remote: RemoteFile) -> bool:
    algorithm, want = _expected(remote)
    return path.is_file() and _digest(path, algorithm) == want


def _by_hand(files, data_dir: Path) -> str:
    return "download by hand and place: " + "; ".join(
        f"{r.url} -> {data_dir / r.path} ({r.checksum_text()})" for r in files
    )


def _download(url: str, dest: Path, remote: RemoteFile, timeout: float, data_dir: Path) -> None:
    algorithm, want = _expected(remote)
    part = dest.with_name(dest.name + ".part")
    h = hashlib.new(algorithm)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            for block in iter(lambda: response.read(CHUNK), b""):
                h.update(block)
                out.write(block)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if h.hexdigest() != want:
        part.unlink(missing_ok=True)
        raise DataError(
            f"{remote.filename} downloaded from {url} has {algorithm} {h.hexdigest()}, expected {want} "
            "(damaged or not the official file); nothing was saved.",
            f"retry; if it persists, {_by_hand([remote], data_dir)}",
        )
    os.replace(part, dest)


def fetch_dataset(name: str, data_dir, *, base_url: str | None = None, timeout: float = 10,
                  size: int | None = None) -> list[Path]:
    """Fetch ``name``'s files into ``data_dir`` (skipping ones already present and verified).

    ``base_url`` replaces the official host (a mirror, or a local server in tests): files are
    then requested as ``<base_url>/<file name>``. ``size`` picks a native size for datasets that
    publish several (MedMNIST: 28, the default, 64, 128, 224); others refuse it.
    """
    from augbench.datasets.registry import DATASETS

    source = DATASETS.create(name)
    data_dir = Path(data_dir).expanduser()
    files = source.fetch_files(size)
    if not files:
        raise DataError(
            f"{name} cannot be downloaded automatically (it is not published as single files with checksums).",
            f"{source.manual_download or 'download it from its official source'}; "
            f"put the files in {data_dir / source.folder if source.folder else data_dir}.",
        )
    paths = []
    for i, remote in enumerate(files):
        dest = data_dir / remote.path
        if verify(dest, remote):
            paths.append(dest)
            continue
        url = f"{base_url.rstrip('/')}/{remote.filename}" if base_url else remote.url
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            _download(url, dest, remote, timeout, data_dir)
        except DataError:
            raise
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DataError(
                f"could not download {remote.filename} from {url} ({reason}); the machine may be offline.",
                _by_hand(files[i:], data_dir),
            ) from None
        paths.append(dest)
    return paths

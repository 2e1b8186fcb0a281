"""Opening the MLflow store: where it lives, making a new SQLite one safely, and surviving contention.

Several processes may write one store at once (``--jobs N``, Ray, two grids started side by side).
A SQLite store serialises writers with a file lock inside SQLite, and a writer that loses the race
gets "database is locked" instead of waiting in some cases (a read transaction upgraded to a write),
so every store call is retried with backoff; the store itself is created under a file lock
because MLflow's schema migration is not safe to run twice at once.
"""
from __future__ import annotations

import functools
import os
import random
import shutil
import time
from pathlib import Path

from augbench.benchmark.locks import file_lock
from augbench.core.errors import UserError

RETRY_SECONDS = 120.0            # give up on a locked store after this long (a stuck writer, not contention)
_LOCK_WORDS = ("database is locked", "database table is locked", "database is busy", "sqlite_busy")


def default_tracking_uri(out_dir: str | Path) -> str:
    return f"sqlite:///{Path(out_dir).resolve() / 'mlflow.db'}"


#: MLflow's own environment variables, honoured as every MLflow tool honours them
ENV_TRACKING_URI, ENV_EXPERIMENT = "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "augbench"


def _chosen(given, given_origin: str, env_key: str, fallback, fallback_origin: str) -> tuple:
    """(value, where it came from): what was given, else the environment variable, else the fallback."""
    if given:
        return given, given_origin
    env = os.environ.get(env_key, "").strip()
    if env:
        return env, f"${env_key}"
    return fallback, fallback_origin


def chosen_tracking_uri(given: str | None, given_origin: str = "--tracking-uri") -> tuple[str | None, str]:
    """(tracking URI, where it came from): the flag or grid file, else $MLFLOW_TRACKING_URI, else None
    (the embedded sqlite store under --out). A shell pointed at a team server writes there, and the
    run header says which one won."""
    return _chosen(given, given_origin, ENV_TRACKING_URI, None, "default: embedded sqlite under --out")


def chosen_experiment(given: str | None, given_origin: str = "--experiment") -> tuple[str, str]:
    """(experiment name, where it came from), with the same precedence as :func:`chosen_tracking_uri`."""
    return _chosen(given, given_origin, ENV_EXPERIMENT, DEFAULT_EXPERIMENT, "default")


def sqlite_path(tracking_uri: str) -> Path | None:
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///"))
    return None


def check_reachable(tracking_uri: str, timeout: float = 5.0) -> None:
    """Fail before any work starts when a tracking server cannot be reached."""
    if not tracking_uri.startswith(("http://", "https://")):
        return
    import requests

    try:
        requests.get(tracking_uri.rstrip("/") + "/health", timeout=timeout).raise_for_status()
    except Exception as exc:  # noqa: BLE001 - any failure means the same thing to the user
        raise UserError(f"MLflow tracking server {tracking_uri} is unreachable ({type(exc).__name__}).",
                        "start it (e.g. `benchmark ui --out DIR`, or `mlflow server --host 127.0.0.1`) or "
                        "pass the right --tracking-uri; nothing was run.") from None


# --- contention -----------------------------------------------------------------------------------------
def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in _LOCK_WORDS)


def retrying(fn, *args, **kwargs):
    """Call ``fn`` until the store stops answering "locked" (jittered exponential backoff)."""
    delay, deadline = 0.05, time.monotonic() + RETRY_SECONDS
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - only lock errors are retried, the rest re-raised
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 2.0)


class _RetryingClient:
    """MlflowClient whose every method is retried on a locked SQLite store."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr
        return functools.partial(retrying, attr)


# --- creating a store -----------------------------------------------------------------------------------
def make_client(tracking_uri: str):
    """An MlflowClient whose store exists; SQLite stores are created once, under a lock, in WAL mode."""
    from mlflow.tracking import MlflowClient

    db = sqlite_path(tracking_uri)
    if db is None:
        return _RetryingClient(MlflowClient(tracking_uri=tracking_uri))
    db.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(db.with_name(db.name + ".init.lock")):
        fresh = not db.exists()
        if fresh:
            _create_store(db)
        else:
            check_store_file(db)
        client = MlflowClient(tracking_uri=tracking_uri)
        retrying(client.search_experiments, max_results=1)
        _use_wal(db)
    return _RetryingClient(client)


def check_store_file(db: Path) -> None:
    """A UserError, not an SQLAlchemy traceback, when ``db`` is not an SQLite file at all."""
    try:
        with open(db, "rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        raise UserError(f"cannot open the MLflow store {db} ({exc.strerror}).",
                        "check its permissions, or pass another --out / --tracking-uri.") from None
    if header and header != b"SQLite format 3\x00":
        raise UserError(f"{db} is not an SQLite database (corrupt, or some other file named mlflow.db).",
                        f"move it aside (its runs cannot be read) and rerun, or pass another --out; "
                        f"`sqlite3 {db} .recover` may rescue a damaged store.")


def _create_store(db: Path) -> None:
    """Build an empty store beside ``db`` and rename it into place (caller holds the init lock).

    A kill -9 while the schema is written (or the template copied) must not leave a half-made
    mlflow.db that every rerun then trips over: until the rename there is no ``db`` at all.
    """
    from mlflow.tracking import MlflowClient

    for stale in db.parent.glob(db.name + ".init-*"):  # left by a killed creator; we hold the lock
        stale.unlink(missing_ok=True)
    tmp = db.with_name(f"{db.name}.init-{os.getpid()}")
    template = _store_template()
    if template is not None and template.is_file():
        shutil.copyfile(template, tmp)
    else:
        retrying(MlflowClient(tracking_uri=f"sqlite:///{tmp}").search_experiments, max_results=1)  # the schema
        if template is not None:
            _save_template(tmp, template)
    os.replace(tmp, db)


def _store_template() -> Path | None:
    """An empty store of this MLflow version: MLflow builds a new one by replaying every schema
    migration (seconds on a busy CPU, for each new output folder); copying an empty one is instant."""
    import mlflow

    root = os.environ.get("AUGBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "augbench")
    return Path(root) / "mlflow-store-template" / f"mlflow-{mlflow.__version__}.db"


def _save_template(db: Path, template: Path) -> None:
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        tmp = template.with_name(f"{template.name}.tmp{os.getpid()}")
        shutil.copyfile(db, tmp)  # still in rollback-journal mode and without runs: self-contained
        os.replace(tmp, template)
    except OSError:
        pass  # a read-only home: every new store is built the slow way, nothing else changes


def _use_wal(db: Path) -> None:
    """WAL lets readers (resume checks, `benchmark ui`) run while a worker writes; the mode is kept in the file."""
    import sqlite3

    try:
        with sqlite3.connect(db, timeout=30) as con:
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                con.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        pass  # e.g. a file system without shared memory: the default journal still works, only slower

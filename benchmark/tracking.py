"""MLflow bookkeeping: one parent run per grid, one run per generator fit and per classifier cell.

Explicit ``MlflowClient`` calls with run ids (no fluent "active run" state) so process-pool and Ray
workers can log into the same store safely. Resume is driven by the ``augbench.hash`` tag: a cell
whose hash has a FINISHED run is done; a RUNNING run whose owner process is gone is a corpse from
a crash and is deleted before the cell is rerun, so a rerun never leaves duplicates.

Several processes may write one store at once (``--jobs N``, Ray, two grids started side by side).
A SQLite store serialises writers with a file lock inside SQLite, and a writer that loses the race
gets "database is locked" instead of waiting in some cases (a read transaction upgraded to a write),
so every store call here is retried with backoff; the store itself is created under a file lock
because MLflow's schema migration is not safe to run twice at once.
"""
from __future__ import annotations

import functools
import json
import os
import random
import shutil
import socket
import tempfile
import time
from pathlib import Path

from augbench.benchmark.locks import file_lock
from augbench.core.errors import UserError
from augbench.reports.runs import TAG_FIT, TAG_GRID, TAG_HASH, TAG_KIND, TAG_OWNER, TAG_SUPERSEDED

PARENT_TAG = "mlflow.parentRunId"
TAG_DRIVER = "augbench.driver"   # owner token of the `benchmark run` process that planned the run
TAG_ERROR = "augbench.error"
RETRY_SECONDS = 120.0            # give up on a locked store after this long (a stuck writer, not contention)
_LOCK_WORDS = ("database is locked", "database table is locked", "database is busy", "sqlite_busy")


def default_tracking_uri(out_dir: str | Path) -> str:
    return f"sqlite:///{Path(out_dir).resolve() / 'mlflow.db'}"


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


def _chunks(items, n):
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i:i + n]


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


def _make_client(tracking_uri: str):
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


class Tracker:
    def __init__(self, tracking_uri: str, experiment: str, artifact_root: str | Path | None = None):
        import mlflow

        check_reachable(tracking_uri)
        self.tracking_uri = tracking_uri
        self.client = _make_client(tracking_uri)
        self._mlflow = mlflow
        exp = self.client.get_experiment_by_name(experiment)
        if exp is None:
            location = None
            if artifact_root is not None and not tracking_uri.startswith(("http://", "https://")):
                location = Path(artifact_root).resolve().as_uri()
            try:
                self.experiment_id = self.client.create_experiment(experiment, artifact_location=location)
            except Exception:  # another process created it first
                exp = self.client.get_experiment_by_name(experiment)
                if exp is None:
                    raise
                self.experiment_id = exp.experiment_id
        else:
            self.experiment_id = exp.experiment_id

    # --- reading ---------------------------------------------------------------------------------
    def runs(self, kind: str, *, hash_: str | None = None, grid_id: str | None = None) -> list:
        clauses = [f"tags.`{TAG_KIND}` = '{kind}'"]
        if hash_:
            clauses.append(f"tags.`{TAG_HASH}` = '{hash_}'")
        if grid_id:
            clauses.append(f"tags.`{TAG_GRID}` = '{grid_id}'")
        out, token = [], None
        while True:
            page = self.client.search_runs([self.experiment_id], " and ".join(clauses), max_results=5000,
                                           page_token=token)
            out.extend(page)
            token = page.token
            if not token:
                return out

    def finished(self, kind: str, hash_: str | None = None) -> dict[str, str]:
        """hash -> run id of every FINISHED run of this kind (not superseded by a --force rerun)."""
        return {r.data.tags[TAG_HASH]: r.info.run_id for r in self.runs(kind, hash_=hash_)
                if r.info.status == "FINISHED" and TAG_HASH in r.data.tags
                and r.data.tags.get(TAG_SUPERSEDED) != "true"}

    def failed(self, kind: str) -> set[str]:
        return {r.data.tags[TAG_HASH] for r in self.runs(kind)
                if r.info.status == "FAILED" and r.data.tags.get(TAG_SUPERSEDED) != "true"}

    def clear_stale(self, kind: str, hash_: str, *, supersede_finished: bool = False) -> int:
        """Delete crash corpses and mark earlier failures (and, with --force, results) superseded.

        A RUNNING run is a corpse when the process that owns it, or the `benchmark run` that planned
        it, is gone: the driver's workers die with it, so a dead driver means a dead run even when
        the worker's pid has not been reaped yet. Returns how many corpses were deleted.
        """
        deleted = 0
        for run in self.runs(kind, hash_=hash_):
            status, tags = run.info.status, run.data.tags
            if status == "RUNNING":
                if not owner_alive(tags.get(TAG_OWNER, "")) or not owner_alive(tags.get(TAG_DRIVER, "")):
                    self.client.delete_run(run.info.run_id)
                    deleted += 1
            elif status in ("FAILED", "KILLED") or (supersede_finished and status == "FINISHED"):
                if tags.get(TAG_SUPERSEDED) != "true":
                    self.client.set_tag(run.info.run_id, TAG_SUPERSEDED, "true")
        return deleted

    # --- writing ---------------------------------------------------------------------------------
    def grid_parent(self, grid_id: str, summary: dict) -> str:
        """Reuse the grid's parent run across resumes so the UI shows one tree per grid."""
        for run in self.runs("grid", grid_id=grid_id):
            if run.info.status != "RUNNING":
                self.client.update_run(run.info.run_id, status="RUNNING")
            return run.info.run_id
        run_id = self.start("grid", grid_id, f"grid {grid_id}", params={}, tags={TAG_GRID: grid_id})
        self.log_dict(run_id, summary, "grid.json")
        return run_id

    def start(self, kind: str, hash_: str, name: str, *, params: dict, tags: dict | None = None,
              parent: str | None = None) -> str:
        tags = {TAG_KIND: kind, TAG_HASH: hash_, TAG_OWNER: owner_token(), **(tags or {})}
        if parent:
            tags[PARENT_TAG] = parent
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        self.log_params(run.info.run_id, params)
        return run.info.run_id

    def log_params(self, run_id: str, params: dict) -> None:
        from mlflow.entities import Param

        items = [Param(str(k), str(v)[:6000]) for k, v in params.items()]
        for chunk in _chunks(items, 100):
            self.client.log_batch(run_id, params=chunk)

    def log_metrics(self, run_id: str, metrics: dict, step: int = 0) -> None:
        self.log_metric_rows(run_id, [(step, metrics)])

    def log_metric_rows(self, run_id: str, rows) -> None:
        """Many (step, {name: value}) rows in as few store round trips as possible (curves, per-epoch logs)."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(str(k), float(v), now, int(step)) for step, metrics in rows for k, v in metrics.items()
                 if v is not None]
        for chunk in _chunks(items, 900):
            self.client.log_batch(run_id, metrics=chunk)

    def set_tags(self, run_id: str, tags: dict) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(str(k), str(v)[:5000]) for k, v in tags.items()])

    def log_artifact(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def log_text(self, run_id: str, text: str, name: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / name
            p.write_text(text)
            self.log_artifact(run_id, p)

    def log_dict(self, run_id: str, data, name: str) -> None:
        self.log_text(run_id, json.dumps(data, indent=2, default=str), name)

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status)

    def delete(self, run_id: str) -> None:
        self.client.delete_run(run_id)


@functools.lru_cache(maxsize=8)
def shared_tracker(tracking_uri: str, experiment: str, artifact_root: str | None = None) -> Tracker:
    """One Tracker per (store, experiment) per process: opening a store costs a schema check each time."""
    return Tracker(tracking_uri, experiment, artifact_root)


__all__ = ["TAG_DRIVER", "TAG_ERROR", "TAG_FIT", "TAG_GRID", "TAG_HASH", "TAG_KIND", "Tracker", "check_reachable",
           "default_tracking_uri", "owner_alive", "owner_token", "retrying", "shared_tracker"]

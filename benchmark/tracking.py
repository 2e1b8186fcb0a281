"""MLflow bookkeeping: one parent run per grid, one run per generator fit and per classifier cell.

Explicit ``MlflowClient`` calls with run ids (no fluent "active run" state) so process-pool and Ray
workers can log into the same store safely. Resume is driven by the ``augbench.hash`` tag: a cell
whose hash has a FINISHED run is done; a RUNNING run whose owner process is gone is a corpse from
a crash and is deleted before the cell is rerun, so a rerun never leaves duplicates.
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from pathlib import Path

from datasets.errors import UserError
from reports.runs import TAG_FIT, TAG_GRID, TAG_HASH, TAG_KIND, TAG_OWNER, TAG_SUPERSEDED

PARENT_TAG = "mlflow.parentRunId"


def default_tracking_uri(out_dir: str | Path) -> str:
    return f"sqlite:///{Path(out_dir).resolve() / 'mlflow.db'}"


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


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.partition(":")
    if host != socket.gethostname():
        return True  # cannot tell for another machine: assume alive, never delete its work
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _chunks(items, n):
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i:i + n]


class Tracker:
    def __init__(self, tracking_uri: str, experiment: str, artifact_root: str | Path | None = None):
        import mlflow
        from mlflow.tracking import MlflowClient

        check_reachable(tracking_uri)
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri)
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

    def finished(self, kind: str) -> dict[str, str]:
        """hash -> run id of every FINISHED run of this kind."""
        return {r.data.tags[TAG_HASH]: r.info.run_id for r in self.runs(kind)
                if r.info.status == "FINISHED" and TAG_HASH in r.data.tags}

    def failed(self, kind: str) -> set[str]:
        return {r.data.tags[TAG_HASH] for r in self.runs(kind)
                if r.info.status == "FAILED" and r.data.tags.get(TAG_SUPERSEDED) != "true"}

    def clear_stale(self, kind: str, hash_: str) -> None:
        """Delete crash corpses (RUNNING, owner gone) and mark earlier failures superseded."""
        for run in self.runs(kind, hash_=hash_):
            status = run.info.status
            if status == "RUNNING" and not _owner_alive(run.data.tags.get(TAG_OWNER, "")):
                self.client.delete_run(run.info.run_id)
            elif status in ("FAILED", "KILLED"):
                self.client.set_tag(run.info.run_id, TAG_SUPERSEDED, "true")

    # --- writing ---------------------------------------------------------------------------------
    def grid_parent(self, grid_id: str, summary: dict) -> str:
        """Reuse the grid's parent run across resumes so the UI shows one tree per grid."""
        for run in self.runs("grid", grid_id=grid_id):
            return run.info.run_id
        run_id = self.start("grid", grid_id, f"grid {grid_id}", params={}, tags={TAG_GRID: grid_id})
        self.log_dict(run_id, summary, "grid.json")
        return run_id

    def start(self, kind: str, hash_: str, name: str, *, params: dict, tags: dict | None = None,
              parent: str | None = None) -> str:
        tags = {TAG_KIND: kind, TAG_HASH: hash_, TAG_OWNER: _owner(), **(tags or {})}
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
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(str(k), float(v), now, step) for k, v in metrics.items() if v is not None]
        for chunk in _chunks(items, 900):
            self.client.log_batch(run_id, metrics=chunk)

    def set_tags(self, run_id: str, tags: dict) -> None:
        for k, v in tags.items():
            self.client.set_tag(run_id, k, str(v))

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


__all__ = ["TAG_FIT", "TAG_GRID", "TAG_HASH", "TAG_KIND", "Tracker", "check_reachable", "default_tracking_uri"]

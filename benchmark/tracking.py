"""MLflow bookkeeping: one parent run per grid, one run per generator fit and per classifier cell.

Explicit ``MlflowClient`` calls with run ids (no fluent "active run" state) so process-pool and Ray
workers can log into the same store safely. Resume is driven by the ``augbench.hash`` tag: a cell
whose hash has a FINISHED run is done (benchmark/claims.py decides what to rerun and clears the
corpses of crashed runs). Opening the store, and retrying it while another writer holds it, is
benchmark/store.py's job; every client call made here goes through that retrying client.
"""
from __future__ import annotations

import functools
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from augbench.benchmark.claims import owner_token
from augbench.benchmark.store import check_reachable, make_client
from augbench.core.errors import UserError
from augbench.core.layout import (ARTIFACT_GRID, ARTIFACT_TRACEBACK, KIND_GRID, SUPERSEDED, TAG_ERROR, TAG_GRID,
                                  TAG_HASH, TAG_KIND, TAG_OWNER, TAG_PARENT, TAG_SUPERSEDED, TAG_VERSION)

PARENT_TAG = TAG_PARENT  # the name callers know it by


def error_message(exc: BaseException) -> str:
    """What a FAILED run and the summary say: a UserError's own words, else the exception's type too."""
    return str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"


def _release(version: str) -> tuple[int, ...] | None:
    """The numeric release of a version string ("0.10.2rc1+g1a2b" -> (0, 10, 2)), None if it has none;
    enough to tell a newer augbench from this one without another dependency."""
    import re

    hit = re.match(r"^\s*v?(\d+(?:\.\d+)*)", str(version))
    if not hit:
        return None
    parts = [int(p) for p in hit.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


class Tracker:
    def __init__(self, tracking_uri: str, experiment: str, artifact_root: str | Path | None = None):
        import mlflow

        check_reachable(tracking_uri)
        self.tracking_uri = tracking_uri
        self.client = make_client(tracking_uri)
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
            self._check_writer_version(tracking_uri, experiment)

    def _check_writer_version(self, tracking_uri: str, experiment: str) -> None:
        """Refuse a store whose grids were written by a newer augbench: its hashes, tags and artifacts
        may mean things this version does not know, and resuming would mix the two silently."""
        from augbench.core.version import __version__

        ours = _release(__version__)
        if ours is None or "+unknown" in __version__:
            return  # a checkout that was never installed cannot say what it is
        newest = None
        for run in self.runs(KIND_GRID):
            tag = run.data.tags.get(TAG_VERSION, "")
            theirs = _release(tag)
            if theirs is not None and theirs > ours and (newest is None or theirs > _release(newest)):
                newest = tag
        if newest is not None:
            raise UserError(f"the store {tracking_uri} (experiment {experiment!r}) holds grids written by augbench "
                            f"{newest}, newer than this augbench {__version__}.",
                            "upgrade augbench (pip install -U augbench, or pull the newer checkout), or use "
                            "another --out / --tracking-uri for this version's runs.")

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
                and r.data.tags.get(TAG_SUPERSEDED) != SUPERSEDED}

    def failed(self, kind: str) -> set[str]:
        return {r.data.tags[TAG_HASH] for r in self.runs(kind)
                if r.info.status == "FAILED" and r.data.tags.get(TAG_SUPERSEDED) != SUPERSEDED}

    # --- writing ---------------------------------------------------------------------------------
    def grid_parent(self, grid_id: str, summary: dict, *, tags: dict | None = None, name: str | None = None) -> str:
        """Reuse the grid's parent run across resumes so the UI shows one tree per grid."""
        for run in self.runs(KIND_GRID, grid_id=grid_id):
            if run.info.status != "RUNNING":
                self.client.update_run(run.info.run_id, status="RUNNING")
            return run.info.run_id
        run_id = self.start(KIND_GRID, grid_id, name or f"grid {grid_id}", params={},
                            tags={TAG_GRID: grid_id, **(tags or {})})
        self.log_dict(run_id, summary, ARTIFACT_GRID)
        return run_id

    def start(self, kind: str, hash_: str, name: str, *, params: dict, tags: dict | None = None,
              parent: str | None = None) -> str:
        tags = {TAG_KIND: kind, TAG_HASH: hash_, TAG_OWNER: owner_token(), **(tags or {})}
        if parent:
            tags[TAG_PARENT] = parent
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        self.log_params(run.info.run_id, params)
        return run.info.run_id

    def log_params(self, run_id: str, params: dict) -> None:
        from mlflow.entities import Param

        items = [Param(str(k), str(v)[:6000]) for k, v in params.items()]
        if items:  # MlflowClient.log_batch splits into the store's request limits itself
            self.client.log_batch(run_id, params=items)

    def log_metrics(self, run_id: str, metrics: dict, step: int = 0) -> None:
        self.log_metric_rows(run_id, [(step, metrics)])

    def log_metric_rows(self, run_id: str, rows) -> None:
        """Many (step, {name: value}) rows in as few store round trips as possible (curves, per-epoch logs)."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(str(k), float(v), now, int(step)) for step, metrics in rows for k, v in metrics.items()
                 if v is not None]
        if items:
            self.client.log_batch(run_id, metrics=items)

    def set_tags(self, run_id: str, tags: dict) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(str(k), str(v)[:5000]) for k, v in tags.items()])

    def log_artifact(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def log_artifacts(self, run_id: str, folder: str | Path, artifact_path: str | None = None) -> None:
        """A whole folder (an MLflow Model directory) under ``artifact_path``."""
        self.client.log_artifacts(run_id, str(folder), artifact_path)

    def log_model(self, run_id: str, name: str, folder: str | Path, *, params: dict | None = None,
                  model_type: str | None = None) -> str:
        """A saved MLflow Model folder as an MLflow 3 LoggedModel made by ``run_id``: the run page lists
        it under "Logged models" (with its Register button), ``models:/<id>`` loads it. Returns its id."""
        from mlflow.entities import LoggedModelOutput

        model = self.client.create_logged_model(self.experiment_id, name=name, source_run_id=run_id,
                                                params={k: str(v) for k, v in (params or {}).items()},
                                                model_type=model_type)
        try:
            self.client.log_model_artifacts(model.model_id, str(folder))
        except BaseException:
            self.client.finalize_logged_model(model.model_id, "FAILED")
            raise
        self.client.finalize_logged_model(model.model_id, "READY")
        self.client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
        return model.model_id

    def log_text(self, run_id: str, text: str, name: str) -> None:
        self.client.log_text(run_id, text, name)

    def log_dict(self, run_id: str, data, name: str) -> None:
        # through json.dumps(default=str) rather than client.log_dict: settings hold tuples and paths
        self.log_text(run_id, json.dumps(data, indent=2, default=str), name)

    def log_inputs(self, run_id: str, inputs: list) -> None:
        """MLflow DatasetInputs (benchmark/lineage.py): the UI's "Datasets used" of the run."""
        if inputs:
            self.client.log_inputs(run_id, datasets=list(inputs))

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status)

    def delete(self, run_id: str) -> None:
        self.client.delete_run(run_id)

    def close_failed(self, run_id: str, exc: BaseException) -> None:
        """FAILED with the traceback for an error; deleted for an interruption (nothing to keep)."""
        try:
            if not isinstance(exc, Exception):
                self.delete(run_id)
                return
            self.log_text(run_id, "".join(traceback.format_exception(exc)), ARTIFACT_TRACEBACK)
            self.set_tags(run_id, {TAG_ERROR: error_message(exc)[:500]})
            self.finish(run_id, "FAILED")
        except Exception:  # noqa: BLE001 - the tracking store itself may be what failed
            pass


@functools.lru_cache(maxsize=8)
def shared_tracker(tracking_uri: str, experiment: str, artifact_root: str | None = None) -> Tracker:
    """One Tracker per (store, experiment) per process: opening a store costs a schema check each time."""
    return Tracker(tracking_uri, experiment, artifact_root)


@dataclass(frozen=True)
class RunContext:
    """Where one fit group's runs go: the store, the grid's parent run, and tags every run carries."""

    tracker: Tracker
    parent: str
    tags: dict = field(default_factory=dict)

"""Reading augbench's runs back from MLflow as DataFrames.

The tag, param and artifact names are the run layout's (augbench/core/layout.py), which the runner
writes with; they are re-exported here for callers that import them from reports.
"""
from __future__ import annotations

import contextlib
import os

from dataclasses import dataclass, field

import pandas as pd

from augbench.core.layout import (AXES, CONTEXT, FIT_AXES, KIND_CELL, KIND_FIT, PARAM_CONFIG_NAME,
                                  PARAM_DATASET, PREFIX_EFFECTIVE, SPLIT_TEST, TAG_GRID, TAG_HASH, TAG_KIND,
                                  TAG_PAIR_KEY)
# re-exported: older callers import these names from here
from augbench.core.layout import (ARTIFACT_FEATURES, ARTIFACT_PREDICTIONS, ARTIFACT_REAL, ARTIFACT_SAMPLES,  # noqa: F401
                                  TAG_FIT, TAG_OWNER, TAG_SUPERSEDED)
from augbench.core.values import budget_sort_key  # noqa: F401 - the reports order budgets by it


def search_runs(tracking_uri: str, experiment: str, *, kind: str = KIND_CELL, status: str | None = "FINISHED",
                filter_string: str = "") -> pd.DataFrame:
    """All runs of one kind in an experiment (empty frame when the experiment does not exist)."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return pd.DataFrame()
    clauses = [f"tags.`{TAG_KIND}` = '{kind}'"]
    if status:
        clauses.append(f"attributes.status = '{status}'")
    if filter_string:
        clauses.append(filter_string)
    with _fluent_tracking_uri(mlflow, tracking_uri):
        return mlflow.search_runs(experiment_ids=[exp.experiment_id], filter_string=" and ".join(clauses),
                                  max_results=50000)


@contextlib.contextmanager
def _fluent_tracking_uri(mlflow, tracking_uri: str):
    """mlflow.search_runs (which builds the DataFrame) reads the fluent tracking URI, and setting it
    also sets $MLFLOW_TRACKING_URI for the whole process. Left set, the next `benchmark run` in the
    same process (a notebook, the tests) would take it for the user's environment and write to this
    store. So both are put back as they were."""
    saved_env = os.environ.get("MLFLOW_TRACKING_URI")
    saved_uri = mlflow.get_tracking_uri() if saved_env is not None else None
    mlflow.set_tracking_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved_uri)  # None also unsets the variable
        if saved_env is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved_env


# --- reading a selection back as tidy frames -------------------------------------------------------
@dataclass
class RunSet:
    """The runs a report is made from, plus what was selected, so the report can say so."""

    tracking_uri: str
    experiment: str
    cells: pd.DataFrame          # one row per classifier cell (FINISHED), axes as plain columns
    fits: pd.DataFrame           # one row per generator fit (FINISHED)
    filters: dict = field(default_factory=dict)
    duplicates_dropped: int = 0  # older FINISHED runs of the same cell hash (e.g. after --force)
    left_out: list = field(default_factory=list)  # runs not used, each with the reason

    @property
    def legacy_runs(self) -> int:
        """Cell runs without the pair-key tag (made before it existed)."""
        return int(self.cells["legacy"].sum()) if "legacy" in self.cells else 0

    @property
    def grid_ids(self) -> list[str]:
        column = f"tags.{TAG_GRID}"
        return sorted(self.cells[column].dropna().unique()) if column in self.cells else []

    def group_keys(self) -> list[str]:
        """(dataset, classifier, configuration) plus every context setting that varies (for the titles).

        ``config`` is one label per pair key, so grouping by it never mixes configurations."""
        keys = ["dataset", "classifier", "config"]
        for name in ("image_size", "target"):
            if name in self.cells and self.cells[name].nunique(dropna=False) > 1:
                keys.append(name)
        return keys


def _tidy(runs: pd.DataFrame, axes: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """Axes and context as plain string columns (seed as int), latest run per cell kept (fit runs)."""
    if runs.empty:
        return pd.DataFrame(columns=["run_id", *axes, *CONTEXT]), 0
    frame = runs.copy()
    for name in (*axes, *CONTEXT):
        column = f"params.{name}"
        frame[name] = frame[column].astype(str) if column in frame else ""
    frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce").astype("Int64")
    frame = frame.sort_values("start_time", ascending=False, kind="stable")
    before = len(frame)
    frame = frame.drop_duplicates(subset=[*axes, *CONTEXT], keep="first")
    return frame.reset_index(drop=True), before - len(frame)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[column].fillna("").astype(str)


def tidy_cells(runs: pd.DataFrame) -> tuple[pd.DataFrame, int, list[dict]]:
    """Cell runs as a tidy frame, one run per (configuration, arm, budget, seed).

    Configuration = the ``augbench.pair_key`` tag (everything but arm, arm settings, seed and
    budget); runs made before that tag existed get a legacy key from dataset, classifier, image
    size, preset and target, which cannot see other settings (epochs, minority set, overrides).
    Returns (cells, duplicates of the same cell hash dropped, runs left out with the reason)."""
    if runs.empty:
        return pd.DataFrame(columns=["run_id", *AXES, *CONTEXT, "pair_key", "config"]), 0, []
    frame = runs.copy()
    for name in (*AXES, *CONTEXT):
        frame[name] = _text(frame, f"params.{name}")
    frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce").astype("Int64")
    frame["cell_hash"] = _text(frame, f"tags.{TAG_HASH}")
    frame["pair_key"] = _text(frame, f"tags.{TAG_PAIR_KEY}")
    name = _text(frame, f"params.{PARAM_CONFIG_NAME}")
    frame["config_name"] = name.where(name != "", frame["preset"])
    legacy = frame["pair_key"] == ""
    frame["legacy"] = legacy
    frame["pair_group"] = frame["pair_key"].where(~legacy, "legacy:" + frame["dataset"] + "|" + frame["classifier"]
                                                  + "|" + frame["image_size"] + "|" + frame["preset"] + "|"
                                                  + frame["target"])
    order = "end_time" if "end_time" in frame and frame["end_time"].notna().all() else "start_time"
    frame = frame.sort_values(order, ascending=False, kind="stable")  # newest finished first
    hashed = frame["cell_hash"] != ""
    same_hash = hashed & frame.duplicated(subset=["cell_hash"], keep="first")
    frame = frame[~same_hash]
    conflict = frame.duplicated(subset=["pair_group", "arm", "budget", "seed"], keep="first")
    kept = frame[~conflict].set_index(["pair_group", "arm", "budget", "seed"])["run_id"]
    left_out = []
    for _, row in frame[conflict].iterrows():
        newer = kept.get((row["pair_group"], row["arm"], row["budget"], row["seed"]), "?")
        reason = (f"same configuration (pair key {row['pair_key'][:12]}), arm, budget and seed as the newer run "
                  f"{str(newer)[:12]} but a different cell hash (different arm settings): only the newest is used"
                  if not row["legacy"] else
                  f"same dataset, classifier, image size, preset, target, arm, budget and seed as the newer run "
                  f"{str(newer)[:12]}; these runs carry no {TAG_PAIR_KEY} tag, so whether their other settings "
                  f"match cannot be checked: only the newest is used")
        left_out.append({"run_id": row["run_id"], "arm": row["arm"], "budget": row["budget"],
                         "seed": row["seed"], "config": row["config_name"], "reason": reason})
    frame = frame[~conflict].copy()
    frame["config"] = _config_labels(frame)
    return frame.reset_index(drop=True), int(same_hash.sum()), left_out


def _config_labels(frame: pd.DataFrame) -> pd.Series:
    """config_name, plus a short pair key where one name covers several configurations."""
    labels = {}
    groups = frame.drop_duplicates("pair_group")
    for (_, _, name), same in groups.groupby(["dataset", "classifier", "config_name"], sort=False):
        for _, row in same.iterrows():
            label = name or "?"
            if row["legacy"]:
                label += " (no pair key)"
            elif len(same) > 1:
                label += f" #{row['pair_key'][:8]}"
            labels[row["pair_group"]] = label
    return frame["pair_group"].map(labels)


def load_runs(tracking_uri: str, experiment: str = "augbench", *, grid_id: str | None = None,
              dataset: str | None = None) -> RunSet:
    """Every FINISHED cell and generator-fit run of a selection; a clear error when there are none."""
    from augbench.core.errors import UserError

    filters = []
    if grid_id:
        filters.append(f"tags.`{TAG_GRID}` = '{grid_id}'")
    if dataset:
        filters.append(f"params.{PARAM_DATASET} = '{dataset}'")
    where = " and ".join(filters)
    try:
        cells = search_runs(tracking_uri, experiment, kind=KIND_CELL, filter_string=where)
        fits = search_runs(tracking_uri, experiment, kind=KIND_FIT, filter_string=where)
    except Exception as exc:  # noqa: BLE001 - unreachable server, unreadable store: same fix
        raise UserError(f"cannot read runs from {tracking_uri} ({type(exc).__name__}: {str(exc)[:200]}).",
                        "pass the --out folder of a finished `benchmark run`, or a reachable --tracking-uri.") from None
    selected = ", ".join(f"{k}={v}" for k, v in (("grid id", grid_id), ("dataset", dataset)) if v)
    if cells.empty:
        raise UserError(f"no finished classifier runs in experiment {experiment!r} at {tracking_uri}"
                        + (f" for {selected}" if selected else "") + ".",
                        "check --experiment/--grid-id/--dataset (see `benchmark ui`), or run a grid first.")
    cells, dropped, left_out = tidy_cells(cells)
    fits, _ = _tidy(fits, FIT_AXES)
    cells.attrs["tracking_uri"] = tracking_uri  # lets main_tables find the predictions artifacts
    return RunSet(tracking_uri, experiment, cells, fits, {"grid_id": grid_id, "dataset": dataset}, dropped,
                  left_out)


def metric_names(frame: pd.DataFrame, prefix: str = "") -> list[str]:
    """Logged metric names (without MLflow's ``metrics.`` column prefix) that start with ``prefix``."""
    return [c.removeprefix("metrics.") for c in frame.columns
            if c.startswith("metrics." + prefix) and frame[c].notna().any()]


def class_keys(cells: pd.DataFrame, split: str = SPLIT_TEST) -> list[str]:
    """Class key fragments in logged order, read from the per-class recall metrics."""
    return [name.removeprefix(f"{split}_recall_") for name in metric_names(cells, f"{split}_recall_")]


def minority_keys(frame: pd.DataFrame) -> list[str]:
    """Classes that had a budget applied: the runner logs ``effective_<class>`` only for those."""
    prefix = f"params.{PREFIX_EFFECTIVE}"
    return [c.removeprefix(prefix) for c in frame.columns if c.startswith(prefix) and frame[c].notna().any()]

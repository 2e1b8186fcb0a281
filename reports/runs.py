"""How augbench lays runs out in MLflow, and reading them back as a DataFrame.

The tag/param names live here (not in benchmark/) because reports must read runs without importing
the training side; the runner imports these names to write them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

TAG_KIND = "augbench.kind"          # "grid" (parent), "generator" (one fit), "cell" (one classifier run)
TAG_HASH = "augbench.hash"          # content hash of the resolved config of the run
TAG_GRID = "augbench.grid_id"       # hash of the grid spec; shared by all runs of one grid
TAG_FIT = "augbench.fit_hash"       # on cell runs: the generator fit they used
TAG_OWNER = "augbench.owner"        # host:pid of the process running it (for stale-run detection)
TAG_SUPERSEDED = "augbench.superseded"
AXES = ("dataset", "budget", "seed", "arm", "classifier")
# artifacts of a generator-fit run that the report shows
ARTIFACT_SAMPLES = "samples.png"             # a row of synthetic images per class
ARTIFACT_REAL = "real.png"                   # the same layout with the budget images the arm saw
ARTIFACT_FEATURES = "features_domain.npz"    # domain features per role and class: "<role>__<class key>"


def search_runs(tracking_uri: str, experiment: str, *, kind: str = "cell", status: str | None = "FINISHED",
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
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.search_runs(experiment_ids=[exp.experiment_id], filter_string=" and ".join(clauses),
                              max_results=50000)


# --- reading a selection back as tidy frames -------------------------------------------------------
#: settings that must match for two runs to be comparable; when a selection mixes values of one of
#: these (two grids with different image sizes in one experiment), tables are split by it.
CONTEXT = ("image_size", "preset", "target")
BUDGET_ALL = "all"


def budget_sort_key(label) -> tuple:
    """Numeric budgets ascending, then 'all' (the full training split) last."""
    text = str(label)
    return (1, 0) if text == BUDGET_ALL else (0, int(text)) if text.isdigit() else (0, float("inf"), text)


@dataclass
class RunSet:
    """The runs a report is made from, plus what was selected, so the report can say so."""

    tracking_uri: str
    experiment: str
    cells: pd.DataFrame          # one row per classifier cell (FINISHED), axes as plain columns
    fits: pd.DataFrame           # one row per generator fit (FINISHED)
    filters: dict = field(default_factory=dict)
    duplicates_dropped: int = 0  # older FINISHED runs of the same cell (e.g. after --force)

    @property
    def grid_ids(self) -> list[str]:
        column = f"tags.{TAG_GRID}"
        return sorted(self.cells[column].dropna().unique()) if column in self.cells else []

    def group_keys(self) -> list[str]:
        """(dataset, classifier) plus every context setting that is not the same for all cells."""
        keys = ["dataset", "classifier"]
        for name in CONTEXT:
            if name in self.cells and self.cells[name].nunique(dropna=False) > 1:
                keys.append(name)
        return keys


def _tidy(runs: pd.DataFrame, axes: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """Axes and context as plain string columns (seed as int), latest run per cell kept."""
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


def load_runs(tracking_uri: str, experiment: str = "augbench", *, grid_id: str | None = None,
              dataset: str | None = None) -> RunSet:
    """Every FINISHED cell and generator-fit run of a selection; a clear error when there are none."""
    from datasets.errors import UserError

    filters = []
    if grid_id:
        filters.append(f"tags.`{TAG_GRID}` = '{grid_id}'")
    if dataset:
        filters.append(f"params.dataset = '{dataset}'")
    where = " and ".join(filters)
    try:
        cells = search_runs(tracking_uri, experiment, kind="cell", filter_string=where)
        fits = search_runs(tracking_uri, experiment, kind="generator", filter_string=where)
    except Exception as exc:  # noqa: BLE001 - unreachable server, unreadable store: same fix
        raise UserError(f"cannot read runs from {tracking_uri} ({type(exc).__name__}: {str(exc)[:200]}).",
                        "pass the --out folder of a finished `benchmark run`, or a reachable --tracking-uri.") from None
    selected = ", ".join(f"{k}={v}" for k, v in (("grid id", grid_id), ("dataset", dataset)) if v)
    if cells.empty:
        raise UserError(f"no finished classifier runs in experiment {experiment!r} at {tracking_uri}"
                        + (f" for {selected}" if selected else "") + ".",
                        "check --experiment/--grid-id/--dataset (see `benchmark ui`), or run a grid first.")
    cells, dropped = _tidy(cells, AXES)
    fits, _ = _tidy(fits, ("dataset", "budget", "seed", "arm"))
    return RunSet(tracking_uri, experiment, cells, fits, {"grid_id": grid_id, "dataset": dataset}, dropped)


def metric_names(frame: pd.DataFrame, prefix: str = "") -> list[str]:
    """Logged metric names (without MLflow's ``metrics.`` column prefix) that start with ``prefix``."""
    return [c.removeprefix("metrics.") for c in frame.columns
            if c.startswith("metrics." + prefix) and frame[c].notna().any()]


def class_keys(cells: pd.DataFrame, split: str = "test") -> list[str]:
    """Class key fragments in logged order, read from the per-class recall metrics."""
    return [name.removeprefix(f"{split}_recall_") for name in metric_names(cells, f"{split}_recall_")]


def minority_keys(frame: pd.DataFrame) -> list[str]:
    """Classes that had a budget applied: the runner logs ``effective_<class>`` only for those."""
    return [c.removeprefix("params.effective_") for c in frame.columns
            if c.startswith("params.effective_") and frame[c].notna().any()]

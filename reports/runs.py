"""How augbench lays runs out in MLflow, and reading them back as a DataFrame.

The tag/param names live here (not in benchmark/) because reports must read runs without importing
the training side; the runner imports these names to write them.
"""
from __future__ import annotations

import pandas as pd

TAG_KIND = "augbench.kind"          # "grid" (parent), "generator" (one fit), "cell" (one classifier run)
TAG_HASH = "augbench.hash"          # content hash of the resolved config of the run
TAG_GRID = "augbench.grid_id"       # hash of the grid spec; shared by all runs of one grid
TAG_FIT = "augbench.fit_hash"       # on cell runs: the generator fit they used
TAG_OWNER = "augbench.owner"        # host:pid of the process running it (for stale-run detection)
TAG_SUPERSEDED = "augbench.superseded"
AXES = ("dataset", "budget", "seed", "arm", "classifier")


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

"""A real `mlflow server` (the command `benchmark ui` runs) answers REST searches by grid params.

Runs are written through the runner's own Tracker over HTTP, so this checks the layout the UI
relies on: axes as params on every run, the grid id tag, children nested under the grid's parent.
"""
import json
import urllib.request

import pytest

from augbench.benchmark.tracking import Tracker
from augbench.core.layout import KIND_CELL, TAG_GRID, TAG_KIND, TAG_PARENT
from augbench.reports.server import server_command


def rest_search(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(f"{url}/api/2.0/mlflow/runs/search", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read()).get("runs", [])


def test_server_search_finds_grid_runs_by_params(mlflow_server):
    server = mlflow_server
    assert server_command("sqlite:///x.db", "/tmp/a", 5001)[3:6] == ["server", "--host", "127.0.0.1"]
    tracker = Tracker(server, "augbench")
    parent = tracker.grid_parent("grid-a", {"datasets": ["toy"]})
    expected = set()
    for seed in (0, 1):
        for arm in ("none", "oversample", "dcgan"):
            params = {"dataset": "toy", "budget": "10", "seed": seed, "arm": arm, "classifier": "small-cnn"}
            run_id = tracker.start(KIND_CELL, f"h-{seed}-{arm}", f"toy b=10 s={seed} {arm}", params=params,
                                   tags={TAG_GRID: "grid-a"}, parent=parent)
            tracker.log_metrics(run_id, {"test_balanced_accuracy": 0.5 + 0.1 * seed})
            tracker.finish(run_id)
            if arm == "oversample":
                expected.add(run_id)
    other = Tracker(server, "augbench")  # a second grid in the same experiment must not leak in
    other_parent = other.grid_parent("grid-b", {})
    stray = other.start(KIND_CELL, "h-b", "b", params={"dataset": "toy", "budget": "10", "seed": 0, "arm": "oversample",
                                                     "classifier": "small-cnn"}, tags={TAG_GRID: "grid-b"},
                        parent=other_parent)
    other.finish(stray)

    found = rest_search(server, {"experiment_ids": [tracker.experiment_id], "max_results": 100,
                                 "filter": f"params.arm = 'oversample' and tags.`{TAG_GRID}` = 'grid-a'"})
    assert {r["info"]["run_id"] for r in found} == expected
    for run in found:
        params = {p["key"]: p["value"] for p in run["data"]["params"]}
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert params["arm"] == "oversample" and params["budget"] == "10" and params["dataset"] == "toy"
        assert tags[TAG_KIND] == "cell" and tags[TAG_PARENT] == parent

    by_seed = rest_search(server, {"experiment_ids": [tracker.experiment_id], "max_results": 100,
                                   "filter": f"params.seed = '1' and tags.`{TAG_GRID}` = 'grid-a' and "
                                             f"tags.`{TAG_KIND}` = 'cell'"})
    assert sorted(p["value"] for r in by_seed for p in r["data"]["params"] if p["key"] == "arm") == \
        ["dcgan", "none", "oversample"]

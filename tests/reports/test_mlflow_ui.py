"""The MLflow UI that `benchmark ui` serves, opened in headless Chromium over a real grid's store.

What a user looks for there: one grid as a parent run (its fits and cells folded under it), a cell
page naming its parent fit, its source commit and the datasets it used, and the compare view of the
grid's cells showing the per-class metrics side by side. The UI is a React app, so the checks read
the DOM Chromium renders (--dump-dom after the page's scripts ran), not the HTML the server sends.
"""
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from augbench.core.layout import TAG_GRID, TAG_KIND
from augbench.reports.server import free_port
from tests._servers import serving
from tests.reports.test_html_chromium import chromium
from tests.reports.test_mlflow_server import rest_search


@pytest.fixture(scope="module")
def ui(lineage_grid, tmp_path_factory):
    """`benchmark ui --out <grid's out>` on a free port, in its own process group."""
    port = free_port()
    script = Path(sys.executable).with_name("benchmark")
    cmd = [str(script), "ui", "--out", str(lineage_grid), "--port", str(port)]
    with serving(cmd, port, tmp_path_factory.mktemp("ui") / "ui.log") as url:
        yield url


def page_text(url: str, tmp_path, *, expect: str) -> str:
    """The visible text of ``url`` once rendered; retried with more (virtual) time until ``expect`` shows."""
    text = ""
    for budget in (20000, 60000):
        profile = tmp_path / f"profile-{budget}-{time.monotonic_ns()}"
        result = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                                 "--disable-sync", f"--user-data-dir={profile}", "--window-size=1600,4000",
                                 f"--virtual-time-budget={budget}", "--dump-dom", url],
                                capture_output=True, text=True, timeout=180)
        dom = re.sub(r"<script.*?</script>|<style.*?</style>", " ", result.stdout, flags=re.S)
        text = " ".join(re.sub(r"<[^>]+>", " ", dom).split())
        if expect in text:
            return text
    raise AssertionError(f"{expect!r} not rendered at {url}; page text: {text[:1500]}")


def _grid_runs(ui):
    experiments = json.loads(urllib.request.urlopen(f"{ui}/api/2.0/mlflow/experiments/get-by-name?"
                                                    "experiment_name=augbench", timeout=30).read())
    exp_id = experiments["experiment"]["experiment_id"]
    runs = rest_search(ui, {"experiment_ids": [exp_id], "max_results": 100})
    tags = [{t["key"]: t["value"] for t in r["data"]["tags"]} for r in runs]
    return exp_id, [(r, t) for r, t in zip(runs, tags)]



def test_grid_is_one_parent_with_its_fits_and_cells_folded_under_it(ui, tmp_path):
    exp_id, runs = _grid_runs(ui)
    (grid, grid_tags), = [(r, t) for r, t in runs if t[TAG_KIND] == "grid"]
    name = grid["info"]["run_name"]
    search = urllib.parse.quote(f"tags.`{TAG_GRID}` = '{grid_tags[TAG_GRID]}'")
    text = page_text(f"{ui}/#/experiments/{exp_id}/runs?searchFilter={search}", tmp_path, expect=name)
    assert f"{len(runs)} matching runs" in text  # grid + 3 fits + 3 cells, all of this grid
    hidden = [r["info"]["run_name"] for r, t in runs if t[TAG_KIND] == "cell"]
    assert not any(n in text for n in hidden), "cells are listed at the top level, not under their fit"


def test_a_cell_page_shows_its_fit_source_datasets_and_arm_settings(ui, tmp_path):
    exp_id, runs = _grid_runs(ui)
    cell, tags = next((r, t) for r, t in runs if t[TAG_KIND] == "cell"
                      and any(p["key"] == "arm" and p["value"] == "classic" for p in r["data"]["params"]))
    fit = next(r for r, _ in runs if r["info"]["run_id"] == tags["mlflow.parentRunId"])
    text = page_text(f"{ui}/#/experiments/{exp_id}/runs/{cell['info']['run_id']}", tmp_path, expect="Parent run")
    assert f"Parent run {fit['info']['run_name']}" in text
    commit = tags.get("mlflow.source.git.commit")
    assert f"Source benchmark{' ' + commit[:7] if commit else ''}" in text
    assert "pneumonia train b=10 s=0" in text  # its dataset input
    assert re.search(r"gen\.hflip \d", text)  # the arm's settings, on the cell itself


def test_compare_view_of_the_grids_cells_shows_per_class_metrics(ui, tmp_path):
    exp_id, runs = _grid_runs(ui)
    cells = [r["info"]["run_id"] for r, t in runs if t[TAG_KIND] == "cell"]
    url = (f"{ui}/#/compare-runs?runs={urllib.parse.quote(json.dumps(cells))}"
           f"&experiments={urllib.parse.quote(json.dumps([exp_id]))}")
    text = page_text(url, tmp_path, expect=f"Comparing {len(cells)} Runs")
    # MLflow 3.17's compare table renders the first metrics by name (the rest after scrolling):
    # the per-class AUC and F1 of both classes are among them
    for name in ("test_auc_normal", "test_auc_pneumonia", "test_f1_normal", "test_f1_pneumonia"):
        assert name in text, name
    assert all(arm in text for arm in ("none", "classic", "ddpm"))


def _logged_model(ui, run_id: str) -> dict:
    run = json.loads(urllib.request.urlopen(f"{ui}/api/2.0/mlflow/runs/get?run_id={run_id}", timeout=30).read())
    (output,) = run["run"]["outputs"]["model_outputs"]
    return output


def test_the_ui_lists_saved_models_and_draws_dataset_inputs_as_tensors(ui, tmp_path):
    """Clicked through in Chromium: a cell's page lists its classifier under "Logged models", its
    dataset drawer recognises the tensor schema (MLflow draws it as an array, not "Unrecognized
    Schema Format"), and the saved model's MLmodel carries the uint8 image signature."""
    from tests._cdp import Browser

    exp_id, runs = _grid_runs(ui)
    cell = next(r for r, t in runs if t[TAG_KIND] == "cell"
                and any(p["key"] == "arm" and p["value"] == "classic" for p in r["data"]["params"]))
    ddpm_fit = next(r for r, t in runs if t[TAG_KIND] == "generator"
                    and any(p["key"] == "arm" and p["value"] == "ddpm" for p in r["data"]["params"]))
    with Browser(chromium()) as browser:
        browser.open(f"{ui}/#/experiments/{exp_id}/runs/{cell['info']['run_id']}")
        browser.wait_for_text("Logged models (1)")
        text = browser.wait_for_text("Ready")  # the models table fills in after its own request
        assert "small-cnn" in text.split("Logged models (1)", 1)[1].split("About this run", 1)[0]
        browser.click_text("pneumonia train b=10 s=0 (")
        drawer = browser.wait_for_text("Data details for")
        assert "Array Datasource" in drawer and "Unrecognized Schema Format" not in drawer
        for run, shape in ((cell, "[-1, 28, 28, 1]"), (ddpm_fit, "[-1, 28, 28, 1]")):
            model_id = _logged_model(ui, run["info"]["run_id"])["model_id"]
            browser.open(f"{ui}/#/experiments/{exp_id}/models/{model_id}/artifacts")
            browser.wait_for_text("MLmodel")
            browser.click_text("MLmodel")
            mlmodel = " ".join(browser.wait_for_text("signature:").split())  # YAML wraps long lines
            assert '"dtype": "uint8"' in mlmodel and shape in mlmodel, mlmodel[-1500:]
        assert "python_function" in mlmodel and "params" in mlmodel  # the generator: pyfunc with a seed param

"""MLflow lineage of a real grid: grid -> fit -> cell nesting, source tags, dataset inputs, arm
settings on every cell, generator and classifier weights as artifacts."""
import subprocess

import mlflow
import numpy as np
import torch

from augbench.benchmark.fit import fit_node
from augbench.benchmark.grid import Fit, GridSpec
from augbench.benchmark.tracking import PARENT_TAG, RunContext, Tracker
from augbench.classifiers import create_classifier
from augbench.generators import create_generator
from augbench.reports.runs import TAG_FIT, TAG_GRID, TAG_KIND

from tests.conftest import REPO


def _runs(out):
    client = mlflow.MlflowClient(f"sqlite:///{out / 'mlflow.db'}")
    exp = client.get_experiment_by_name("augbench")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    by_kind = {}
    for run in runs:
        by_kind.setdefault(run.data.tags[TAG_KIND], []).append(run)
    return client, by_kind


def test_cells_nest_under_their_fit_which_nests_under_the_grid(lineage_grid):
    _, runs = _runs(lineage_grid)
    (grid,) = runs["grid"]
    fits = {r.info.run_id: r for r in runs["generator"]}
    assert sorted(r.data.params["arm"] for r in fits.values()) == ["classic", "ddpm", "none"]
    assert all(r.data.tags[PARENT_TAG] == grid.info.run_id for r in fits.values())
    assert len(runs["cell"]) == 3
    for cell in runs["cell"]:
        fit = fits[cell.data.tags[PARENT_TAG]]  # KeyError: the cell is not a child of a fit run
        assert fit.data.params["arm"] == cell.data.params["arm"]
        assert fit.data.tags["augbench.hash"] == cell.data.tags[TAG_FIT]
    assert "pneumonia" in grid.info.run_name and "b=10" in grid.info.run_name


def test_every_run_carries_source_tags_with_augbenchs_commit(lineage_grid):
    _, runs = _runs(lineage_grid)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    for run in [r for kind in runs.values() for r in kind]:
        tags = run.data.tags
        assert tags["mlflow.source.name"] == "benchmark" and tags["mlflow.source.type"] == "LOCAL"
        assert tags["mlflow.user"]
        assert "generators.ddpm.steps=5" in tags["augbench.command"]
        if head.returncode == 0:  # a git checkout (CI's clean clone is one)
            assert tags["mlflow.source.git.commit"] == head.stdout.strip()


def test_cells_log_what_they_saw_as_dataset_inputs(lineage_grid):
    _, runs = _runs(lineage_grid)
    cells = {r.data.params["arm"]: r for r in runs["cell"]}

    def inputs(run):
        out = {}
        for item in run.inputs.dataset_inputs:
            context = {t.key: t.value for t in item.tags}["mlflow.data.context"]
            out.setdefault(context, []).append(item.dataset)
        return out

    none, classic = inputs(cells["none"]), inputs(cells["classic"])
    assert set(none) == {"train", "validation", "test"}
    assert len(none["train"]) == 1 and len(classic["train"]) == 2  # classic adds its synthetic images
    real = none["train"][0]
    assert real.digest in {d.digest for d in classic["train"]}  # same budgeted images for every arm
    assert none["test"][0].digest == classic["test"][0].digest != real.digest
    import json

    profile = json.loads(real.profile)
    assert profile["num_images"] == int(cells["none"].data.params["n_train_real"])
    assert profile["split_fingerprint"] and profile["budget"] == "10"
    # MLflow's own tensor schema, so its UI draws the inputs: images (-1, 28, 28, 1) uint8, labels int64
    from mlflow.data.schema import TensorDatasetSchema

    schema = TensorDatasetSchema.from_dict(json.loads(real.schema))
    (images,), (labels,) = schema.features.inputs, schema.targets.inputs
    assert (images.name, images.shape, str(images.type)) == ("images", (-1, 28, 28, 1), "uint8")
    assert (labels.name, labels.shape, str(labels.type)) == ("labels", (-1,), "int64")
    fit_inputs = {r.data.params["arm"]: r.inputs.dataset_inputs for r in runs["generator"]}
    assert [i.dataset.digest for i in fit_inputs["ddpm"]] == [real.digest]


def test_cells_carry_their_arms_settings_as_params(lineage_grid):
    _, runs = _runs(lineage_grid)
    fits = {r.data.params["arm"]: r.data.params for r in runs["generator"]}
    for cell in runs["cell"]:
        arm = cell.data.params["arm"]
        gen = {k: v for k, v in cell.data.params.items() if k.startswith("gen.")}
        assert gen == {k: v for k, v in fits[arm].items() if k.startswith("gen.")}
    ddpm = next(c for c in runs["cell"] if c.data.params["arm"] == "ddpm").data.params
    assert ddpm["gen.steps"] == "5"  # the command-line setting, not the preset's
    classic = next(c for c in runs["cell"] if c.data.params["arm"] == "classic").data.params
    assert "gen.hflip" in classic


def test_weights_are_artifacts_that_load_back(lineage_grid, tmp_path):
    client, runs = _runs(lineage_grid)
    ddpm_fit = next(r for r in runs["generator"] if r.data.params["arm"] == "ddpm")
    path = client.download_artifacts(ddpm_fit.info.run_id, "model/generator.pt", str(tmp_path))
    generator = create_generator("ddpm", steps=5).load(path)
    cached = np.load(lineage_grid / "cache" / "fits" / ddpm_fit.data.tags["augbench.hash"] / "samples.npz")
    counts = {int(c): int((cached["labels"] == c).sum()) for c in np.unique(cached["labels"])}
    images, labels = generator.resample(counts, seed=0)  # the logged weights redraw the grid's own images
    np.testing.assert_array_equal(labels, cached["labels"])
    assert np.abs(images.astype(int) - cached["images"].astype(int)).max() <= 1
    for cell in runs["cell"]:
        weights = client.download_artifacts(cell.info.run_id, "model/small-cnn.pt", str(tmp_path / cell.info.run_id))
        model = create_classifier("small-cnn", n_classes=2, in_channels=1, image_size=28, weights=weights)
        state = torch.load(weights, weights_only=True)
        assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def test_a_fit_shared_with_an_earlier_grid_gets_a_link_run_under_this_grid(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", "augbench")
    spec = GridSpec(datasets=["toy"], generators=["none"], classifiers=["small-cnn"], budgets=[10], seeds=[0],
                    preset={"name": "smoke"}, image_size=28, out_dir=str(tmp_path))
    fit = Fit(spec, "toy", 10, 0, "none")
    grid_a = tracker.grid_parent("grid-a", {})
    fit_run = tracker.start("generator", fit.hash, "fit", params={"arm": "none", "gen.x": 1}, parent=grid_a)
    tracker.finish(fit_run)

    class Arm:
        run_id = fit_run

    class Data:
        pass

    data = Data()
    data.fit = fit
    assert fit_node(data, Arm, RunContext(tracker, grid_a)) == fit_run  # same grid: the fit run itself
    grid_b = tracker.grid_parent("grid-b", {})
    link = fit_node(data, Arm, RunContext(tracker, grid_b))
    assert link != fit_run
    run = tracker.client.get_run(link)
    assert run.data.tags[PARENT_TAG] == grid_b and run.data.tags["augbench.fit_run"] == fit_run
    assert run.data.params == {"arm": "none", "gen.x": "1"} and run.data.tags[TAG_GRID] == spec.grid_id()
    assert fit_node(data, Arm, RunContext(tracker, grid_b)) == link  # a resume reuses it
    assert tracker.finished("generator") == {fit.hash: fit_run}  # the link is no second fit

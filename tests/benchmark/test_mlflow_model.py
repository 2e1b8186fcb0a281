"""--save-models logs each classifier as an MLflow model of the pytorch flavor: mlflow.pyfunc.load_model
gives class probabilities from uint8 images, equal to the cell's own predictions, in a process where
augbench cannot be imported at all. Each learned arm's fit is logged as a pyfunc model that samples
the very images the fit's cells trained on, given the fit's seed."""
import json
import os
import subprocess
import sys
import textwrap

import mlflow
import numpy as np
import pytest

from augbench.benchmark.cli import main
from augbench.benchmark.store import default_tracking_uri
from augbench.reports.runs import search_runs


def _logged_model_uri(client, run_id: str, name: str) -> str:
    """``models:/<id>`` of the one LoggedModel the run lists as its output, checked to be ``name``'s."""
    (output,) = client.get_run(run_id).outputs.model_outputs
    model = client.get_logged_model(output.model_id)
    assert model.name == name and model.source_run_id == run_id and str(model.status) == "READY", model
    return f"models:/{model.model_id}"


@pytest.mark.slow
def test_a_saved_classifier_predicts_through_pyfunc_without_augbench(tmp_path, data_dir):
    out = tmp_path / "out"
    argv = ["run", "--dataset", "pneumonia", "--generators", "logit-adjustment", "--budget", "10", "--seeds", "0",
            "--preset", "smoke", "--data-dir", str(data_dir), "--out", str(out), "--no-progress", "--save-models",
            "classifier.epochs=1"]
    assert main(argv) == 0
    uri = default_tracking_uri(out)
    (cell,) = [r for r in search_runs(uri, "augbench", kind="cell").itertuples()]
    run_id = cell.run_id
    client = mlflow.MlflowClient(uri)
    model_uri = _logged_model_uri(client, run_id, "small-cnn")
    logged = np.load(client.download_artifacts(run_id, "predictions_test.npz", str(tmp_path / "preds")))
    from augbench.datasets import load_dataset

    test = load_dataset("pneumonia", data_dir=str(data_dir), image_size=28).test
    # the smoke preset caps the test split: the cell's images are found by the ids its predictions carry
    position = {str(i): k for k, i in enumerate(test.ids)}
    rows = [position[str(i)] for i in logged["ids"][:64]]
    np.save(tmp_path / "images.npy", test.images[rows])
    script = textwrap.dedent(f"""
        import sys, json
        sys.modules["augbench"] = None          # augbench cannot be imported in this process
        import numpy as np, mlflow.pyfunc
        model = mlflow.pyfunc.load_model({model_uri!r})
        probs = model.predict(np.load({str(tmp_path / "images.npy")!r}))
        print(json.dumps({{"probs": np.asarray(probs).tolist(), "flavors": sorted(model.metadata.flavors),
                           "inputs": str(model.metadata.get_input_schema()),
                           "classes": model.metadata.metadata["classes"]}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MLFLOW_TRACKING_URI": uri})
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    probs = np.asarray(answer["probs"])
    assert probs.shape == (64, 2) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    # the cell's own test predictions (logit adjustment's offset included), to float32 precision
    assert np.allclose(probs, logged["probs"][:64], atol=2e-3), np.abs(probs - logged["probs"][:64]).max()
    assert "uint8" in answer["inputs"] and answer["classes"] == [str(c) for c in logged["classes"]]
    assert "pytorch" in answer["flavors"]  # MLflow's own torch flavor, not a custom wrapper


@pytest.mark.slow
def test_a_saved_generator_samples_the_fits_own_images_through_pyfunc(tmp_path, data_dir):
    out = tmp_path / "out"
    argv = ["run", "--dataset", "pneumonia", "--generators", "cwgan-gp", "--budget", "10", "--seeds", "1",
            "--preset", "smoke", "--data-dir", str(data_dir), "--out", str(out), "--no-progress", "--save-models",
            "classifier.epochs=1", "generators.cwgan-gp.steps=4"]
    assert main(argv) == 0
    uri = default_tracking_uri(out)
    (fit,) = [r for r in search_runs(uri, "augbench", kind="generator").itertuples()]
    client = mlflow.MlflowClient(uri)
    model_uri = _logged_model_uri(client, fit.run_id, "cwgan-gp")
    (samples,) = (out / "cache" / "fits").glob("*/samples.npz")  # what the fit's cells trained on
    cached = np.load(samples)
    classes, counts = np.unique(cached["labels"], return_counts=True)
    assert len(cached["labels"]) > 0
    script = textwrap.dedent(f"""
        import json, numpy as np, pandas as pd, mlflow.pyfunc
        model = mlflow.pyfunc.load_model({model_uri!r})
        rows = pd.DataFrame({{"label": {classes.tolist()!r}, "n": {counts.tolist()!r}}}).astype("int64")
        np.save({str(tmp_path / "seed1.npy")!r}, model.predict(rows, params={{"seed": 1}}))
        np.save({str(tmp_path / "seed2.npy")!r}, model.predict(rows, params={{"seed": 2}}))
        print(json.dumps(model.metadata.metadata))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MLFLOW_TRACKING_URI": uri})
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads(done.stdout.strip().splitlines()[-1])
    assert meta["arm"] == "cwgan-gp" and meta["classes"] == ["normal", "pneumonia"]
    seed1, seed2 = np.load(tmp_path / "seed1.npy"), np.load(tmp_path / "seed2.npy")
    assert seed1.dtype == np.uint8 and seed1.shape == cached["images"].shape
    np.testing.assert_array_equal(seed1, cached["images"])  # the fit's seed: the benchmark's own draw
    assert not np.array_equal(seed2, seed1)

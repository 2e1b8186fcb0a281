"""--save-models logs each classifier as an MLflow pyfunc model: mlflow.pyfunc.load_model gives class
probabilities from uint8 images, equal to the cell's own predictions, in a process where augbench
cannot be imported at all."""
import json
import subprocess
import sys
import textwrap

import mlflow
import numpy as np
import pytest

from augbench.benchmark.cli import main
from augbench.benchmark.store import default_tracking_uri
from augbench.reports.runs import search_runs


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
    local = client.download_artifacts(run_id, "mlflow_model", str(tmp_path / "downloaded"))
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
        model = mlflow.pyfunc.load_model({str(local)!r})
        probs = model.predict(np.load({str(tmp_path / "images.npy")!r}))
        print(json.dumps({{"probs": np.asarray(probs).tolist(),
                           "inputs": str(model.metadata.get_input_schema()),
                           "classes": model.metadata.metadata["classes"]}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    probs = np.asarray(answer["probs"])
    assert probs.shape == (64, 2) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    # the cell's own test predictions (logit adjustment's offset included), to float32 precision
    assert np.allclose(probs, logged["probs"][:64], atol=2e-3), np.abs(probs - logged["probs"][:64]).max()
    assert "uint8" in answer["inputs"] and answer["classes"] == [str(c) for c in logged["classes"]]

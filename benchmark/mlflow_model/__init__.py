"""A trained classifier as an MLflow Model of the pytorch flavor:
``mlflow.pyfunc.load_model(uri).predict(uint8 images)`` (or ``mlflow.pytorch.load_model``) returns
class probabilities, with nothing of augbench installed.

The network is traced to TorchScript together with the preprocessing the benchmark applies (uint8
NHWC -> float NCHW in [-1, 1]), the arm's evaluation logit offset (post-hoc logit adjustment) and
the softmax, so the saved graph *is* the cell's prediction, and the flavor stores a TorchScript
file that loads without the classes that built it. The signature is inferred from a real batch of
the cell's test images. Generators are saved by ``generator_model`` (they need augbench to sample).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

class _Probabilities(nn.Module):
    """uint8 NHWC -> softmax probabilities, exactly as the cell predicted its test split."""

    def __init__(self, model: nn.Module, logit_offset):
        super().__init__()
        self.model = model
        offset = torch.zeros(0) if logit_offset is None else torch.as_tensor(np.asarray(logit_offset), dtype=torch.float32)
        self.register_buffer("offset", offset)
        self.has_offset = logit_offset is not None  # a Python flag: fixed in the traced graph

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        logits = self.model(x).float()
        if self.has_offset:
            logits = logits + self.offset
        return torch.softmax(logits, dim=1)


def save_classifier(model: nn.Module, example: np.ndarray, path: str | Path, *, logit_offset=None,
                    class_names=None) -> Path:
    """Write ``model`` as an MLflow pytorch-flavor model folder at ``path`` (which must not exist yet)."""
    import mlflow.pytorch
    from mlflow.models import infer_signature

    example = np.ascontiguousarray(example, dtype=np.uint8)
    wrapped = _Probabilities(model.float().cpu().eval(), logit_offset).eval()
    with torch.no_grad():
        traced = torch.jit.trace(wrapped, torch.from_numpy(example))
        probs = traced(torch.from_numpy(example)).numpy()
    mlflow.pytorch.save_model(
        traced, str(path), signature=infer_signature(example, probs), input_example=example,
        serialization_format="pickle",  # for a ScriptModule the flavor writes TorchScript (torch.jit.save)
        pip_requirements=runtime_requirements(),
        metadata={"classes": list(class_names) if class_names is not None else [],
                  "input": "uint8 NHWC images, as the benchmark's datasets store them",
                  "output": "softmax probabilities (N, K), classes in metadata order"})
    return Path(path)


def runtime_requirements(*extra: str) -> list[str]:
    """What a saved model needs to load: this torch, numpy and mlflow (and ``extra``)."""
    import mlflow

    return [f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}",
            f"numpy=={np.__version__}", *extra]


#: the generator pyfunc's code file (model from code), shipped inside every saved generator model
GENERATOR_CODE = Path(__file__).with_name("generator_sampler.py")


def save_generator(generator, weights: str | Path, path: str | Path, *, class_names=None) -> Path:
    """Write a fitted learned arm as an MLflow pyfunc model folder at ``path``: rows of (label, n) and
    a ``seed`` param in, uint8 NHWC images out (benchmark/mlflow_model/generator_sampler.py). It
    needs augbench to load (the arm's networks are its code), so augbench is a pip requirement."""
    import json
    import tempfile

    import mlflow.pyfunc
    import pandas as pd
    from mlflow.models import infer_signature

    from augbench.core.version import __version__

    example = pd.DataFrame({"label": [int(generator.n_classes) - 1], "n": [2]}).astype("int64")
    images, _ = generator.resample({int(generator.n_classes) - 1: 2}, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        arm = Path(tmp) / "arm.json"
        arm.write_text(json.dumps({"name": generator.name, "config": generator.describe()}))
        mlflow.pyfunc.save_model(
            str(path), python_model=str(GENERATOR_CODE), artifacts={"weights": str(weights), "arm": str(arm)},
            signature=infer_signature(example, np.ascontiguousarray(images, dtype=np.uint8), params={"seed": 0}),
            input_example=(example, {"seed": 0}), pip_requirements=runtime_requirements(f"augbench=={__version__}"),
            metadata={"classes": list(class_names) if class_names is not None else [], "arm": generator.name,
                      "input": "rows of label (class index) and n (how many images); param seed",
                      "output": "uint8 NHWC images, the rows' classes in order; seed s gives the benchmark's "
                                "own draw for a fit of seed s"})
    return Path(path)

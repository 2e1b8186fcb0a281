"""A trained classifier as an MLflow Model: ``mlflow.pyfunc.load_model(uri).predict(uint8 images)``
returns class probabilities, with nothing of augbench installed.

The network is traced to TorchScript together with the preprocessing the benchmark applies (uint8
NHWC -> float NCHW in [-1, 1]), the arm's evaluation logit offset (post-hoc logit adjustment) and
the softmax, so the saved graph *is* the cell's prediction. The pyfunc wrapper is MLflow's
"model from code": ``scripted_probabilities.py`` is copied into the model folder and imports only
torch, numpy and mlflow. The signature is inferred from a real batch of the cell's test images.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: the pyfunc's code file, shipped inside every saved model
CODE = Path(__file__).with_name("scripted_probabilities.py")
#: the TorchScript file's name among the model's artifacts
SCRIPTED = "probabilities.pt"


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
    """Write ``model`` as an MLflow pyfunc model folder at ``path`` (which must not exist yet)."""
    import mlflow
    from mlflow.models import infer_signature

    example = np.ascontiguousarray(example, dtype=np.uint8)
    wrapped = _Probabilities(model.float().cpu().eval(), logit_offset).eval()
    with torch.no_grad():
        traced = torch.jit.trace(wrapped, torch.from_numpy(example))
        probs = traced(torch.from_numpy(example)).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        scripted = Path(tmp) / SCRIPTED
        traced.save(str(scripted))
        mlflow.pyfunc.save_model(
            str(path), python_model=str(CODE), artifacts={"scripted": str(scripted)},
            signature=infer_signature(example, probs), input_example=example,
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}",
                              f"numpy=={np.__version__}"],
            metadata={"classes": list(class_names) if class_names is not None else [],
                      "input": "uint8 NHWC images, as the benchmark's datasets store them",
                      "output": "softmax probabilities (N, K), classes in metadata order"})
    return Path(path)

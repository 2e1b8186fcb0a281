"""Where a run came from, in the tags and inputs MLflow's own UI shows: source, commit, user, data.

MLflow sets these itself only for runs started through its fluent API in the process that made them;
augbench creates runs with ``MlflowClient`` (and in worker processes), so it resolves them once on
the driver with MLflow's own context providers and puts them on every run of the grid. The commit is
augbench's: the repository that holds the imported package (an editable install), which is what
decides the numbers, not whatever folder the command happened to be started from.
"""
from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from augbench.core.layout import TAG_COMMAND, TAG_COMMIT, TAG_DIRTY, TAG_VERSION

CONTEXT_KEYS = ("mlflow.user", "mlflow.source.name", "mlflow.source.type")


@functools.lru_cache(maxsize=1)
def _package_commit() -> tuple[str | None, bool]:
    """(commit, has uncommitted changes) of the git checkout augbench is imported from, if any."""
    root = Path(__file__).resolve().parents[1]  # the checkout (editable install) or the installed package
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None, False
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=30)
        return head.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, False


def source_tags(argv: list[str] | None = None) -> dict:
    """MLflow's context tags (user, source name and type) plus augbench's commit, version and command."""
    from mlflow.tracking.context.registry import resolve_tags

    from augbench.core.version import __version__

    argv = list(sys.argv if argv is None else argv)
    tags = {k: v for k, v in resolve_tags().items() if k in CONTEXT_KEYS}
    if argv and argv[0] and argv[0] != "-":
        tags["mlflow.source.name"] = Path(argv[0]).name  # `benchmark`, not a virtualenv's absolute path
    commit, dirty = _package_commit()
    if commit:
        tags[TAG_COMMIT] = commit
        tags[TAG_DIRTY] = str(dirty).lower()
    tags[TAG_VERSION] = __version__
    if argv:
        tags[TAG_COMMAND] = " ".join([Path(argv[0]).name, *argv[1:]])[:5000]
    return tags


# --- dataset inputs -----------------------------------------------------------------------------------
def split_digest(fingerprint: str | None, part: str, labels: np.ndarray, ids) -> str:
    """What tells two inputs apart in MLflow's dataset table (36 characters at most): the dataset
    split's fingerprint and exactly which images this part holds, so two budgets never share one."""
    h = hashlib.sha256()
    h.update(f"{fingerprint}|{part}|".encode())
    h.update(np.asarray(labels, dtype=np.int64).tobytes())
    if ids is not None:
        h.update("\n".join(map(str, ids)).encode())
    return h.hexdigest()[:32]


def tensor_schema(images: np.ndarray) -> dict:
    """MLflow's tensor dataset schema (the format its UI draws): uint8 images (-1, H, W, C) as the
    features, int64 class indices as the targets."""
    from mlflow.data.schema import TensorDatasetSchema
    from mlflow.types.schema import Schema, TensorSpec

    features = Schema([TensorSpec(np.dtype(images.dtype), (-1, *images.shape[1:]), "images")])
    targets = Schema([TensorSpec(np.dtype(np.int64), (-1,), "labels")])
    return TensorDatasetSchema(features, targets).to_dict()


def dataset_input(name: str, split, *, part: str, context: str, fingerprint: str | None, source: str,
                  class_names: list[str], extra: dict | None = None):
    """One MLflow DatasetInput: ``split``'s images as ``context`` (train / validation / test)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    counts = np.bincount(np.asarray(split.labels, dtype=np.int64), minlength=len(class_names))
    profile = {"num_images": int(len(split.labels)), "part": part, "split_fingerprint": fingerprint,
               "class_counts": {c: int(n) for c, n in zip(class_names, counts)}, **(extra or {})}
    images = getattr(split, "images", None)
    schema = None if images is None else json.dumps(tensor_schema(images))
    dataset = Dataset(name=f"{name} {part}", digest=split_digest(fingerprint, part, split.labels,
                                                                 getattr(split, "ids", None)),
                      source_type="local", source=json.dumps({"uri": source}), schema=schema,
                      profile=json.dumps(profile))
    return DatasetInput(dataset=dataset, tags=[InputTag(key="mlflow.data.context", value=context)])

"""Reading what runs stored besides their final metrics: artifact files and metric histories.

Each accessor returns None (or an empty result) for something a run does not have, because older
runs, baseline arms and runs with fidelity disabled legitimately lack sample grids or features;
the report then says which panel is missing and why instead of failing.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np

from augbench.core.layout import ARTIFACT_FEATURES


class RunFiles:
    """Artifact and history access for one tracking store, with one client reused across calls."""

    def __init__(self, tracking_uri: str):
        import os

        from mlflow import MlflowClient

        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in report output
        self.client = MlflowClient(tracking_uri=tracking_uri)

    def artifact_names(self, run_id: str) -> set[str]:
        try:
            return {a.path for a in self.client.list_artifacts(run_id)}
        except Exception:  # noqa: BLE001 - a missing artifact folder means "no artifacts"
            return set()

    def read_bytes(self, run_id: str, name: str) -> bytes | None:
        if name not in self.artifact_names(run_id):
            return None
        with tempfile.TemporaryDirectory() as tmp:
            path = self.client.download_artifacts(run_id, name, tmp)
            return Path(path).read_bytes()

    def read_npz(self, run_id: str, name: str = ARTIFACT_FEATURES) -> dict[str, np.ndarray] | None:
        raw = self.read_bytes(run_id, name)
        if raw is None:
            return None
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def history(self, run_id: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of one metric, ordered by step."""
        points = sorted(self.client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
        return np.array([m.step for m in points]), np.array([m.value for m in points], dtype=float)

"""pytorch-fid's Inception-v3 (pool3, 2048-d): the extractor FID is usually quoted with.

pytorch-fid would fetch its weights from GitHub when ``$TORCH_HOME/hub/checkpoints/
pt_inception-2015-12-05-6726825d.pth`` is missing; this harness runs offline, so the file is looked
for first and its absence is reported at once (ExtractorUnavailable) instead of a slow URL error.
An explicit path is honoured by handing pytorch-fid's loader our file, so the network and the
TensorFlow-compatible blocks stay exactly pytorch-fid's.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch

from augbench.core.errors import UserError
from augbench.benchmark.fidelity.extractor import ExtractorUnavailable, FeatureExtractor

WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
STANDARD_SIZE = 299  # the input size FID values in the literature are computed at
MIN_SIZE = 75  # below this Inception-v3's stride-2 stem leaves no spatial extent for the last blocks


def default_weights_path() -> Path:
    """Where pytorch-fid itself looks: torch hub's checkpoint folder (honours $TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILENAME


def resolve_weights_path(weights_path: str | os.PathLike | None = None) -> Path:
    path = Path(weights_path).expanduser() if weights_path else default_weights_path()
    if not path.is_file():
        raise ExtractorUnavailable(
            f"Inception FID weights not found at {path} (no download is attempted).",
            f"place pytorch-fid's {WEIGHTS_FILENAME} at {path}"
            + ("" if weights_path else " or pass an explicit weights path") + ".",
        )
    return path


def _read_state_dict(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


@contextlib.contextmanager
def _local_weights(path: Path):
    """Make pytorch-fid's ``load_state_dict_from_url`` read ``path`` instead of the network."""
    import pytorch_fid.inception as pfi

    original = pfi.load_state_dict_from_url
    pfi.load_state_dict_from_url = lambda *args, **kwargs: _read_state_dict(path)
    try:
        yield pfi
    finally:
        pfi.load_state_dict_from_url = original


class InceptionExtractor(FeatureExtractor):
    dims = 2048
    batch_size = 50

    def __init__(self, weights_path: Path, *, device="cpu", image_size: int = STANDARD_SIZE):
        super().__init__(device)
        self.image_size = int(image_size)
        self.weights = str(weights_path)
        suffix = "" if self.image_size == STANDARD_SIZE else f"@{self.image_size}px"
        self.name = f"inception-v3-pool3{suffix}"
        self.key = "inception" if not suffix else f"inception_{self.image_size}px"
        with _local_weights(weights_path) as pfi:
            # resizing and scaling are done by _prepare so the input size is ours to choose
            net = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], resize_input=False,
                                  normalize_input=False)
        # channels-last runs Inception's convolutions ~1.7x faster on CPU (oneDNN)
        self.net = net.eval().to(self.device, memory_format=torch.channels_last)

    def identity(self) -> str:
        return f"inception:{self.weights}@{self.image_size}"

    def _prepare(self, batch):
        if batch.shape[1] == 1:
            batch = batch.expand(-1, 3, -1, -1)  # grayscale: Inception expects RGB
        return super()._prepare(batch)

    def _forward(self, batch):
        return self.net(batch.contiguous(memory_format=torch.channels_last))[0]


def inception_extractor(weights_path: str | None = None, *, device="cpu",
                        image_size: int = STANDARD_SIZE) -> InceptionExtractor:
    """Standard FID uses 299 px; smaller sizes (>= 75) are ~30x faster on CPU and are named so."""
    if int(image_size) < MIN_SIZE:
        raise UserError(f"Inception image size {image_size} is too small for Inception-v3.",
                        f"use an image size of at least {MIN_SIZE} (299 for standard FID).")
    path = resolve_weights_path(weights_path)
    return InceptionExtractor(path, device=device, image_size=image_size)

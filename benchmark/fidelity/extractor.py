"""The one contract every feature extractor meets, so each fidelity metric is written once.

FID, KID, PRDC and the memorisation score only ever see (N, D) float64 feature arrays; whether the
features came from ImageNet's Inception or from a classifier trained on the dataset itself is a
property of the extractor, recorded by its ``name`` and ``params`` next to every number.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

from augbench.core.device import resolve_device  # 'auto' and a clear message for missing CUDA
from augbench.core.errors import UserError
from augbench.datasets.transforms import to_tensor


class ExtractorUnavailable(UserError):
    """An extractor cannot be built here (typically: its weights file is absent).

    The runner records ``reason`` as "skipped" instead of failing the whole benchmark, because the
    domain extractor still gives every fidelity metric.
    """

    def __init__(self, reason: str, fix: str = ""):
        super().__init__(reason, fix)
        self.reason = str(self)


#: Features of real images kept for reuse within one process. Every learned arm of one (dataset, budget,
#: seed) is measured against the same budget and held-out images, and with a pool of workers each
#: worker runs many such fits: extracting those features once instead of once per arm is the
#: "fidelity features once per split" lever of the three-seed mission (docs/performance.md).
#: Keyed by the extractor's identity and a digest of the image bytes, so a different extractor,
#: budget or seed never hits; bounded, least recently used first out.
_REUSED: OrderedDict = OrderedDict()
REUSE_LIMIT_BYTES = 256 << 20


def image_digest(images: np.ndarray) -> str:
    """Content digest of a uint8 image array (shape included: the same bytes as other shapes differ)."""
    h = hashlib.blake2b(str(images.shape).encode(), digest_size=20)
    h.update(memoryview(np.ascontiguousarray(images)).cast("B"))
    return h.hexdigest()


def _remember(key, value: np.ndarray) -> None:
    value.flags.writeable = False  # shared by every caller that asks for the same images
    _REUSED[key] = value
    while sum(v.nbytes for v in _REUSED.values()) > REUSE_LIMIT_BYTES and len(_REUSED) > 1:
        _REUSED.popitem(last=False)


class FeatureExtractor(ABC):
    #: human-readable identity, logged as a param (e.g. "inception-v3-pool3@75px")
    name: str = "extractor"
    #: short MLflow-safe fragment used inside metric keys (e.g. "inception_75px", "domain")
    key: str = "extractor"
    #: feature dimensionality D
    dims: int = 0
    #: side length images are resized to before entering the network
    image_size: int = 0
    #: where the weights came from, in words (a file path or how they were trained)
    weights: str = ""

    batch_size: int = 64

    def __init__(self, device="cpu"):
        self.device = resolve_device(device)

    @abstractmethod
    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        """float NCHW in [-1, 1] at ``image_size``, on ``self.device`` -> (B, D) features."""

    def _prepare(self, batch: torch.Tensor) -> torch.Tensor:
        """Channel/size adaptation shared by all extractors; subclasses override the channel rule."""
        if batch.shape[-1] != self.image_size or batch.shape[-2] != self.image_size:
            batch = F.interpolate(batch, size=(self.image_size, self.image_size), mode="bilinear",
                                  align_corners=False)
        return batch

    def identity(self) -> str | None:
        """What fixes this extractor's features (weights, input size); None: never reuse them."""
        return None

    def features(self, images_uint8_nhwc: np.ndarray, *, reuse: bool = False) -> np.ndarray:
        """(N, D) float64 features. ``reuse``: for real images that other fits of this process measure
        too (budget, held-out); the array comes back read-only and may be shared."""
        images = np.asarray(images_uint8_nhwc)
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"features() takes uint8 NHWC images, got {images.dtype} {images.shape}")
        identity = self.identity() if reuse else None
        if identity is None:
            return self._extract(images)
        key = (identity, image_digest(images))
        if key in _REUSED:
            _REUSED.move_to_end(key)
            return _REUSED[key]
        out = self._extract(images)
        _remember(key, out)
        return out

    @torch.no_grad()
    def _extract(self, images: np.ndarray) -> np.ndarray:
        out = np.empty((len(images), self.dims), dtype=np.float64)
        for start in range(0, len(images), self.batch_size):
            batch = to_tensor(images[start:start + self.batch_size]).to(self.device)
            feats = self._forward(self._prepare(batch))
            out[start:start + len(batch)] = feats.reshape(len(batch), -1).double().cpu().numpy()
        return out

    def params(self) -> dict[str, str | int]:
        return {"name": self.name, "dims": self.dims, "image_size": self.image_size, "weights": self.weights}

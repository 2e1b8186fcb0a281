"""A feature extractor that always exists offline: a classifier trained on the dataset itself.

ImageNet Inception features say little about 28 px chest X-rays, and its weights may be absent;
penultimate-layer features of a classifier trained once on the dataset's full real training split
measure distance in terms the task cares about. Training costs minutes, so the model is cached on
disk under a key of everything that determines it (dataset, image size, a fingerprint of the train
split's bytes, the extractor config): a different budget, seed or generator reuses it, a changed
split or config retrains.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from augbench.benchmark.fidelity.extractor import FeatureExtractor
from augbench.datasets.types import Split

CACHE_VERSION = 1  # bump when the training recipe changes in a way the config does not show


def split_fingerprint(split: Split) -> str:
    h = hashlib.sha256()
    h.update(str(split.images.shape).encode())
    h.update(np.ascontiguousarray(split.images).tobytes())
    h.update(np.ascontiguousarray(split.labels, dtype=np.int64).tobytes())
    return h.hexdigest()


def carve_val(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train_idx, val_idx): ``fraction`` of each class, at least 1 when it has 2 or more."""
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = 0 if len(idx) < 2 else max(1, int(round(fraction * len(idx))))
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(val_idx))


def last_linear(model: nn.Module) -> nn.Linear:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to take penultimate features from")
    return linears[-1]


def _train(train: Split, n_classes: int, config: dict) -> tuple[nn.Module, dict]:
    """Fit the extractor's classifier (model selection on a stratified slice of train).

    Returns the model and how good it is (val AUC), which is logged: features of a classifier that
    cannot separate the classes are a poor ruler."""
    from augbench.classifiers import create_classifier
    from augbench.classifiers.training import TrainConfig, train_classifier

    train_idx, val_idx = carve_val(train.labels, config["val_fraction"], config["seed"])
    model = create_classifier(config["arch"], n_classes=n_classes, in_channels=config["channels"],
                              image_size=config["image_size"])
    cfg = TrainConfig(epochs=config["epochs"], batch_size=config["batch_size"], lr=config["lr"],
                      seed=config["seed"], device=config["device"])
    result = train_classifier(model, train.subset(train_idx), train.subset(val_idx), cfg, n_classes=n_classes)
    return result.model, {"best_val_auc": float(result.best_val_auc), "best_epoch": int(result.best_epoch),
                          "n_val": int(len(val_idx)), "train_seconds": float(result.train_seconds)}


class DomainExtractor(FeatureExtractor):
    key = "domain"
    batch_size = 256

    def __init__(self, model: nn.Module, config: dict, *, cache_path: Path, from_cache: bool, device="cpu",
                 training: dict | None = None):
        super().__init__(device)
        self.config = config
        self.training = dict(training or {})  # best_val_auc, best_epoch, n_val, train_seconds
        self.cache_path = Path(cache_path)
        self.from_cache = from_cache  # False when this call trained the classifier
        self.image_size = int(config["image_size"])
        self.channels = int(config["channels"])
        self.name = f"domain-{config['arch']}"
        self.weights = (f"domain classifier {config['arch']} trained on full train split of "
                        f"{config['dataset_key']} ({config['n_train']} images, sha256 "
                        f"{config['fingerprint'][:12]}), cached at {self.cache_path}")
        self.model = model.eval().to(self.device)
        head = last_linear(self.model)
        self.dims = int(head.in_features)
        self._captured: list[torch.Tensor] = []
        head.register_forward_hook(lambda module, inputs, output: self._captured.append(inputs[0]))

    def identity(self) -> str:
        # the cache file's name carries a digest of everything that determines the trained model
        return f"domain:{self.cache_path}"

    def _prepare(self, batch):
        if batch.shape[1] != self.channels:
            if batch.shape[1] == 3 and self.channels == 1:
                batch = batch.mean(dim=1, keepdim=True)
            else:
                batch = batch.expand(-1, self.channels, -1, -1)
        return super()._prepare(batch)

    def _forward(self, batch):
        self._captured.clear()
        self.model(batch)
        return self._captured[-1].flatten(1)

    def params(self):
        p = super().params()
        p.update({"epochs": self.config["epochs"], "arch": self.config["arch"], "seed": self.config["seed"]})
        if "best_val_auc" in self.training:
            p["val_auc"] = round(self.training["best_val_auc"], 4)  # on its own slice of train, not the val split
        return p


def _cache_file(cache_dir: Path, config: dict) -> Path:
    identity = {k: v for k, v in config.items() if k != "device"}  # device does not change the model
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    safe = re.sub(r"[^0-9A-Za-z._-]+", "_", config["dataset_key"])
    return cache_dir / f"domain-{safe}-{config['arch']}-{config['image_size']}px-{digest}.pt"


def domain_extractor(train: Split, n_classes: int, *, dataset_key: str, cache_dir, device="cpu",
                     epochs: int = 10, seed: int = 0, arch: str = "small-cnn", batch_size: int = 128,
                     lr: float = 1e-3, val_fraction: float = 0.1) -> DomainExtractor:
    """Load the cached classifier for this (dataset, size, split, config) or train and cache it."""
    config = {
        "version": CACHE_VERSION, "dataset_key": str(dataset_key), "arch": arch,
        "image_size": int(train.images.shape[1]), "channels": int(train.images.shape[3]),
        "n_classes": int(n_classes), "n_train": len(train), "fingerprint": split_fingerprint(train),
        "epochs": int(epochs), "batch_size": int(batch_size), "lr": float(lr), "seed": int(seed),
        "val_fraction": float(val_fraction), "device": str(device),
    }
    cache_dir = Path(cache_dir)
    path = _cache_file(cache_dir, config)
    from augbench.benchmark.locks import made_once

    # workers of a pool reach their first learned arm together: one trains, the others wait and load
    return made_once(path, lambda: _load(path, config, n_classes, device) if path.is_file() else None,
                     lambda: _train_and_cache(train, n_classes, config, path, device))


def _load(path: Path, config: dict, n_classes: int, device) -> DomainExtractor:
    from augbench.classifiers import create_classifier

    model = create_classifier(config["arch"], n_classes=n_classes, in_channels=config["channels"],
                              image_size=config["image_size"])
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(saved["state_dict"])
    return DomainExtractor(model, config, cache_path=path, from_cache=True, device=device,
                           training=saved.get("training"))


def _train_and_cache(train: Split, n_classes: int, config: dict, path: Path, device) -> DomainExtractor:
    cache_dir = path.parent
    model, training = _train(train, n_classes, config)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    meta = {k: v for k, v in config.items() if k != "device"}
    torch.save({"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "meta": meta,
                "training": training}, tmp)
    os.replace(tmp, path)  # atomic: a parallel worker never reads a half-written file
    return DomainExtractor(model, config, cache_path=path, from_cache=False, device=device, training=training)

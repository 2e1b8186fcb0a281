"""The one training/evaluation protocol every augmentation arm goes through.

Arms differ only in the training images they bring (and, for the class-weighted arm, in
``class_weights``); everything else (optimiser, schedule, epochs, model selection) is this module,
so a difference between arms cannot come from a difference in training. The recipe is MedMNIST v2's:
Adam, cross-entropy, learning rate x``gamma`` at 50% and 75% of the epochs, and the epoch with the
best validation AUC kept.

Speed on CPU comes from doing per epoch only what model selection needs: the validation split is
scored once per epoch without autograd in large batches (the MedMNIST script scores train, val and
test every epoch), images are converted to network tensors once per run rather than per batch, and
convolutions run channels-last, which oneDNN executes faster than NCHW.

Reproducibility: the shuffling order comes from its own seeded ``torch.Generator`` and the global
RNG (dropout) is seeded inside ``torch.random.fork_rng``, so a run neither depends on nor disturbs
the caller's random state. On CPU two runs with one seed give identical weights and metrics; on
CUDA cuDNN kernels may differ in the last bits.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from classifiers._auc import macro_ovr_auc, scorable_classes
from classifiers._device import autocast, autocast_dtype, resolve_device
from datasets.errors import UserError
from datasets.transforms import to_tensor
from datasets.types import Split

RESIDENT_LIMIT_BYTES = 1 << 30  # training splits up to 1 GiB as float32 are converted once and kept on the device


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    milestones: tuple = (0.5, 0.75)  # MultiStepLR at these fractions of ``epochs`` (floored), MedMNIST recipe
    gamma: float = 0.1
    seed: int = 0
    device: str = "cpu"  # "auto" | "cpu" | "cuda[:N]"
    amp: bool = True  # mixed precision on CUDA only (bfloat16 where supported, else float16 with loss scaling)
    eval_batch_size: int = 512
    cpu_bf16: bool = False  # opt-in bfloat16 autocast on CPU: ~2x faster with AMX, not the float32 reference recipe
    channels_last: bool = True


@dataclass
class TrainResult:
    model: nn.Module  # best epoch's weights, in eval mode, on the training device
    best_epoch: int  # 1-based
    best_val_auc: float
    history: list[dict] = field(default_factory=list)  # per epoch: epoch, train_loss, val_auc, val_loss, lr, seconds
    train_seconds: float = 0.0  # optimisation only, summed over epochs
    eval_seconds: float = 0.0  # validation scoring only, summed over epochs
    images_seen: int = 0  # training images passed through the network (sum over epochs)
    selected_by: str = "val_auc"  # "val_loss" when no class has a defined AUC on the validation split


def class_weights_from_counts(counts) -> np.ndarray:
    """Inverse-frequency class weights normalised to mean 1 over the classes that occur.

    Classes with zero count get weight 0: they contribute no training term anyway, and an infinite
    weight would poison the normalisation.
    """
    counts = np.asarray(counts, dtype=np.float64).reshape(-1)
    if counts.size == 0 or (counts < 0).any() or not np.isfinite(counts).all():
        raise UserError(f"class counts must be finite and non-negative, got {counts.tolist()}.",
                        "pass the per-class numbers of training images.")
    present = counts > 0
    if not present.any():
        raise UserError("all class counts are zero.", "pass the per-class numbers of training images.")
    weights = np.zeros_like(counts)
    weights[present] = 1.0 / counts[present]
    return weights / weights[present].mean()


def predict_proba(model: nn.Module, images: np.ndarray, *, batch_size: int = 512, device: str = "cpu",
                  amp: bool = False) -> np.ndarray:
    """Softmax probabilities (N, K) as float64 for uint8 NHWC ``images``.

    Moves ``model`` to ``device`` (channels-last, the faster layout for oneDNN and cuDNN alike).
    """
    dev = resolve_device(device)
    model.to(device=dev, memory_format=torch.channels_last)
    logits = _logits(model, images, batch_size, dev, autocast_dtype(dev, amp, False), channels_last=True)
    return torch.softmax(logits.double(), dim=1).numpy()


def train_classifier(model: nn.Module, train: Split, val: Split, config: TrainConfig, *, n_classes: int,
                     class_weights: np.ndarray | None = None,
                     progress: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Train ``model`` on ``train``, choose the epoch by validation AUC, return it with its history.

    ``progress(epoch, total_epochs, info)`` is called after every epoch with that epoch's history
    row plus ``best_epoch`` and ``best_val_auc``.
    """
    _check_inputs(train, val, config, n_classes, class_weights)
    device = resolve_device(config.device)
    cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(config.seed)
        return _train(model, train, val, config, n_classes, class_weights, progress, device)


def _train(model, train, val, config, n_classes, class_weights, progress, device) -> TrainResult:
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    amp_dtype = autocast_dtype(device, config.amp, config.cpu_bf16)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    train_images = _TrainImages(train.images, device, memory_format)
    train_labels = torch.as_tensor(train.labels, dtype=torch.long, device=device)
    val_labels_t = torch.as_tensor(val.labels, dtype=torch.long)
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                 **_fused_if_supported(device))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=_milestones(config), gamma=config.gamma)
    shuffle = torch.Generator().manual_seed(int(config.seed))
    selected_by = "val_auc" if scorable_classes(val.labels, n_classes) else "val_loss"

    result = TrainResult(model=model, best_epoch=0, best_val_auc=float("nan"), selected_by=selected_by)
    best_score, best_state = -float("inf"), None
    for epoch in range(1, config.epochs + 1):
        lr = optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        train_loss, seen = _train_one_epoch(model, optimizer, scaler, train_images, train_labels, weight,
                                            config.batch_size, shuffle, device, amp_dtype)
        scheduler.step()
        _sync(device)
        trained = time.perf_counter()
        logits = _logits(model, val.images, config.eval_batch_size, device, amp_dtype, config.channels_last)
        val_loss = float(F.cross_entropy(logits, val_labels_t))  # unweighted: a monitor, not the objective
        val_auc = macro_ovr_auc(val.labels, torch.softmax(logits.double(), dim=1).numpy())
        evaluated = time.perf_counter()

        score = val_auc if selected_by == "val_auc" else -val_loss
        if best_state is None or (np.isfinite(score) and score > best_score):
            best_score = score if np.isfinite(score) else -float("inf")
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            result.best_epoch, result.best_val_auc = epoch, val_auc
        row = {"epoch": epoch, "train_loss": train_loss, "val_auc": val_auc, "val_loss": val_loss, "lr": lr,
               "seconds": evaluated - start}
        result.history.append(row)
        result.train_seconds += trained - start
        result.eval_seconds += evaluated - trained
        result.images_seen += seen
        if progress is not None:
            progress(epoch, config.epochs, {**row, "best_epoch": result.best_epoch,
                                            "best_val_auc": result.best_val_auc})
    model.load_state_dict(best_state)
    model.eval()
    return result


def _train_one_epoch(model, optimizer, scaler, images, labels, weight, batch_size, shuffle, device, amp_dtype):
    model.train()
    order = torch.randperm(len(labels), generator=shuffle)
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()  # BatchNorm cannot normalise a batch of one image
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    seen = 0
    for index in batches:
        x = images.take(index)
        y = labels[index.to(device)]
        with autocast(device, amp_dtype):
            loss = F.cross_entropy(model(x), y, weight=weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        loss_sum += loss.detach().double() * len(index)  # stays on the device: no sync per batch
        seen += len(index)
    return float(loss_sum / seen), seen


class _TrainImages:
    """A training split as network tensors, converted once and kept on the device when it fits.

    Larger splits (over ``RESIDENT_LIMIT_BYTES`` as float32) stay uint8 in host memory and are
    converted per batch, so 224 px datasets do not need four times their size in RAM.
    """

    def __init__(self, images: np.ndarray, device: torch.device, memory_format):
        self.images, self.device, self.memory_format = images, device, memory_format
        self.resident = None
        if images.size * 4 <= RESIDENT_LIMIT_BYTES:
            self.resident = self._convert(images)

    def _convert(self, images: np.ndarray) -> torch.Tensor:
        return to_tensor(images).to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)

    def take(self, index: torch.Tensor) -> torch.Tensor:
        if self.resident is not None:
            return self.resident[index.to(self.device)].contiguous(memory_format=self.memory_format)
        return self._convert(self.images[index.numpy()])


@torch.inference_mode()
def _logits(model, images: np.ndarray, batch_size: int, device, amp_dtype, channels_last: bool) -> torch.Tensor:
    """float32 CPU logits (N, K) in eval mode, ``batch_size`` images at a time."""
    was_training = model.training
    model.eval()
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = to_tensor(images[start:start + batch_size]).to(device, non_blocking=True)
            with autocast(device, amp_dtype):
                out.append(model(x.contiguous(memory_format=memory_format)).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


def _milestones(config: TrainConfig) -> list[int]:
    return sorted({int(f * config.epochs) for f in config.milestones if int(f * config.epochs) > 0})


def _fused_if_supported(device: torch.device) -> dict:
    """Fused Adam (one kernel for all parameters) exists on CPU and CUDA in current PyTorch."""
    try:
        torch.optim.Adam([torch.zeros(1, device=device, requires_grad=True)], fused=True)
    except (RuntimeError, ValueError, TypeError):
        return {}
    return {"fused": True}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _check_inputs(train: Split, val: Split, config: TrainConfig, n_classes: int, class_weights) -> None:
    if config.epochs < 1 or config.batch_size < 2 or config.eval_batch_size < 1:
        raise UserError(f"invalid training settings {asdict(config)}.",
                        "use epochs >= 1, batch_size >= 2 and eval_batch_size >= 1.")
    if len(train) < 2:
        raise UserError(f"the training split has {len(train)} image(s).", "train on at least 2 images.")
    if len(val) < 1:
        raise UserError("the validation split is empty.", "model selection needs at least one validation image.")
    if train.images.shape[1:] != val.images.shape[1:]:
        raise UserError(f"training images are {train.images.shape[1:]} (HWC) but validation images are "
                        f"{val.images.shape[1:]}.", "load both splits at the same --image-size and channels.")
    for name, split in (("training", train), ("validation", val)):
        if split.labels.min() < 0 or split.labels.max() >= n_classes:
            raise UserError(f"{name} labels span {split.labels.min()}..{split.labels.max()}, outside "
                            f"0..{n_classes - 1}.", "pass n_classes matching the dataset.")
    if class_weights is not None:
        w = np.asarray(class_weights, dtype=np.float64)
        if w.shape != (n_classes,) or not np.isfinite(w).all() or (w < 0).any():
            raise UserError(f"class_weights must be {n_classes} finite non-negative numbers, got {w.tolist()}.",
                            "build them with class_weights_from_counts(train_counts).")

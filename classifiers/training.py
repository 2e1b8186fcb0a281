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

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from augbench.classifiers._auc import macro_ovr_auc, scorable_classes
from augbench.classifiers._precision import training_precision
from augbench.core.device import resolve_device
from augbench.core.seeding import seeded_global_rng, torch_generator
from augbench.core.errors import UserError
from augbench.datasets.transforms import to_tensor
from augbench.datasets.types import Split

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
    # CPU precision: False = float32 (the reference recipe); "auto" = bf16 autocast only where the CPU runs
    # bf16 natively (~2.4x faster with AMX, ~19x slower without: core/precision.py); True = bf16 on any CPU
    cpu_bf16: bool | str = False
    channels_last: bool = True
    #: None: an epoch is one pass over the training split (the MedMNIST recipe). An int: an epoch is
    #: exactly this many batches of ``batch_size``, drawn from successive shuffles of the split, so
    #: arms that bring different numbers of images take the same number of optimiser steps.
    steps_per_epoch: int | None = None
    #: "multistep": x``gamma`` at ``milestones`` (MedMNIST, stepped per epoch); "cosine": linear warm-up
    #: over the first ``warmup`` fraction of all optimiser steps, then cosine decay to zero, stepped per
    #: batch, so a short CPU run spends its few steps at a useful learning rate and ends annealed.
    schedule: str = "multistep"
    warmup: float = 0.05
    #: "val_auc": keep the epoch with the best validation macro AUC (MedMNIST); "last": keep the last
    #: step's weights and score validation once, at the end. Selection on a budgeted validation split
    #: rests on one or two images of a rare class at budget 10, so it mostly picks noise.
    select: str = "val_auc"


@dataclass
class TrainResult:
    model: nn.Module  # best epoch's weights, in eval mode, on the training device
    best_epoch: int  # 1-based
    best_val_auc: float
    history: list[dict] = field(default_factory=list)  # per epoch: epoch, train_loss, val_auc, val_loss, lr, seconds
    train_seconds: float = 0.0  # optimisation only, summed over epochs
    eval_seconds: float = 0.0  # validation scoring only, summed over epochs
    images_seen: int = 0  # training images passed through the network (sum over epochs)
    train_steps: int = 0  # optimiser steps taken (sum over epochs)
    eval_logit_offset: np.ndarray | None = None  # per-class constant added to logits at prediction (the arm's)
    selected_by: str = "val_auc"  # "val_loss" when no class has a defined AUC on the validation split
    precision: str = ""  # what training ran in, in words (core.precision.Precision.label)


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
                  amp: bool = False, logit_offset: np.ndarray | None = None) -> np.ndarray:
    """Softmax probabilities (N, K) as float64 for uint8 NHWC ``images``.

    Moves ``model`` to ``device`` (channels-last, the faster layout for oneDNN and cuDNN alike).
    ``logit_offset`` (K,) is added to the logits first: pass ``TrainResult.eval_logit_offset`` so
    test predictions are made exactly as the epoch was selected.
    """
    dev = resolve_device(device)
    model.to(device=dev, memory_format=torch.channels_last)
    logits = _logits(model, images, batch_size, dev, training_precision(dev, amp, False), channels_last=True)
    return torch.softmax(_offset(logits, logit_offset).double(), dim=1).numpy()


def _offset(logits: torch.Tensor, offset) -> torch.Tensor:
    if offset is None:
        return logits
    return logits + torch.as_tensor(np.asarray(offset), dtype=logits.dtype, device=logits.device)


def train_classifier(model: nn.Module, train: Split, val: Split, config: TrainConfig, *, n_classes: int,
                     class_weights: np.ndarray | None = None,
                     train_logit_offset: np.ndarray | None = None, eval_logit_offset: np.ndarray | None = None,
                     progress: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Train ``model`` on ``train``, choose the epoch by validation AUC, return it with its history.

    ``train_logit_offset`` (K,) is added to the logits inside the training loss only (balanced
    softmax); ``eval_logit_offset`` (K,) is added whenever the model predicts, validation included
    (post-hoc logit adjustment), and is returned on the result for test predictions.
    ``progress(epoch, total_epochs, info)`` is called after every epoch with that epoch's history
    row plus ``best_epoch`` and ``best_val_auc``.
    """
    _check_inputs(train, val, config, n_classes, class_weights)
    for name, offset in (("train_logit_offset", train_logit_offset), ("eval_logit_offset", eval_logit_offset)):
        if offset is not None and (np.shape(offset) != (n_classes,) or not np.isfinite(offset).all()):
            raise UserError(f"{name} must be {n_classes} finite numbers, got {np.asarray(offset).tolist()}.",
                            "pass one constant per class (e.g. the log class prior).")
    offsets = (train_logit_offset, eval_logit_offset)
    device = resolve_device(config.device)
    with seeded_global_rng(config.seed, device):
        return _train(model, train, val, config, n_classes, class_weights, offsets, progress, device)


def _train(model, train, val, config, n_classes, class_weights, offsets, progress, device) -> TrainResult:
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    precision = training_precision(device, config.amp, config.cpu_bf16)
    scaler = torch.amp.GradScaler(device.type, enabled=precision.dtype == torch.float16)
    train_images = _TrainImages(train.images, device, memory_format)
    train_labels = torch.as_tensor(train.labels, dtype=torch.long, device=device)
    val_labels_t = torch.as_tensor(val.labels, dtype=torch.long)
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32, device=device)
    train_offset = None if offsets[0] is None else torch.as_tensor(offsets[0], dtype=torch.float32, device=device)
    eval_offset = offsets[1]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                 **_fused_if_supported(device))
    shuffle = torch_generator(config.seed)
    selected_by = "last" if config.select == "last" else \
        ("val_auc" if scorable_classes(val.labels, n_classes) else "val_loss")

    stream = None if config.steps_per_epoch is None else _BatchStream(len(train_labels), config.batch_size, shuffle)
    per_epoch = config.steps_per_epoch or _one_pass_steps(len(train_labels), config.batch_size)
    epoch_scheduler, batch_scheduler = _schedulers(optimizer, config, per_epoch * config.epochs)
    result = TrainResult(model=model, best_epoch=0, best_val_auc=float("nan"), selected_by=selected_by,
                         eval_logit_offset=None if eval_offset is None else np.asarray(eval_offset, dtype=np.float64))
    result.precision = precision.label
    best_score, best_state = -float("inf"), None
    for epoch in range(1, config.epochs + 1):
        lr = optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        batches = (_one_pass(len(train_labels), config.batch_size, shuffle) if stream is None
                   else stream.take(config.steps_per_epoch))
        train_loss, seen = _train_one_epoch(model, optimizer, scaler, train_images, train_labels, weight,
                                            train_offset, batches, device, precision, batch_scheduler)
        if epoch_scheduler is not None:
            epoch_scheduler.step()
        _sync(device)
        trained = time.perf_counter()
        val_auc = val_loss = float("nan")
        if selected_by != "last" or epoch == config.epochs:  # "last": val is scored once, at the end
            logits = _offset(_logits(model, val.images, config.eval_batch_size, device, precision,
                                     config.channels_last), eval_offset)
            val_loss = float(F.cross_entropy(logits, val_labels_t))  # unweighted: a monitor, not the objective
            val_auc = macro_ovr_auc(val.labels, torch.softmax(logits.double(), dim=1).numpy())
        evaluated = time.perf_counter()

        score = val_auc if selected_by == "val_auc" else -val_loss
        if selected_by == "last":
            result.best_epoch, result.best_val_auc = epoch, val_auc  # the weights stay in the model
        elif best_state is None or (np.isfinite(score) and score > best_score):
            best_score = score if np.isfinite(score) else -float("inf")
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            result.best_epoch, result.best_val_auc = epoch, val_auc
        row = {"epoch": epoch, "train_loss": train_loss, "val_auc": val_auc, "val_loss": val_loss, "lr": lr,
               "seconds": evaluated - start, "steps": len(batches)}
        result.history.append(row)
        result.train_seconds += trained - start
        result.eval_seconds += evaluated - trained
        result.images_seen += seen
        result.train_steps += len(batches)
        if progress is not None:
            progress(epoch, config.epochs, {**row, "best_epoch": result.best_epoch,
                                            "best_val_auc": result.best_val_auc})
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result


def _schedulers(optimizer, config: TrainConfig, total_steps: int):
    """(per-epoch scheduler or None, per-batch scheduler or None) for ``config.schedule``."""
    if config.schedule == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=_milestones(config),
                                                    gamma=config.gamma), None
    warm = max(1, int(round(config.warmup * total_steps))) if config.warmup > 0 else 0

    def factor(step: int) -> float:  # step = optimiser steps taken so far
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total_steps - warm))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return None, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _one_pass(n: int, batch_size: int, shuffle: torch.Generator) -> list[torch.Tensor]:
    """One shuffled pass over n images in batches; a trailing batch of one image is dropped."""
    batches = list(torch.randperm(n, generator=shuffle).split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()  # BatchNorm cannot normalise a batch of one image
    return batches


def _one_pass_steps(n: int, batch_size: int) -> int:
    """How many batches :func:`_one_pass` makes of n images (a trailing batch of one is dropped)."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest > 1 or (rest == 1 and full == 0) else 0)


class _BatchStream:
    """Full batches from successive shuffles of n images, for a fixed number of steps per epoch.

    A batch may straddle two shuffles (and, when n < batch_size, repeat an image): every step sees
    exactly ``batch_size`` images, so steps and images seen are the same for every arm.
    """

    def __init__(self, n: int, batch_size: int, shuffle: torch.Generator):
        self.n, self.batch_size, self.shuffle = n, batch_size, shuffle
        self.pending = torch.empty(0, dtype=torch.long)

    def take(self, steps: int) -> list[torch.Tensor]:
        out = []
        for _ in range(steps):
            while len(self.pending) < self.batch_size:
                self.pending = torch.cat([self.pending, torch.randperm(self.n, generator=self.shuffle)])
            out.append(self.pending[:self.batch_size])
            self.pending = self.pending[self.batch_size:]
        return out


def _train_one_epoch(model, optimizer, scaler, images, labels, weight, offset, batches, device, precision,
                     batch_scheduler=None):
    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    seen = 0
    for index in batches:
        x = images.take(index)
        y = labels[index.to(device)]
        with precision.autocast():
            logits = model(x)
            loss = F.cross_entropy(logits if offset is None else logits + offset, y, weight=weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if batch_scheduler is not None:
            batch_scheduler.step()
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
def _logits(model, images: np.ndarray, batch_size: int, device, precision, channels_last: bool) -> torch.Tensor:
    """float32 CPU logits (N, K) in eval mode, ``batch_size`` images at a time."""
    was_training = model.training
    model.eval()
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = to_tensor(images[start:start + batch_size]).to(device, non_blocking=True)
            with precision.autocast():
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
    if config.epochs < 1 or config.batch_size < 2 or config.eval_batch_size < 1 or \
            (config.steps_per_epoch is not None and config.steps_per_epoch < 1):
        raise UserError(f"invalid training settings {asdict(config)}.",
                        "use epochs >= 1, batch_size >= 2, eval_batch_size >= 1 and steps_per_epoch >= 1 (or none).")
    if config.schedule not in ("multistep", "cosine") or config.select not in ("val_auc", "last") or \
            not 0.0 <= float(config.warmup) < 1.0:
        raise UserError(f"invalid schedule/selection settings: schedule {config.schedule!r}, select "
                        f"{config.select!r}, warmup {config.warmup!r}.",
                        "use schedule: multistep | cosine, select: val_auc | last, and 0 <= warmup < 1.")
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

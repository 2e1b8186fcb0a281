"""The CPU-scale protocol: warm-up + cosine stepped per batch, and the last step's weights kept."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from augbench.classifiers import create_seeded_classifier
from augbench.classifiers.training import TrainConfig, train_classifier
from augbench.core.errors import UserError
from augbench.datasets.types import Split


def _splits(n=64, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 60, (n, 16, 16, 1)).astype(np.uint8)
    images[labels == 1, 4:12, 4:12] += 150  # a bright square: class 1
    return Split(images, labels), Split(images[:16].copy(), labels[:16].copy())


def _train(**cfg):
    train, val = _splits()
    model = create_seeded_classifier("small-cnn", 0, n_classes=2, in_channels=1, image_size=16)
    config = TrainConfig(epochs=3, batch_size=16, lr=1e-2, steps_per_epoch=10, eval_batch_size=64, **cfg)
    return train_classifier(model, train, val, config, n_classes=2)


def test_cosine_warms_up_then_decays_to_near_zero():
    result = _train(schedule="cosine", warmup=0.1, select="last")
    lrs = [row["lr"] for row in result.history]  # the rate at the start of each epoch
    assert lrs[0] < 1e-2 / 2  # still warming up at step 0
    assert lrs[1] > lrs[2] > 0  # decaying after the warm-up


def test_last_selection_scores_val_once_and_keeps_the_last_epoch():
    result = _train(schedule="cosine", select="last")
    assert result.best_epoch == 3 and result.selected_by == "last"
    assert [np.isnan(row["val_auc"]) for row in result.history] == [True, True, False]


def test_last_step_training_is_deterministic_for_a_seed():
    a = _train(schedule="cosine", select="last")
    b = _train(schedule="cosine", select="last")
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_unknown_schedule_or_selection_is_a_user_error():
    with pytest.raises(UserError, match="schedule"):
        _train(schedule="linear")
    with pytest.raises(UserError, match="select"):
        _train(select="best")

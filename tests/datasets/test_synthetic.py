"""The generated smoke-test set: counts, determinism, and that a small CNN learns it quickly."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from augbench import datasets
from augbench.datasets.transforms import to_tensor


def test_counts_are_imbalanced_train_balanced_eval():
    s = datasets.load_dataset("synthetic")
    assert s.train.counts(4) == [300, 60, 30, 15]
    assert s.val.counts(4) == [30] * 4 and s.test.counts(4) == [50] * 4
    assert s.train.images.shape[1:] == (32, 32, 3) and s.info.n_classes == 4


def test_deterministic_for_a_seed_and_sized_on_request():
    a, b = datasets.load_dataset("synthetic", seed=5), datasets.load_dataset("synthetic", seed=5)
    c = datasets.load_dataset("synthetic", seed=6)
    assert np.array_equal(a.train.images, b.train.images)
    assert not np.array_equal(a.train.images, c.train.images)
    assert datasets.load_dataset("synthetic", image_size=16).test.images.shape[1:] == (16, 16, 3)


def test_a_small_cnn_learns_it_in_a_few_epochs():
    torch.manual_seed(0)
    s = datasets.load_dataset("synthetic", image_size=16, seed=0)
    x, y = to_tensor(s.train.images), torch.from_numpy(s.train.labels)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(32 * 4 * 4, 4))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    weight = torch.tensor(1.0 / np.array(s.train.counts(4)), dtype=torch.float32)
    for _ in range(5):
        for idx in torch.randperm(len(y)).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx], weight=weight).backward()
            opt.step()
    with torch.no_grad():
        pred = net(to_tensor(s.test.images)).argmax(1).numpy()
    recall = [(pred[s.test.labels == c] == c).mean() for c in range(4)]
    assert np.mean(recall) > 0.8, recall  # 0.87-0.92 over torch seeds 0-3; chance is 0.25

"""class_sampling: how a learned arm's real batches, and a conditional arm's generator-step labels,
are drawn over classes. At budget 10 on isic about 1 % of a natural batch is a minority image."""
import numpy as np
import pytest
import torch

from augbench.core.errors import UserError
from augbench.generators import create_generator
from augbench.generators._gan_utils import BatchStream, class_shares

LABELS = np.array([0] * 99 + [1] * 1 + [2] * 4)   # a 99 : 1 : 4 split


def _share_of_batches(mode: str, steps: int = 400, batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    images = np.zeros((len(LABELS), 4, 4, 1), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(len(LABELS))  # each image's index, readable back from its pixel
    stream = BatchStream(images, LABELS, batch, seed=0, class_sampling=mode)
    labels, used = [], []
    for _ in range(steps):
        x, y = next(stream)
        labels.append(y.numpy())
        used.append(np.rint((x[:, 0, 0, 0].numpy() + 1) * 127.5).astype(int))
    return np.bincount(np.concatenate(labels), minlength=3) / (steps * batch), np.concatenate(used)


def test_class_shares_by_hand():
    assert class_shares(LABELS, 3, "natural") == pytest.approx([99 / 104, 1 / 104, 4 / 104])
    assert class_shares(LABELS, 3, "balanced") == pytest.approx([1 / 3] * 3)
    root = np.sqrt([99, 1, 4])
    assert class_shares(LABELS, 3, "sqrt") == pytest.approx(root / root.sum())
    assert class_shares(np.array([0, 0, 2]), 3, "balanced") == pytest.approx([0.5, 0, 0.5])  # absent: none


@pytest.mark.parametrize("mode", ["natural", "balanced", "sqrt"])
def test_batches_follow_the_rule(mode):
    shares, _ = _share_of_batches(mode)
    assert shares == pytest.approx(class_shares(LABELS, 3, mode), abs=0.015)


def test_balanced_batches_cycle_through_a_rare_class_instead_of_repeating_one_image():
    _, used = _share_of_batches("balanced", steps=50)
    rare = used[np.isin(used, np.flatnonzero(LABELS == 2))]
    counts = np.bincount(rare, minlength=len(LABELS))[LABELS == 2]
    assert counts.max() - counts.min() <= 1  # each of the 4 images in turn


def test_the_generator_step_labels_follow_the_same_rule():
    images = np.zeros((len(LABELS), 32, 32, 1), dtype=np.uint8)
    for mode in ("natural", "balanced"):
        gen = create_generator("dcgan", steps=1, batch_size=4, base_channels=8, latent_dim=8, class_sampling=mode)
        gen.fit(images, LABELS, 3, seed=0)
        drawn = gen.draw_labels(6000, torch.Generator().manual_seed(1)).numpy()
        assert np.bincount(drawn, minlength=3) / 6000 == pytest.approx(class_shares(LABELS, 3, mode), abs=0.02)
        assert gen.describe()["class_sampling"] == mode


def test_an_unknown_rule_is_refused_when_the_arm_is_built():
    with pytest.raises(UserError, match="class_sampling='uniform' is not a sampling rule"):
        create_generator("ddpm", class_sampling="uniform")
    with pytest.raises(UserError, match="unknown setting"):
        create_generator("ddpm", diffaugment="cutout")  # no discriminator, no policy

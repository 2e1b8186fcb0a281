"""Which real images the fidelity step holds out: the class's training images beyond the budget."""
import numpy as np

from augbench.benchmark.fidelity_step import heldout_images
from augbench.datasets.budget import apply_budget
from augbench.datasets.types import Split


def _split(counts, prefix):
    labels = np.repeat(np.arange(len(counts)), counts)
    images = np.zeros((len(labels), 4, 4, 1), np.uint8)
    return Split(images, labels, np.array([f"{prefix}{i}" for i in range(len(labels))]))


def test_heldout_is_beyond_the_budget_at_the_fake_count():
    train, val = _split([50, 30], "tr"), _split([8, 3], "va")
    budgeted = apply_budget(train, 2, 5, [1], seed=0)
    held, source = heldout_images(train, val, budgeted, [1])
    # 30 - 5 = 25 unseen training images: exactly what an arm refilling to the original count makes,
    # where the 3 validation images would have capped the calibration row at 3
    assert len(held[1]) == 25 and "outside the budget" in source


def test_budget_all_falls_back_to_val_and_says_so():
    train, val = _split([50, 30], "tr"), _split([8, 3], "va")
    budgeted = apply_budget(train, 2, None, [1], seed=0)
    held, source = heldout_images(train, val, budgeted, [1])
    assert len(held[1]) == 3 and "validation images for class(es) [1]" in source

"""Small synthetic problems for the classifier tests: learnable in a few CPU seconds."""
import numpy as np
import pytest

from augbench.datasets.types import Split


def quadrant_split(n: int, size: int = 16, channels: int = 1, seed: int = 0, flip: bool = False,
                   contrast: int = 100) -> Split:
    """Class 1 images have a bright top-left quadrant, class 0 a bright bottom-right one, on noise.

    ``flip`` swaps the labels (a validation split on which learning the task LOWERS the AUC).
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    images = rng.integers(0, 120, size=(n, size, size, channels)).astype(np.uint8)
    h = size // 2
    for i, y in enumerate(labels):
        if y == 1:
            images[i, :h, :h] += contrast
        else:
            images[i, h:, h:] += contrast
    return Split(images, (1 - labels) if flip else labels)


@pytest.fixture
def toy():
    return quadrant_split

"""Features of real images are extracted once per process and shared by every fit that asks again."""
import numpy as np
import pytest
import torch.nn.functional as F

import augbench.benchmark.fidelity.extractor as extractor_module
from augbench.benchmark.fidelity import FeatureExtractor, evaluate_fidelity


class CountingPixels(FeatureExtractor):
    """4x4-pooled pixels that count how many images went through the network."""

    name, key, dims, image_size, weights = "pooled-pixels", "pix", 49, 28, "none"

    def __init__(self, ident="pix-v1"):
        super().__init__("cpu")
        self.ident, self.seen = ident, 0

    def identity(self):
        return self.ident

    def _forward(self, batch):
        self.seen += len(batch)
        return F.avg_pool2d(batch, 4).flatten(1)


class Anonymous(CountingPixels):
    def identity(self):
        return None


@pytest.fixture(autouse=True)
def empty_memo():
    extractor_module._REUSED.clear()
    yield
    extractor_module._REUSED.clear()


def images(seed, n=30):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)


def test_the_same_real_images_are_extracted_once_and_come_back_read_only():
    ex = CountingPixels()
    a = images(0)
    first = ex.features(a, reuse=True)
    again = ex.features(a.copy(), reuse=True)  # equal bytes in another array: still a hit
    assert ex.seen == 30
    np.testing.assert_array_equal(first, again)
    assert not again.flags.writeable
    with pytest.raises(ValueError):
        again[0, 0] = 1.0


def test_other_images_another_extractor_or_no_reuse_extract_again():
    ex = CountingPixels()
    a = images(0)
    ex.features(a, reuse=True)
    ex.features(images(1), reuse=True)  # other bytes
    ex.features(a[:29], reuse=True)  # other shape
    ex.features(a)  # fakes are never remembered
    assert ex.seen == 30 + 30 + 29 + 30
    other = CountingPixels("pix-v2")  # other weights
    other.features(a, reuse=True)
    assert other.seen == 30
    anonymous = Anonymous()  # an extractor that cannot say what fixes its features
    anonymous.features(a, reuse=True)
    anonymous.features(a, reuse=True)
    assert anonymous.seen == 60


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(extractor_module, "REUSE_LIMIT_BYTES", 3 * 30 * 49 * 8)  # three entries
    ex = CountingPixels()
    for seed in range(5):
        ex.features(images(seed), reuse=True)
    assert len(extractor_module._REUSED) == 3
    ex.seen = 0
    ex.features(images(0), reuse=True)  # the oldest went first
    ex.features(images(4), reuse=True)  # the newest stayed
    assert ex.seen == 30


def test_fidelity_numbers_do_not_depend_on_what_was_remembered():
    real, held = {0: images(0, 12), 1: images(1, 8)}, {0: images(2, 60), 1: images(3, 40)}
    arms = [{0: images(10 + arm, 50), 1: images(20 + arm, 50)} for arm in range(2)]
    ex = CountingPixels()
    first = [evaluate_fidelity(real, fake, ex, class_names=["a", "b"], heldout_by_class=held, seed=0,
                               with_msssim=False) for fake in arms]
    shared = ex.seen
    extractor_module._REUSED.clear()
    fresh = [evaluate_fidelity(real, fake, Anonymous(), class_names=["a", "b"], heldout_by_class=held, seed=0,
                               with_msssim=False) for fake in arms]
    for a, b in zip(first, fresh):
        assert a.keys() == b.keys()
        np.testing.assert_allclose([a[k] for k in a], [b[k] for k in a], rtol=0, atol=0, equal_nan=True)
    # the second arm extracted only its own samples: 100 fakes, no budget or held-out image again
    assert shared == (20 + 100 + 100) + 100

import numpy as np
import pytest
import torch

from augbench.benchmark.fidelity import ms_ssim, ms_ssim_diversity, ms_ssim_scales


def smooth_images(n, side, seed):
    """Blurred noise: image-like spatial correlation, unlike white noise."""
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.normal(size=(n, 1, side, side)))
    x = torch.nn.functional.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
    x = (x - x.min()) / (x.max() - x.min()) * 255
    return x.round().permute(0, 2, 3, 1).numpy().astype(np.uint8)


def as_tensor(images):
    return torch.from_numpy(images).permute(0, 3, 1, 2).double()


@pytest.mark.parametrize("side,channels", [(28, 1), (64, 3), (9, 1)])
def test_ms_ssim_of_an_image_with_itself_is_one(side, channels):
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (4, channels, side, side))).double()
    assert torch.allclose(ms_ssim(x, x).double(), torch.ones(4, dtype=torch.float64), atol=1e-6)


def test_ms_ssim_of_unrelated_noise_is_far_below_one():
    a = smooth_images(8, 28, seed=1)
    b = smooth_images(8, 28, seed=2)
    values = ms_ssim(as_tensor(a), as_tensor(b))
    assert values.max() < 0.3


def test_ms_ssim_falls_as_distortion_grows():
    a = smooth_images(4, 32, seed=3)
    rng = np.random.default_rng(4)
    scores = []
    for sigma in (5, 20, 60):
        noisy = np.clip(a + rng.normal(0, sigma, a.shape), 0, 255).astype(np.uint8)
        scores.append(ms_ssim(as_tensor(a), as_tensor(noisy)).mean().item())
    assert 1 > scores[0] > scores[1] > scores[2]


def test_scale_count_adapts_to_image_size():
    assert [ms_ssim_scales(s) for s in (28, 32, 64, 128, 176, 256)] == [2, 2, 3, 4, 5, 5]


def test_diversity_is_one_for_copies_and_low_for_distinct_images():
    one = smooth_images(1, 28, seed=5)
    assert ms_ssim_diversity(np.repeat(one, 10, axis=0)) == pytest.approx(1.0)
    assert ms_ssim_diversity(smooth_images(10, 28, seed=6)) < 0.3
    assert np.isnan(ms_ssim_diversity(one))


def test_diversity_samples_at_most_max_pairs_reproducibly():
    images = smooth_images(30, 28, seed=7)
    a = ms_ssim_diversity(images, max_pairs=20, seed=1)
    assert a == ms_ssim_diversity(images, max_pairs=20, seed=1)
    assert a != ms_ssim_diversity(images, max_pairs=20, seed=2)


@pytest.mark.parametrize("side,channels", [(28, 1), (64, 3)])
def test_ms_ssim_agrees_with_monai_at_the_same_scales(side, channels):
    """MONAI's independent implementation, given our scale count and renormalised exponents."""
    from monai.metrics.regression import compute_ms_ssim

    from augbench.benchmark.fidelity.msssim import SCALE_WEIGHTS

    a = smooth_images(6, side, seed=8).repeat(channels, axis=3)
    rng = np.random.default_rng(9)
    b = np.clip(a + rng.normal(0, 25, a.shape), 0, 255).astype(np.uint8)  # related, so every cs > 0
    n = ms_ssim_scales(side)
    weights = np.array(SCALE_WEIGHTS[:n]) / sum(SCALE_WEIGHTS[:n])
    theirs = compute_ms_ssim(as_tensor(a).float(), as_tensor(b).float(), spatial_dims=2, data_range=255.0,
                             weights=tuple(weights)).reshape(-1)
    ours = ms_ssim(as_tensor(a), as_tensor(b))
    assert 0.2 < ours.min() and ours.max() < 0.99
    assert torch.allclose(ours.double(), theirs.double(), rtol=1e-4)

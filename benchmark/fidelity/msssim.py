"""Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) in torch, and within-class diversity from it.

A generator that collapses onto a few images of a class has high MS-SSIM between its own random
sample pairs (Odena et al. 2017 used this to detect mode collapse per class). The standard form
uses 5 scales with an 11-tap Gaussian window (sigma 1.5), which needs images of at least ~176 px;
the medical images here are 28-128 px, so scales are dropped from the coarse end instead: scale s
(image halved s-1 times) is kept only while its side still fits one window, i.e. 2 scales at 28
and 32 px, 3 at 64 px, 4 at 128 px, 5 from 176 px. The kept scales' published exponents are
renormalised to sum to 1. Images smaller than the window use a window as wide as the image.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# Wang et al.'s exponents for scales 1 (finest) .. 5 (coarsest)
SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW, SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03


def ms_ssim_window(side: int) -> int:
    win = min(WINDOW, int(side))
    return win if win % 2 == 1 else win - 1


def ms_ssim_scales(side: int) -> int:
    """How many scales MS-SSIM uses for square images of ``side`` pixels (see module docstring)."""
    win, n = ms_ssim_window(side), 1
    while n < len(SCALE_WEIGHTS) and side // 2 ** n >= win:
        n += 1
    return n


def _gaussian(win: int, dtype, device) -> torch.Tensor:
    x = torch.arange(win, dtype=dtype, device=device) - (win - 1) / 2
    g = torch.exp(-x ** 2 / (2 * SIGMA ** 2))
    g = g / g.sum()
    return g.view(1, 1, 1, win)


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian, 'valid' filtering as in the reference implementation; one grouped
    convolution per direction for all channels at once."""
    c = x.shape[1]
    g = g.repeat(c, 1, 1, 1)
    return F.conv2d(F.conv2d(x, g, groups=c), g.transpose(2, 3), groups=c)


def _ssim_and_cs(x, y, g, data_range):
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    # the five local statistics in one pass: stack them as channels
    mu_x, mu_y, xx, yy, xy = _blur(torch.cat([x, y, x * x, y * y, x * y], dim=1), g).chunk(5, dim=1)
    var_x, var_y, cov = xx - mu_x ** 2, yy - mu_y ** 2, xy - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1)
    return (luminance * cs).flatten(1).mean(1), cs.flatten(1).mean(1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 255.0, scales: int | None = None) -> torch.Tensor:
    """Per-pair MS-SSIM (float32) of two (N, C, H, W) batches; 1 for identical images."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ms_ssim needs two equal (N, C, H, W) batches, got {tuple(x.shape)} and {tuple(y.shape)}")
    x, y = x.float(), y.float()  # float32: ample for [0, 255] statistics, several times faster than float64
    side = min(x.shape[-2:])
    n_scales = scales or ms_ssim_scales(side)
    weights = torch.tensor(SCALE_WEIGHTS[:n_scales], dtype=x.dtype, device=x.device)
    weights = weights / weights.sum()
    g = _gaussian(ms_ssim_window(side), x.dtype, x.device)
    result = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    for s in range(n_scales):
        ssim, cs = _ssim_and_cs(x, y, g, data_range)
        last = s == n_scales - 1
        # negative structure correlation would make the fractional power undefined: clamp at 0
        result = result * (ssim if last else cs).clamp_min(0) ** weights[s]
        if not last:
            pad = (0, x.shape[-1] % 2, 0, x.shape[-2] % 2)
            x = F.avg_pool2d(F.pad(x, pad, mode="replicate"), 2)
            y = F.avg_pool2d(F.pad(y, pad, mode="replicate"), 2)
    return result


def _pairs(n: int, max_pairs: int, rng: np.random.Generator) -> np.ndarray:
    all_pairs = n * (n - 1) // 2
    if all_pairs <= max_pairs:
        i, j = np.triu_indices(n, k=1)
        return np.stack([i, j], axis=1)
    i = rng.integers(0, n, max_pairs)
    j = (i + rng.integers(1, n, max_pairs)) % n  # j != i by construction
    return np.stack([i, j], axis=1)


def ms_ssim_diversity(images: np.ndarray, *, max_pairs: int = 256, seed: int = 0, batch: int = 256) -> float:
    """Mean MS-SSIM over random distinct pairs of uint8 NHWC images; lower = more diverse.

    NaN for fewer than 2 images (no pair exists)."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"ms_ssim_diversity takes NHWC images, got shape {images.shape}")
    if len(images) < 2:
        return float("nan")
    pairs = _pairs(len(images), int(max_pairs), np.random.default_rng(seed))
    t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    values = []
    for start in range(0, len(pairs), batch):
        p = pairs[start:start + batch]
        values.append(ms_ssim(t[p[:, 0]], t[p[:, 1]]))
    return float(torch.cat(values).mean())

"""Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) via MONAI, and within-class diversity from it.

A generator that collapses onto a few images of a class has high MS-SSIM between its own random
sample pairs (Odena et al. 2017 used this to detect mode collapse per class). The standard form
uses 5 scales with an 11-tap Gaussian window (sigma 1.5), which needs images of at least ~176 px;
the medical images here are 28-128 px, so scales are dropped from the coarse end instead: scale s
(image halved s-1 times) is kept only while its side still fits one window, i.e. 2 scales at 28
and 32 px, 3 at 64 px, 4 at 128 px, 5 from 176 px. The kept scales' published exponents are
renormalised to sum to 1. Images smaller than the window use a window as wide as the image.

MONAI computes it (``compute_ms_ssim`` with those exponents as ``weights``). Two cases fall back to
a scale loop over MONAI's per-scale ``compute_ssim_and_cs``, because ``compute_ms_ssim`` would refuse
or change the result there:

* it requires ``side // (n_scales - 1)**2 > window - 1`` (MONAI 1.6), stricter than "the coarsest
  scale fits one window" at 4 scales: 88-98 px images are refused;
* it halves odd sides by flooring (dropping the last row or column); this module has always
  replicated the edge first, which differs by up to ~1e-3 (measured at 45 px, 3 scales).

The replacement of the earlier hand-written version (commit 1d45d78) agrees with it to 4e-6 on
every path (tests/benchmark/fidelity/test_msssim.py holds the old values).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from monai.metrics import compute_ms_ssim, compute_ssim_and_cs

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


def monai_handles(shape: tuple[int, int], n_scales: int, win: int) -> bool:
    """Whether ``compute_ms_ssim`` accepts images of ``shape`` and gives this module's result:
    MONAI 1.6's size rule holds and no side is odd where it gets halved."""
    div = max(1, n_scales - 1) ** 2
    fits = all(d // div > win - 1 for d in shape)
    even = all((d >> k) % 2 == 0 for d in shape for k in range(n_scales - 1))
    return fits and even


def _ms_ssim_by_scale(x, y, weights, win, data_range):
    """The fallback: MONAI's per-scale statistics, with odd sides edge-replicated before halving."""
    result = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    for s, w in enumerate(weights):
        ssim, cs = compute_ssim_and_cs(x, y, spatial_dims=2, kernel_size=(win, win), kernel_sigma=(SIGMA, SIGMA),
                                       data_range=data_range, k1=K1, k2=K2)
        last = s == len(weights) - 1
        # negative structure correlation would make the fractional power undefined: clamp at 0
        result = result * (ssim if last else cs).flatten(1).mean(1).clamp_min(0) ** w
        if not last:
            pad = (0, x.shape[-1] % 2, 0, x.shape[-2] % 2)
            x = F.avg_pool2d(F.pad(x, pad, mode="replicate"), 2)
            y = F.avg_pool2d(F.pad(y, pad, mode="replicate"), 2)
    return result


def ms_ssim(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 255.0, scales: int | None = None) -> torch.Tensor:
    """Per-pair MS-SSIM (float32) of two (N, C, H, W) batches; 1 for identical images."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ms_ssim needs two equal (N, C, H, W) batches, got {tuple(x.shape)} and {tuple(y.shape)}")
    x, y = x.float(), y.float()  # float32: ample for [0, 255] statistics, several times faster than float64
    side = min(x.shape[-2:])
    n_scales = scales or ms_ssim_scales(side)
    kept = SCALE_WEIGHTS[:n_scales]
    weights = tuple(w / sum(kept) for w in kept)
    win = ms_ssim_window(side)
    if not monai_handles(tuple(x.shape[-2:]), n_scales, win):
        return _ms_ssim_by_scale(x, y, weights, win, data_range)
    return compute_ms_ssim(x, y, spatial_dims=2, data_range=data_range, kernel_size=win, kernel_sigma=SIGMA,
                           k1=K1, k2=K2, weights=weights).reshape(-1)


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

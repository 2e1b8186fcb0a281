"""Noise schedules, the forward noising step and the DDIM sampler, kept apart from any network.

Separating the maths from the U-Net lets the tests check the sampler against a case with a known
answer (Gaussian data, where the optimal noise predictor is analytic) instead of against itself.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

SCHEDULES = ("cosine", "linear")
PREDICTIONS = ("v", "eps")


def alphas_cumprod(schedule: str, timesteps: int) -> torch.Tensor:
    """abar_t for t = 1..T (index 0..T-1), float64 so 1 - abar near t = 0 keeps its digits.

    ``linear``: Ho et al. (2020) betas 1e-4..0.02, rescaled by 1000/T so other T keep the same
    end-to-end noise level (Nichol & Dhariwal 2021). ``cosine``: Nichol & Dhariwal's
    abar(t) = cos^2(((t/T + s) / (1 + s)) pi/2), s = 0.008, betas clipped at 0.999; it destroys
    small images' structure more gradually than the linear schedule, which matters at 28 px.

    MONAI's ``DDPMScheduler`` (1.6.1; schedules "cosine" and "linear_beta" with the rescaled betas)
    builds the same schedules but in float32: measured max |difference| 4.2e-7 (cosine, T = 1000),
    2.5e-7 (linear), which costs 1 - abar_1 ~ 4e-5 about 0.1 % of its value. That breaks the float64
    promise above, so the maths stays here; tests/generators/test_diffusion_schedule.py checks both
    against MONAI. MONAI's DDIMScheduler is not used for sampling either: in 1.6.1 its ``step``
    walks the wrong timesteps when few steps are requested, so ``ddim_sample`` below stays ours.
    """
    if schedule == "linear":
        scale = 1000.0 / timesteps
        betas = torch.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=torch.float64)
    elif schedule == "cosine":
        s = 0.008
        steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    else:
        raise ValueError(f"schedule must be one of {SCHEDULES}, not {schedule!r}")
    return torch.cumprod(1 - betas.clamp(0.0, 0.999), dim=0)


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps: the closed-form forward process."""
    a = abar.to(x0.device)[t].to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def training_target(prediction: str, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor,
                    abar: torch.Tensor) -> torch.Tensor:
    """What the network learns to output: the noise (Ho et al. 2020) or v = sqrt(abar) eps - sqrt(1 - abar) x0.

    v-prediction (Salimans & Ho 2022) keeps the x_0 estimate well conditioned near t = T, where
    eps-prediction divides by sqrt(abar_T) ~ 1e-4; in short fits that shows up as a wrong global
    brightness that few-step DDIM cannot repair.
    """
    if prediction == "eps":
        return noise
    if prediction == "v":
        a = abar.to(x0.device)[t].to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))
        return a.sqrt() * noise - (1 - a).sqrt() * x0
    raise ValueError(f"prediction must be one of {PREDICTIONS}, not {prediction!r}")


def predicted_x0(prediction: str, output: torch.Tensor, x_t: torch.Tensor, a_t: float) -> torch.Tensor:
    """Turn the network's output at a step with abar = ``a_t`` into its estimate of x_0."""
    if prediction == "eps":
        return (x_t - math.sqrt(1 - a_t) * output) / math.sqrt(a_t)
    if prediction == "v":
        return math.sqrt(a_t) * x_t - math.sqrt(1 - a_t) * output
    raise ValueError(f"prediction must be one of {PREDICTIONS}, not {prediction!r}")


def ddim_timesteps(timesteps: int, n_steps: int) -> list[int]:
    """``n_steps`` evenly spaced training steps from T-1 down to 0 (fewer if they would repeat)."""
    n_steps = max(1, min(int(n_steps), timesteps))
    ts = torch.linspace(timesteps - 1, 0, n_steps, dtype=torch.float64).round().long().tolist()
    return list(dict.fromkeys(ts))


@torch.no_grad()
def ddim_sample(x0_fn: Callable[[torch.Tensor, int], torch.Tensor], x_t: torch.Tensor, abar: torch.Tensor,
                n_steps: int, *, eta: float = 0.0, clip: bool = True,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Song et al. (2021) DDIM: walk ``x_t`` (pure noise at t = T) down to x_0 in ``n_steps`` jumps.

    ``x0_fn(x, t)`` is the denoiser's estimate of x_0 from ``x`` at training step ``t``; the noise
    estimate is derived from it, which is exact for either network parameterisation.

    ``eta = 0`` is the deterministic ODE-like sampler (same noise in, same image out); ``eta = 1``
    matches DDPM's ancestral variance. ``clip`` keeps each x_0 estimate in the image range [-1, 1]
    (before eps is derived from it), which stops few-step sampling from overshooting.
    Extra noise for ``eta > 0`` comes from ``generator`` on the CPU, so a seed gives the same
    images on any device.
    """
    ts = ddim_timesteps(len(abar), n_steps)
    x = x_t
    for i, t in enumerate(ts):
        a_t = float(abar[t])
        a_prev = float(abar[ts[i + 1]]) if i + 1 < len(ts) else 1.0
        x0 = x0_fn(x, t).to(x.dtype)
        if clip:
            x0 = x0.clamp(-1, 1)
        eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
        sigma = eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) if a_prev < 1 else 0.0
        x = math.sqrt(a_prev) * x0 + math.sqrt(max(1 - a_prev - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
    return x

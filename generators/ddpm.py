"""``ddpm``: class-conditional denoising diffusion with classifier-free guidance and DDIM sampling.

Recent medical-imaging studies find diffusion models give more faithful minority-class images than
GANs; this arm lets the benchmark test that claim under the same real-image budget as the GANs.
Training is Ho et al. (2020)'s denoising loss -- by default on the v target of Salimans & Ho (2022),
which short fits need (see _diffusion.training_target); ``prediction="eps"`` gives the paper's
epsilon loss. The class label is dropped with probability
``p_uncond`` so one network learns both p(x|c) and p(x), which classifier-free guidance
(Ho & Salimans 2022) mixes at sampling time; sampling uses DDIM (Song et al. 2021) so a few dozen
network calls replace the 1000 of ancestral sampling. Sampling uses an exponential moving average
of the weights, as all three papers do.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from augbench.core.seeding import noise_seed, torch_generator
from augbench.core.errors import UserError
from augbench.datasets.transforms import to_uint8
from augbench.generators import register_generator
from augbench.generators._diffusion import (PREDICTIONS, SCHEDULES, alphas_cumprod, ddim_sample, predicted_x0, q_sample,
                                  training_target)
from augbench.generators._learned import LearnedGenerator
from augbench.generators._unet import ConditionalUNet, parse_channel_mults

DEFAULTS = {
    "steps": 10000,           # optimiser steps (not epochs: budgets range from 10 to 1000s of images)
    "batch_size": 64,
    "lr": 2e-4,               # Ho et al. 2020 (CIFAR-10)
    "base_channels": 64,
    "channel_mults": "auto",  # 28/32 px -> 1,2,2 ; 64 px -> 1,2,2,2
    "num_res_blocks": 2,
    "dropout": 0.1,
    "attention": True,
    "timesteps": 1000,
    "schedule": "cosine",
    "prediction": "v",        # network output: "v" (Salimans & Ho 2022) or "eps" (Ho et al. 2020)
    "ddim_steps": 50,
    "eta": 0.0,               # 0 = deterministic DDIM
    "guidance_scale": 1.5,    # eps = eps_u + s (eps_c - eps_u); 1 = plain conditional, 0 = unconditional
    "p_uncond": 0.1,          # label dropout during training (Ho & Salimans 2022)
    "ema_decay": 0.999,
    "grad_clip": 1.0,
    "amp": True,              # true/auto: bf16 autocast on CUDA (slower than float32 on CPU); bf16: force
    "sample_batch_size": 256,
    "log_every": 50,
}


@register_generator("ddpm", order=30)
class DDPM(LearnedGenerator):
    DEFAULTS = DEFAULTS
    POSITIVE_INTS = ("steps", "batch_size")
    bf16_helps_on_cpu = False  # U-Net: ~0.5x in bf16 on CPU (perf/cpu_precision.py)
    seed_whole_fit = True  # dropout masks come from the global RNG: reproducible for a seed
    #: the EMA weights are the network used for sampling
    saved_nets = ("ema",)

    def __init__(self, **config):
        super().__init__(**config)
        c = self.config
        problems = []
        if c["schedule"] not in SCHEDULES:
            problems.append(f"schedule={c['schedule']!r} (use one of {', '.join(SCHEDULES)})")
        if c["prediction"] not in PREDICTIONS:
            problems.append(f"prediction={c['prediction']!r} (use one of {', '.join(PREDICTIONS)})")
        if not 1 <= int(c["ddim_steps"]) <= int(c["timesteps"]):
            problems.append(f"ddim_steps={c['ddim_steps']} (use 1..timesteps={c['timesteps']})")
        if not 0.0 <= float(c["p_uncond"]) < 1.0:
            problems.append(f"p_uncond={c['p_uncond']} (use 0 <= p_uncond < 1)")
        if float(c["guidance_scale"]) < 0:
            problems.append(f"guidance_scale={c['guidance_scale']} (use >= 0)")
        if float(c["guidance_scale"]) != 1.0 and float(c["p_uncond"]) == 0.0:
            problems.append("guidance_scale != 1 with p_uncond = 0 (guidance needs an unconditional model: "
                            "set p_uncond > 0, e.g. 0.1, or guidance_scale = 1)")
        if problems:
            raise UserError(f"invalid ddpm settings: {'; '.join(problems)}.", "change the settings named above.")

    # --- building ------------------------------------------------------------------------------
    def arch_state(self) -> dict:
        h, w, channels = self.image_shape
        c = self.config
        return {"in_channels": channels, "n_classes": self.n_classes, "base_channels": int(c["base_channels"]),
                "channel_mults": list(parse_channel_mults(c["channel_mults"], h, w)),
                "num_res_blocks": int(c["num_res_blocks"]), "dropout": float(c["dropout"]),
                "attention": bool(c["attention"]), "timesteps": int(c["timesteps"]), "schedule": c["schedule"],
                "prediction": c["prediction"]}

    def restore_arch(self, arch: dict) -> None:
        self.n_classes = arch["n_classes"]  # sampler settings stay the instance's; shapes are the file's

    def build(self) -> dict[str, nn.Module]:
        arch = self.arch
        model = ConditionalUNet(arch["in_channels"], arch["n_classes"], arch["base_channels"],
                                tuple(arch["channel_mults"]), arch["num_res_blocks"], arch["dropout"],
                                arch["attention"])
        return {"model": model, "ema": copy.deepcopy(model).eval().requires_grad_(False)}

    # --- training ------------------------------------------------------------------------------
    def train(self, images, labels, *, seed, progress) -> None:
        """Run the optimiser on ``nets['model']``, keeping ``nets['ema']`` (the sampling network) up to date."""
        c, dev = self.config, self.device
        model, ema = self.nets["model"], self.nets["ema"]
        opt = torch.optim.Adam(model.parameters(), lr=float(c["lr"]))
        abar = alphas_cumprod(c["schedule"], int(c["timesteps"])).to(dev, torch.float32)
        stream = self.batches(images, labels, int(c["batch_size"]), seed)
        gen = torch_generator(noise_seed(seed), dev)
        total, log_every = int(c["steps"]), max(1, int(c["log_every"]))
        null = self.n_classes
        running, n_running = 0.0, 0
        amp = self.autocast()
        model.train()
        for step in range(1, total + 1):
            x0, y = next(stream)
            b = x0.size(0)
            t = torch.randint(0, int(c["timesteps"]), (b,), generator=gen, device=dev)
            noise = torch.randn(x0.shape, generator=gen, device=dev)
            drop = torch.rand(b, generator=gen, device=dev) < float(c["p_uncond"])
            y = torch.where(drop, torch.full_like(y, null), y)
            with amp:
                pred = model(q_sample(x0, t, noise, abar), t, y)
            loss = F.mse_loss(pred.float(), training_target(c["prediction"], x0, noise, t, abar))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if c["grad_clip"]:
                torch.nn.utils.clip_grad_norm_(model.parameters(), float(c["grad_clip"]))
            opt.step()
            self._ema_update(ema, model, step)
            value = self.log(step, keep=False, loss=loss)["loss"]  # one sync per step: cheap next to a U-Net step
            running, n_running = running + value, n_running + 1
            if step % log_every == 0 or step == total:
                self.log(step, loss=running / n_running)
                running, n_running = 0.0, 0
            if progress is not None:
                progress(step, total)

    def _ema_update(self, ema, model, step: int) -> None:
        # warm-up (1 + s) / (10 + s) lets short fits (tests, tiny budgets) use mostly recent weights
        decay = min(float(self.config["ema_decay"]), (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), model.parameters()):
                pe.lerp_(p, 1.0 - decay)
            for be, b in zip(ema.buffers(), model.buffers()):
                be.copy_(b)

    # --- sampling ------------------------------------------------------------------------------
    def generate(self, label, n, *, seed):
        c, dev = self.config, self.device
        h, w, ch = self.image_shape
        gen = torch_generator(seed)
        # all starting noise is drawn up front on the CPU: images depend on the seed only, not on
        # the device or on how the n images are chunked
        noise = torch.randn((n, ch, h, w), generator=gen)
        abar = alphas_cumprod(self.arch["schedule"], self.arch["timesteps"])
        out = []
        bs = max(1, int(c["sample_batch_size"]))
        for start in range(0, n, bs):
            x_t = noise[start:start + bs].to(dev)
            x0_fn = self._guided_x0(label, x_t.size(0), abar)
            x0 = ddim_sample(x0_fn, x_t, abar, int(c["ddim_steps"]), eta=float(c["eta"]), generator=gen)
            out.append(to_uint8(x0))
        return np.concatenate(out)

    def _guided_x0(self, label: int, b: int, abar: torch.Tensor):
        """Guided output out_u + s (out_c - out_u) (both halves in one batched pass), as an x_0 estimate."""
        s, dev, model = float(self.config["guidance_scale"]), self.device, self.nets["ema"]
        precision = self.precision_for(dev)  # the sampling device's, which may differ from the fit's after to()
        prediction = self.arch["prediction"]
        y_c = torch.full((b,), label, dtype=torch.long, device=dev)
        y_u = torch.full((b,), self.n_classes, dtype=torch.long, device=dev)

        def x0_fn(x: torch.Tensor, t: int) -> torch.Tensor:
            with precision.autocast():
                if s == 1.0 or s == 0.0:
                    out = model(x, torch.full((b,), t, device=dev), y_c if s == 1.0 else y_u).float()
                else:
                    tt = torch.full((2 * b,), t, device=dev)
                    out_c, out_u = model(torch.cat([x, x]), tt, torch.cat([y_c, y_u])).float().chunk(2)
                    out = out_u + s * (out_c - out_u)
            return predicted_x0(prediction, out, x, float(abar[t]))

        return x0_fn

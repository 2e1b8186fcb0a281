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

from augbench.core.seeding import seeded_global_rng, torch_generator
from augbench.core.device import resolve_device
from augbench.core.errors import UserError
from augbench.datasets.transforms import to_uint8
from augbench.generators import register_generator
from augbench.generators._arm_utils import arm_precision, check_amp, check_labels, merge_config, with_precision
from augbench.generators._diffusion import (PREDICTIONS, SCHEDULES, alphas_cumprod, ddim_sample, predicted_x0, q_sample,
                                  training_target)
from augbench.generators._gan_utils import BatchStream
from augbench.generators._unet import ConditionalUNet, parse_channel_mults
from augbench.generators.base import Generator, check_finite

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


@register_generator("ddpm", order=30, learned=True)
class DDPM(Generator):
    learned = True

    def __init__(self, **config):
        super().__init__(**merge_config("ddpm", DEFAULTS, config))
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
        if int(c["steps"]) < 1 or int(c["batch_size"]) < 1:
            problems.append("steps and batch_size must be >= 1")
        if problems:
            raise UserError(f"invalid ddpm settings: {'; '.join(problems)}.", "change the settings named above.")
        check_amp(self.name, c["amp"])
        self.precision = None  # core.precision.Precision of the last fit
        self._model: ConditionalUNet | None = None  # EMA weights: the network used for sampling
        self._arch: dict | None = None
        self.device = torch.device("cpu")

    def describe(self) -> dict:
        return with_precision(super().describe(), self.precision)

    def precision_for(self, device: torch.device | str):
        """What ``amp`` resolves to on ``device`` (core/precision.py); the run header asks too."""
        return arm_precision(device, self.config["amp"], bf16_helps_on_cpu=False)  # U-Net: ~0.5x in bf16 on CPU

    # --- building ------------------------------------------------------------------------------
    def _build(self, arch: dict) -> ConditionalUNet:
        return ConditionalUNet(arch["in_channels"], arch["n_classes"], arch["base_channels"],
                               tuple(arch["channel_mults"]), arch["num_res_blocks"], arch["dropout"],
                               arch["attention"])

    def _arch_for(self, height: int, width: int, channels: int) -> dict:
        c = self.config
        return {"in_channels": channels, "n_classes": self.n_classes, "base_channels": int(c["base_channels"]),
                "channel_mults": list(parse_channel_mults(c["channel_mults"], height, width)),
                "num_res_blocks": int(c["num_res_blocks"]), "dropout": float(c["dropout"]),
                "attention": bool(c["attention"]), "timesteps": int(c["timesteps"]), "schedule": c["schedule"],
                "prediction": c["prediction"]}

    # --- training ------------------------------------------------------------------------------
    def _fit(self, images, labels, *, seed, device, progress):
        check_labels(self.name, images, labels, self.n_classes)
        dev = resolve_device(device)
        self.precision = self.precision_for(dev)
        self.history, self._model = [], None  # a failed refit must not leave the old network behind
        with seeded_global_rng(seed, dev):  # init and dropout reproducible for a seed
            self._model = self._train(images, labels, seed, dev, progress)
        self.device = dev

    def _train(self, images, labels, seed: int, dev: torch.device, progress) -> ConditionalUNet:
        """Run the optimiser; return the EMA network (the one used for sampling)."""
        c = self.config
        h, w, ch = self.image_shape
        self._arch = self._arch_for(h, w, ch)
        model = self._build(self._arch).to(dev)
        ema = copy.deepcopy(model).eval().requires_grad_(False)
        opt = torch.optim.Adam(model.parameters(), lr=float(c["lr"]))
        abar = alphas_cumprod(c["schedule"], int(c["timesteps"])).to(dev, torch.float32)
        stream = BatchStream(images, labels, int(c["batch_size"]), seed, device=dev)
        gen = torch_generator(seed + 1, dev)
        total, log_every = int(c["steps"]), max(1, int(c["log_every"]))
        null = self.n_classes
        running, n_running = 0.0, 0
        amp = self.precision.autocast()
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
            value = float(loss.detach())  # one sync per step: cheap next to a U-Net forward/backward
            check_finite(self.name, step, loss=value)
            running, n_running = running + value, n_running + 1
            if step % log_every == 0 or step == total:
                self.history.append({"step": step, "loss": running / n_running})
                running, n_running = 0.0, 0
            if progress is not None:
                progress(step, total)
        return ema

    def _ema_update(self, ema, model, step: int) -> None:
        # warm-up (1 + s) / (10 + s) lets short fits (tests, tiny budgets) use mostly recent weights
        decay = min(float(self.config["ema_decay"]), (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), model.parameters()):
                pe.lerp_(p, 1.0 - decay)
            for be, b in zip(ema.buffers(), model.buffers()):
                be.copy_(b)

    # --- sampling ------------------------------------------------------------------------------
    def _sample(self, label, n, *, seed):
        if self._model is None:
            raise RuntimeError("ddpm: no trained network; call fit() or load() first")
        if not 0 <= label < self.n_classes:
            raise UserError(f"ddpm: class {label} is outside 0..{self.n_classes - 1}.",
                            "ask for a class the generator was fitted on.")
        c, dev = self.config, self.device
        h, w, ch = self.image_shape
        gen = torch_generator(seed)
        # all starting noise is drawn up front on the CPU: images depend on the seed only, not on
        # the device or on how the n images are chunked
        noise = torch.randn((n, ch, h, w), generator=gen)
        abar = alphas_cumprod(self._arch["schedule"], self._arch["timesteps"])
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
        s, dev, model = float(self.config["guidance_scale"]), self.device, self._model
        precision = self.precision_for(dev)  # the sampling device's, which may differ from the fit's after to()
        prediction = self._arch["prediction"]
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

    # --- persistence ---------------------------------------------------------------------------
    def to(self, device: str) -> "DDPM":
        """Move the sampling network (e.g. after ``load`` on a GPU machine)."""
        self.device = resolve_device(device)
        if self._model is not None:
            self._model.to(self.device)
        return self

    def state_dict(self) -> dict:
        if self._model is None:
            return {}
        return {"arch": dict(self._arch),
                "weights": {k: v.detach().cpu() for k, v in self._model.state_dict().items()}}

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        self._arch = dict(state["arch"])
        self.n_classes = self._arch["n_classes"]
        model = self._build(self._arch)
        model.load_state_dict(state["weights"])
        self._model = model.eval().requires_grad_(False).to(self.device)

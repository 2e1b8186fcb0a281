"""``latent-smote``: DeepSMOTE-style oversampling (Dablain et al. 2022) -- SMOTE in an autoencoder's latent space.

A GAN-free learned baseline: cheap to train, stable, and every synthetic image is tied to two real
images of its class, so it cannot invent modes the budget does not contain. If the GANs or the
diffusion model do not beat it, their extra cost buys nothing.

An autoencoder is trained on the budgeted split (reconstruction loss plus DeepSMOTE's class-batch
penalty, see ``penalty``); after training every image is encoded once, and a new image of class c
is the decoding of z_i + lam (z_j - z_i), with z_i a random encoded image of class c, z_j one of its
k nearest same-class neighbours and lam ~ U(0, 1).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.neighbors import NearestNeighbors
from torch import nn

from augbench.core.errors import UserError
from augbench.core.seeding import noise_seed
from augbench.datasets.transforms import to_uint8
from augbench.generators import register_generator
from augbench.generators._autoencoder import ConvAutoencoder
from augbench.generators._learned import LearnedGenerator

PENALTIES = ("reference", "permuted", "none")

DEFAULTS = {
    "epochs": 100,            # passes over the budgeted split (DeepSMOTE trains for 50-200)
    "steps": 0,               # optimiser steps instead of epochs when > 0 (what a FLOPs budget sets)
    "batch_size": 64,
    "lr": 2e-4,               # DeepSMOTE reference code (Adam)
    "latent_dim": 300,        # DeepSMOTE's n_z
    "base_channels": 64,      # DeepSMOTE's dim_h
    "k_neighbors": 5,         # SMOTE's and DeepSMOTE's k
    "penalty": "reference",   # see _penalty_loss
    "penalty_weight": 1.0,
    "single_noise": 0.1,      # one-image classes: latent + N(0, (single_noise * latent sd)^2)
    "amp": True,              # true/auto: bf16 autocast where native (CUDA, AVX512-BF16/AMX CPUs); bf16: force
    "sample_batch_size": 256,
    "log_every": 10,
}


def smote_latents(latents: np.ndarray, n: int, k: int, rng: np.random.Generator):
    """SMOTE (Chawla et al. 2002) on one class's codes: ``n`` points on segments between neighbours.

    Returns ``(new, (i, j, lam))`` with ``new[m] = latents[i[m]] + lam[m] * (latents[j[m]] - latents[i[m]])``,
    ``j[m]`` one of the ``k`` nearest other members of ``i[m]`` (k capped at len - 1) and lam in [0, 1).
    """
    latents = np.asarray(latents)
    if len(latents) < 2:
        raise ValueError("SMOTE needs at least two points of a class")
    k = max(1, min(int(k), len(latents) - 1))
    # kneighbors() without a query excludes each point from its own neighbour list
    neighbours = NearestNeighbors(n_neighbors=k).fit(latents).kneighbors(return_distance=False)
    i = rng.integers(0, len(latents), n)
    j = neighbours[i, rng.integers(0, k, n)]
    lam = rng.random(n).astype(latents.dtype)
    new = latents[i] + lam[:, None] * (latents[j] - latents[i])
    return new, (i, j, lam)


@register_generator("latent-smote", order=31)
class LatentSMOTE(LearnedGenerator):
    DEFAULTS = DEFAULTS
    POSITIVE_INTS = ("epochs", "batch_size", "latent_dim", "base_channels", "k_neighbors", "sample_batch_size")
    NON_NEGATIVE_INTS = ("steps",)  # 0 = count training in epochs

    def __init__(self, **config):
        super().__init__(**config)
        c = self.config
        problems = []
        if int(c["batch_size"]) < 2:
            problems.append("batch_size=1 (batch norm needs >= 2)")
        if c["penalty"] not in PENALTIES:
            problems.append(f"penalty={c['penalty']!r} (use one of {', '.join(PENALTIES)})")
        if float(c["single_noise"]) < 0:
            problems.append(f"single_noise={c['single_noise']} (use >= 0)")
        if problems:
            raise UserError(f"invalid latent-smote settings: {'; '.join(problems)}.",
                            "change the settings named above.")
        self._latents: np.ndarray | None = None  # (N, latent_dim) codes of the training images
        self._labels: np.ndarray | None = None
        self._latent_sd: np.ndarray | None = None

    # --- building ------------------------------------------------------------------------------
    def arch_state(self) -> dict:
        h, w, ch = self.image_shape
        return {"in_channels": ch, "height": h, "width": w, "latent_dim": int(self.config["latent_dim"]),
                "base_channels": int(self.config["base_channels"])}

    def restore_arch(self, arch: dict) -> None:
        pass  # build() reads self.arch; the instance's sampling settings stay its own

    def build(self) -> dict[str, nn.Module]:
        arch = self.arch
        return {"autoencoder": ConvAutoencoder(arch["in_channels"], arch["height"], arch["width"],
                                               arch["latent_dim"], arch["base_channels"])}

    # --- training ------------------------------------------------------------------------------
    #: what a compute budget sets (benchmark/compute.py): an epoch is too coarse a unit to hit a FLOPs
    #: budget (one was 4e11 FLOPs on isic, half the quick preset's 7.5e11), a step is not
    length_knob = "steps"

    def training_units(self, n_images: int) -> int:
        """Optimiser steps a fit on ``n_images`` takes: ``steps``, or ``epochs`` passes when it is 0."""
        c = self.config
        return int(c["steps"]) or int(c["epochs"]) * math.ceil(n_images / int(c["batch_size"]))

    def train(self, images, labels, *, seed, progress) -> None:
        c, dev, precision = self.config, self.device, self.precision
        ae = self.nets["autoencoder"]
        opt = torch.optim.Adam(ae.parameters(), lr=float(c["lr"]))
        stream = self.batches(images, labels, int(c["batch_size"]), seed)
        rng = np.random.default_rng(noise_seed(seed))
        members = [np.flatnonzero(labels == k) for k in range(self.n_classes)]
        members = [m for m in members if len(m)]
        total = self.training_units(len(images))
        log_every = max(1, int(c["log_every"]))
        ae.train()
        for step in range(1, total + 1):
            x, _ = next(stream)
            with precision.autocast():
                recon = F.mse_loss(ae(x).float(), x)
                penalty = self._penalty_loss(ae, stream.x, members, rng, dev)
            loss = recon + float(c["penalty_weight"]) * penalty
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self.log(step, keep=step % log_every == 0 or step == total, loss=loss, recon=recon, penalty=penalty)
            if progress is not None:
                progress(step, total)
        ae.eval()
        self._latents = self._encode_all(stream.x)
        self._labels = labels.copy()
        sd = self._latents.std(axis=0) if len(self._latents) > 1 else np.zeros(self._latents.shape[1])
        self._latent_sd = np.where(sd > 0, sd, 1.0).astype(np.float32)

    def _penalty_loss(self, ae, all_x: torch.Tensor, members, rng, dev) -> torch.Tensor:
        """DeepSMOTE's extra term on a batch drawn from ONE random class.

        ``reference``: as the authors' released code computes it -- the class batch is encoded with
        gradients stopped, and the decoder must rebuild each image from its own code (the code's
        re-ordering is applied to images and codes alike, so it cancels).
        ``permuted``: as the paper's text describes it -- each image must be rebuilt from another
        same-class image's code, pulling a class's codes towards decoding alike.
        ``none``: plain autoencoder.
        """
        mode = self.config["penalty"]
        if mode == "none":
            return torch.zeros((), device=dev)
        cls = members[rng.integers(0, len(members))]
        idx = rng.choice(cls, size=min(len(cls), int(self.config["batch_size"])), replace=False)
        xc = all_x[torch.from_numpy(idx)].to(dev)
        if mode == "reference":
            return F.mse_loss(ae.decode(ae.encode(xc).detach()).float(), xc)
        z = ae.encode(xc)
        return F.mse_loss(ae.decode(torch.roll(z, 1, dims=0)).float(), xc)

    @torch.no_grad()
    def _encode_all(self, x: torch.Tensor) -> np.ndarray:
        bs = int(self.config["sample_batch_size"])
        ae = self.nets["autoencoder"]
        parts = [ae.encode(x[i:i + bs].to(self.device)).float().cpu() for i in range(0, len(x), bs)]
        return torch.cat(parts).numpy().astype(np.float32)

    # --- sampling ------------------------------------------------------------------------------
    def class_latents(self, label: int) -> np.ndarray:
        """The encoded training images of class ``label``: the points SMOTE interpolates between."""
        if not self.nets:
            raise RuntimeError(f"{self.name}: no trained generator (fit() failed or load() was not called)")
        return self._latents[self._labels == label]

    def probe_sample(self, label: int, n: int, *, seed: int) -> np.ndarray:
        raise NotImplementedError("latent-smote samples from codes of its training images, encoded only once "
                                  "its autoencoder is trained: no mid-fit probe")

    def generate(self, label, n, *, seed):
        codes = self.class_latents(label)
        if len(codes) == 0:
            raise UserError(f"latent-smote: class {label} has no training images to interpolate between.",
                            "give it at least one real image in the budgeted split, or use a generative arm.")
        rng = np.random.default_rng(seed)
        if len(codes) == 1:
            noise_sd = float(self.config["single_noise"])
            warnings.warn(f"latent-smote: class {label} has a single training image; its {n} samples decode "
                          f"that image's code plus Gaussian noise ({noise_sd} x the latent s.d.), "
                          "not SMOTE interpolations.", stacklevel=3)
            new = codes + noise_sd * self._latent_sd * rng.standard_normal((n, codes.shape[1])).astype(np.float32)
        else:
            new, _ = smote_latents(codes, n, int(self.config["k_neighbors"]), rng)
        return self.decode(new)

    @torch.no_grad()
    def decode(self, latents: np.ndarray) -> np.ndarray:
        """Latent codes -> uint8 NHWC images (public so callers can inspect the latent space)."""
        bs = int(self.config["sample_batch_size"])
        z = torch.as_tensor(np.asarray(latents, dtype=np.float32))
        out = []
        for i in range(0, len(z), bs):
            with self.precision_for(self.device).autocast():
                out.append(to_uint8(self.nets["autoencoder"].decode(z[i:i + bs].to(self.device)).float()))
        return np.concatenate(out)

    # --- persistence ---------------------------------------------------------------------------
    def extra_state(self) -> dict:
        """The training images' codes: the points SMOTE interpolates between at sampling time."""
        return {"latents": torch.from_numpy(self._latents), "labels": torch.from_numpy(self._labels),
                "latent_sd": torch.from_numpy(self._latent_sd)}

    def load_extra_state(self, state: dict) -> None:
        self._latents = state["latents"].numpy()
        self._labels = state["labels"].numpy()
        self._latent_sd = state["latent_sd"].numpy()

"""BAGAN-GP (Huang & Jafari 2021, "Enhanced balancing GAN"): a class-conditional GAN whose
generator starts from a supervised autoencoder's decoder.

The autoencoder multiplies its latent code by a learned class embedding, so after pre-training the
decoder already draws class-specific images; the adversarial phase then only has to sharpen them,
which is what makes it usable with a handful of minority images. Layer sizes, initialisation, loss
terms and optimiser settings follow the authors' code (GH920/improved-bagan-gp) at 64 px, so the
parameter counts match it exactly; where that code departs from the paper (alpha ~ N(0, 1) in the
gradient penalty, one real batch reused for all critic iterations) the paper is the default and
the code's behaviour is an option recorded by ``describe()``.

Sizes other than 64 px: at 32 px one 128-channel stage is dropped from the encoder, critic and
decoder so the bottleneck stays 4x4x256; 28 px images are replicate-padded to 32 px on the way in
and generated images are centre-cropped back to 28 px (the critic sees fakes cropped and re-padded
exactly like real images, so the border carries no signal).

This module is the arm (schedule, losses, sampling); the networks are in ``_bagan_gp_nets`` and the
critic's penalty-friendly convolution in ``_fast_conv``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from augbench.core.seeding import noise_seed, torch_generator
from augbench.datasets.transforms import to_uint8
from augbench.generators import register_generator
from augbench.generators._bagan_common import AutoencoderGAN, check_choice, check_sample_label, requires_grad
from augbench.generators._bagan_gp_nets import build_networks, net_size
from augbench.generators._gan_utils import balanced_labels, gradient_penalty


@register_generator("bagan-gp", order=24)
class BaganGP(AutoencoderGAN):
    """Supervised-autoencoder initialised conditional GAN with a gradient-penalised BCE critic."""

    DEFAULTS = {
        "latent_dim": 128,
        "ae_epochs": 30,          # reference: 30 autoencoder epochs
        "gan_epochs": 100,        # reference: 50 x 2 epochs; one epoch = ceil(N / batch) generator steps
        "gan_steps": 0,           # > 0 overrides gan_epochs
        "batch_size": 128,
        "lr": 2e-4,               # both GAN optimisers
        "ae_lr": 2e-4,
        "beta1": 0.5,
        "beta2": 0.9,
        "adam_eps": 1e-7,         # Keras' Adam epsilon
        "n_critic": 5,
        "gp_weight": 10.0,
        "alpha": "uniform",       # paper; "normal" = the reference code's N(0, 1)
        "critic_batches": "fresh",  # paper; "reuse" = the reference code's one real batch per 5 critic steps
        "width": 1.0,             # channel multiplier; 1.0 is the reference architecture
        "amp": False,             # true/auto: bf16 autocast where native (CUDA, AVX512-BF16/AMX CPUs); bf16: force
        "channels_last": True,    # memory layout only; faster convolutions on CPU (oneDNN) and GPU
        "bn_recalibration": 10,   # batches of fakes that re-estimate the decoder's BN statistics after training
    }

    #: sampling needs the class embedding and the decoder only
    saved_nets = ("embedding", "decoder")

    def __init__(self, **config):
        super().__init__(**config)
        check_choice(self.name, "alpha", self.config["alpha"], ("uniform", "normal"))
        check_choice(self.name, "critic_batches", self.config["critic_batches"], ("fresh", "reuse"))

    # --- image-size adaptation ------------------------------------------------------------------
    def _pad(self) -> int:
        return (net_size(self.image_shape[0]) - self.image_shape[0]) // 2

    def _to_net(self, x: torch.Tensor) -> torch.Tensor:
        p = self._pad()
        x = F.pad(x, (p, p, p, p), mode="replicate") if p else x
        return x.contiguous(memory_format=torch.channels_last) if self.config["channels_last"] else x

    def _to_image(self, x: torch.Tensor) -> torch.Tensor:
        p = self._pad()
        return x[..., p:-p, p:-p] if p else x

    def _decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._to_image(self.nets["decoder"](self.nets["embedding"](z, y)))

    # --- fitting ----------------------------------------------------------------------------------
    def build(self) -> dict[str, nn.Module]:
        h, _, c = self.image_shape
        return build_networks(h, c, self.n_classes, int(self.config["latent_dim"]), float(self.config["width"]))

    def _train_phases(self, stream, seed, per_epoch, ae_steps, gan_steps, progress) -> None:
        total = ae_steps + gan_steps
        rng = torch_generator(noise_seed(seed))
        enc, emb, dec = (self.nets[k] for k in ("encoder", "embedding", "decoder"))
        for net in (enc, emb, dec):
            net.train()

        def reconstruction(x, y):
            rec = self._to_image(dec(emb(enc(self._to_net(x)), y)))
            return F.l1_loss(rec.float(), x)  # MAE, as the reference compiles it

        self._train_autoencoder(stream, [*enc.parameters(), *emb.parameters(), *dec.parameters()],
                                self.config["ae_lr"], reconstruction, ae_steps, per_epoch, progress, total)
        self._train_gan(stream, rng, gan_steps, progress, ae_steps, total)
        self._recalibrate_batchnorm(rng)

    def _critic_loss(self, x, y, z, fake_y, wrong_y, rng):
        """BCE real/true-label + fake + real/wrong-label (wrong_y may equal y, as in the reference)
        plus the gradient penalty; one critic forward over the three groups (it has no batch norm,
        so this equals three separate calls)."""
        critic = self.augmented(self.nets["critic"])
        with torch.no_grad():
            fake = self._to_net(self._decode(z, fake_y))
        logits = critic(torch.cat([x, fake, x]), torch.cat([y, fake_y, wrong_y])).float()
        real_l, fake_l, wrong_l = logits.split([x.size(0), fake.size(0), x.size(0)])
        self.observe_real(real_l)  # ADA (when on): the reals' scores under their true labels
        cost = (F.binary_cross_entropy_with_logits(real_l, torch.ones_like(real_l))
                + F.binary_cross_entropy_with_logits(fake_l, torch.zeros_like(fake_l))
                + F.binary_cross_entropy_with_logits(wrong_l, torch.zeros_like(wrong_l)))
        with critic.input_gradients_only():
            gp = gradient_penalty(critic, x, fake, y, alpha=self.config["alpha"], generator=rng).float()
        return cost, gp

    def _train_gan(self, stream, rng, steps: int, progress, offset: int, total: int) -> None:
        critic, emb, dec = (self.nets[k] for k in ("critic", "embedding", "decoder"))
        for net in (critic, emb, dec):
            net.train()  # BN in training mode in both D and G steps, as in the reference
        seen = self.augmented(critic)  # what the generator step is judged through
        opt_d = self._adam(critic.parameters(), self.config["lr"])
        opt_g = self._adam([*emb.parameters(), *dec.parameters()], self.config["lr"])
        amp = self.autocast()
        latent, dev = int(self.config["latent_dim"]), self.device
        gp_weight, reuse = float(self.config["gp_weight"]), self.config["critic_batches"] == "reuse"
        for step in range(steps):
            for i in range(int(self.config["n_critic"])):
                if i == 0 or not reuse:
                    x, y = next(stream)
                    x = self._to_net(x)
                b = x.size(0)
                z = torch.randn(b, latent, generator=rng).to(dev)
                fake_y, wrong_y = self.draw_labels(b, rng), self.draw_labels(b, rng)
                with amp:
                    cost, gp = self._critic_loss(x, y, z, fake_y, wrong_y, rng)
                    d_loss = cost + gp_weight * gp
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
            z = torch.randn(b, latent, generator=rng).to(dev)
            fake_y = self.draw_labels(b, rng)
            requires_grad(critic, False)
            with amp:
                logits = seen(self._to_net(self._decode(z, fake_y)), fake_y).float()
                g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            requires_grad(critic, True)
            self.log(offset + step, phase="gan", d_loss=d_loss, d_cost=cost, gp=gp, g_loss=g_loss)
            if progress:
                progress(offset + step + 1, total)

    @torch.no_grad()
    def probe_sample(self, label: int, n: int, *, seed: int) -> np.ndarray:
        """Mid-fit samples as the end of the fit would make them: BN statistics recalibrated on the
        sampling distribution first (stale running statistics give flat grey images, which would
        read as a plateau), then every decoder buffer put back."""
        decoder = self.nets["decoder"]
        saved = {k: v.detach().clone() for k, v in decoder.state_dict().items()}
        try:
            self._recalibrate_batchnorm(torch_generator(seed))
            return self.sample(label, n, seed=seed)
        finally:
            decoder.load_state_dict(saved)

    def _recalibrate_batchnorm(self, rng: torch.Generator) -> None:
        """Re-estimate the decoder's BN running statistics on the sampling distribution itself.

        Sampling runs the decoder in eval mode, i.e. on running statistics. With the reference's
        Keras momentum (0.01 per step) those lag far behind the weights after a short fit (and
        partly describe autoencoder latents rather than N(0, I) * embedding), which turns samples
        into flat grey images; an exact average over a few batches of fakes fixes that without
        touching any weight. ``bn_recalibration=0`` keeps the trained running statistics."""
        batches = int(self.config["bn_recalibration"])
        bns = [m for m in self.nets["decoder"].modules() if isinstance(m, nn.BatchNorm2d)]
        if batches <= 0 or not bns:
            return
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calls below
        self.nets["decoder"].train()
        b = int(self.config["batch_size"])
        for _ in range(batches):
            z = torch.randn(b, int(self.config["latent_dim"]), generator=rng).to(self.device)
            self._decode(z, balanced_labels(b, self.n_classes, rng, self.device))
        for bn, m in zip(bns, momenta):
            bn.momentum = m

    # --- sampling & persistence -------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, label: int, n: int, *, seed: int) -> np.ndarray:
        check_sample_label(self.name, label, self.class_counts)
        for net in self.nets.values():
            net.eval()
        z = torch.randn(n, int(self.config["latent_dim"]), generator=torch_generator(seed))
        out = []
        for chunk in z.split(512):
            chunk = chunk.to(self.device)
            y = torch.full((chunk.size(0),), label, dtype=torch.long, device=self.device)
            out.append(to_uint8(self._decode(chunk, y)))
        return np.concatenate(out)

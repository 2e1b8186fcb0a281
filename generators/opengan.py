"""A feature-conditioned GAN in the manner of OpenGAN (Ditria, Meyer & Drummond 2020, *OpenGAN: Open
Set Generative Adversarial Networks*): the generator is conditioned on an image's position in a
metric-learning feature space instead of on a label embedding.

Why it is an arm: one chest X-ray comparison generated its minority classes this way. A label
embedding gives a class one learned vector however few images it has; a metric-space condition
gives every budget image its own point, so a class of ten images is ten conditions (and the space
between them), not one. Sampling class c draws the features of c's budget images and moves them a
little (``feature_noise``) on the unit sphere.

The fit has two phases: a CosFace encoder (generators/_feature_encoder.py) trained on the budget
images alone, then the GAN with that encoder frozen: the shared step loop of the conditional GANs,
with features for labels as its conditions. See docs/generators.md (section opengan) for
what differs from the paper.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from augbench.core.seeding import noise_seed, torch_generator
from augbench.datasets.transforms import to_tensor, to_uint8
from augbench.generators import register_generator
from augbench.generators._arm_utils import check_number
from augbench.generators._conditional_gan import COMMON_DEFAULTS, COMMON_POSITIVE_INTS, ConditionalGAN, Losses
from augbench.generators._conditional_nets import ConditionalGenerator, FeatureProjectionCritic
from augbench.generators._feature_encoder import MetricEncoder, large_margin_cosine_loss, perturbed
from augbench.generators._gan_utils import bce_as_real, bce_real_fake, dcgan_init

ENCODE_CHUNK = 512  # images per encoder forward when building the feature bank


@register_generator("opengan", order=29)
class OpenGAN(ConditionalGAN):
    DEFAULTS = {
        **COMMON_DEFAULTS,
        "feat_dim": 32,             # length of the unit-norm condition vector
        "encoder_steps": 200,       # CosFace updates before the GAN starts (a fixed cost of every fit)
        "encoder_lr": 1e-3,
        "encoder_channels": 16,     # width of the encoder's conv trunk
        "cosface_scale": 16.0,
        "cosface_margin": 0.2,
        "feature_noise": 0.2,       # expected distance a sampled condition moves from its budget image
        "consistency_weight": 1.0,  # G loss term 1 - cos(E(G(z, f)), f); 0 = adversarial loss only
    }
    arch_keys = ("latent_dim", "base_channels", "feat_dim", "encoder_channels")
    POSITIVE_INTS = COMMON_POSITIVE_INTS + ("feat_dim", "encoder_steps", "encoder_channels")
    saved_nets = ("generator", "discriminator", "encoder")

    def __init__(self, **config):
        super().__init__(**config)
        for key in ("encoder_lr", "cosface_scale", "feature_noise", "consistency_weight", "cosface_margin"):
            check_number(self.name, key, self.config[key], example=self.DEFAULTS[key])
        self.bank = torch.empty(0)  # unit features of the budget images, one row per image (CPU)
        self.bank_labels = torch.empty(0, dtype=torch.long)
        self.directions = torch.empty(0)  # class proxies: the condition for a class with no image

    # --- networks -----------------------------------------------------------------------------
    def _networks(self):
        size, _, channels = self.image_shape
        feat = self.config["feat_dim"]
        generator = self._make_generator_for_features(feat)
        critic = FeatureProjectionCritic(size, channels, feat, self.config["base_channels"])
        return generator, critic

    def _make_generator_for_features(self, feat_dim: int) -> ConditionalGenerator:
        size, _, channels = self.image_shape
        return ConditionalGenerator(size, channels, self.generator_input_dim, self.n_classes,
                                    self.config["base_channels"], cond_dim=feat_dim)

    def build(self) -> dict:
        nets = super().build()
        size, _, channels = self.image_shape
        encoder = MetricEncoder(size, channels, self.n_classes, self.config["encoder_channels"],
                                self.config["feat_dim"])
        dcgan_init(encoder.trunk)
        return {**nets, "encoder": encoder}

    @property
    def encoder(self):
        return self.nets.get("encoder")

    # --- fitting ------------------------------------------------------------------------------
    def train(self, images, labels, *, seed, progress) -> None:
        enc_steps, total = self.config["encoder_steps"], self.config["encoder_steps"] + self.config["steps"]
        stream = self.batches(images, labels, self.config["batch_size"], seed)
        self._train_encoder(stream, progress, total)
        self._build_bank(images, labels)
        self.G.train()
        self.D.train()
        gan_progress = None if progress is None else (lambda step, _: progress(enc_steps + step, total))
        self._train(stream, torch_generator(noise_seed(seed)), gan_progress)

    def _train_encoder(self, stream, progress, total: int) -> None:
        """Phase 1: CosFace on the budget images. Nothing else has seen these weights."""
        enc = self.encoder.train()
        opt = torch.optim.Adam(enc.parameters(), lr=self.config["encoder_lr"])
        scale, margin = float(self.config["cosface_scale"]), float(self.config["cosface_margin"])
        for step in range(1, self.config["encoder_steps"] + 1):
            real, y = next(stream)
            with self._autocast():
                cosines = enc.cosines(enc(real))
                loss = large_margin_cosine_loss(cosines, y, scale=scale, margin=margin)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            keep = step % self.config["log_every"] == 0 or step == self.config["encoder_steps"]
            self.log(step, keep=keep, phase="encoder", encoder_loss=loss.detach(),
                     encoder_accuracy=(cosines.argmax(1) == y).float().mean().detach())
            if progress is not None:
                progress(step, total)

    @torch.no_grad()
    def _build_bank(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Features of every image the arm was given, for drawing class conditions later."""
        enc = self.encoder.eval()
        feats = [enc(to_tensor(images[i:i + ENCODE_CHUNK]).to(self.device)).cpu()
                 for i in range(0, len(images), ENCODE_CHUNK)]
        self.bank = torch.cat(feats).float()
        self.bank_labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
        self.directions = enc.class_directions().cpu()

    def _conditions(self, labels: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """For each label, the feature of a random budget image of that class, perturbed; a class
        without images (fitted with n_classes above the labels present) gets its proxy direction."""
        if not len(self.directions):
            raise RuntimeError("opengan: no feature bank yet (it is built when the encoder phase ends)")
        rows = torch.empty(len(labels), self.bank.shape[1])
        for label in torch.unique(labels).tolist():  # sorted: the draw order is fixed by the labels
            slots = torch.nonzero(labels == label).flatten()
            members = torch.nonzero(self.bank_labels == label).flatten()
            if len(members):
                rows[slots] = self.bank[members[torch.randint(0, len(members), (len(slots),), generator=rng)]]
            else:
                rows[slots] = self.directions[label]
        return perturbed(rows, float(self.config["feature_noise"]), rng).to(self.device)

    # --- the adversarial phase: the shared template's hooks ----------------------------------
    @contextmanager
    def _gan_phase(self):
        """Non-saturating GAN with the encoder frozen (eval mode, no weight gradients)."""
        enc = self.encoder.eval()
        enc.requires_grad_(False)
        try:
            yield
        finally:
            enc.requires_grad_(True)

    def _critic_condition(self, real, labels, rng):
        """D's conditions are the real batch's own (perturbed) features."""
        with torch.no_grad(), self._autocast():
            return perturbed(self.encoder(real), float(self.config["feature_noise"]), rng)

    def _generator_condition(self, labels, rng):
        """G's are drawn from the bank for its classes (drawn like the real batches)."""
        return self._conditions(labels, rng)

    def _critic_loss(self, real, labels, fake, cond, latent, rng) -> Losses:
        d_real, d_fake = self.D(real, cond), self.D(fake, cond)
        return Losses(bce_real_fake(d_real.float(), d_fake.float()),
                      {"d_real": torch.sigmoid(d_real.float()).mean(), "d_fake": torch.sigmoid(d_fake.float()).mean()})

    def _generator_loss(self, fake, cond, latent) -> Losses:
        """Fool D, and stay where the condition says: consistency = 1 - cos(E(G(z, f)), f)."""
        adversarial = bce_as_real(self.D(fake, cond).float())
        consistency = (1.0 - (self.encoder(fake) * cond).sum(1)).mean()
        return Losses(adversarial + float(self.config["consistency_weight"]) * consistency,
                      {"consistency": consistency})

    def _log(self, step: int, progress, **losses) -> None:
        """GAN records continue the encoder's step count (as bagan-gp's phases do), tagged phase=gan."""
        offset, steps = self.config["encoder_steps"], self.config["steps"]
        self.log(offset + step, keep=step % self.config["log_every"] == 0 or step == steps, phase="gan", **losses)
        if progress is not None:
            progress(step, steps)

    # --- sampling and state -------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, label: int, n: int, *, seed: int) -> np.ndarray:
        rng = torch_generator(seed)
        labels = torch.full((n,), label, dtype=torch.long)
        f = self._conditions(labels, rng)  # every draw up front: chunking never changes the images
        z = self._latent(f, rng)
        self.G.eval()
        step = self.config["sample_chunk"]
        return np.concatenate([to_uint8(self.G(z[i:i + step], f[i:i + step])) for i in range(0, n, step)])

    def extra_state(self) -> dict:
        return {"bank": self.bank.clone(), "bank_labels": self.bank_labels.clone(),
                "directions": self.directions.clone()}

    def load_extra_state(self, state: dict) -> None:
        self.bank = state["bank"].float()
        self.bank_labels = state["bank_labels"].long()
        self.directions = state["directions"].float()

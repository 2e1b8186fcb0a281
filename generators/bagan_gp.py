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
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from augbench.core.seeding import seeded_global_rng, torch_generator
from augbench.core.device import resolve_device
from augbench.datasets.transforms import to_uint8
from augbench.generators import register_generator
from augbench.generators._arm_utils import arm_precision, check_amp, merge_config, with_precision
from augbench.generators._bagan_common import BAGAN_POSITIVE_INTS, adam, check_choice, check_image_shape, check_sample_label, class_counts, log_losses, requires_grad, scaled, steps_per_epoch
from augbench.generators._gan_utils import BatchStream, balanced_labels, dcgan_init, gradient_penalty
from augbench.generators.base import Generator

LEAK = 0.2  # in-place everywhere: it saves a copy per layer and is exact (autograd keeps the sign)
BOTTLENECK = 4  # spatial side of the encoder output / decoder input at every resolution


def net_size(image_size: int) -> int:
    """28 px is run at 32 px (padded): four stride-2 stages cannot halve 28 down to 4."""
    return 32 if image_size == 28 else image_size


def encoder_widths(image_size: int, width: float = 1.0) -> list[int]:
    """Conv channels of the encoder/critic image branch: 64-128-128-256 at 64 px (the reference),
    one 128 stage fewer at 32 px so each stage still halves the side down to 4."""
    base = [64, 128, 128, 256] if net_size(image_size) == 64 else [64, 128, 256]
    return [scaled(c, width) for c in base]


class _PenaltyConvFn(torch.autograd.Function):
    """conv2d whose input gradient is a plain ``conv_transpose2d``.

    The gradient penalty differentiates the critic's input gradient once more. PyTorch's generic
    conv double-backward computes that weight derivative as a convolution with batch and channels
    swapped (a 16x16 kernel over a 64-channel "batch"), which is slow on CPU and copies whole
    activations; expressed as conv_transpose2d, the second derivative uses the ordinary fast
    kernels. ``weight_grads=False`` skips the weight/bias gradients of the penalty's *inner*
    backward, where only the input gradient is requested.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride: int, padding: int, weight_grads: bool):
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding, ctx.weight_grads = stride, padding, weight_grads
        return F.conv2d(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        s, p = ctx.stride, ctx.padding
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            k = weight.shape[-1]
            extra = [x.shape[d] - ((grad_out.shape[d] - 1) * s - 2 * p + k) for d in (-2, -1)]
            grad_x = F.conv_transpose2d(grad_out, weight, None, s, p, extra)
        if ctx.weight_grads and ctx.needs_input_grad[1]:
            grad_w = torch.ops.aten.convolution_backward(
                grad_out, x, weight, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [False, True, False])[1]
        if ctx.weight_grads and ctx.needs_input_grad[2]:
            grad_b = grad_out.sum((0, 2, 3))
        return grad_x, grad_w, grad_b, None, None, None


class PenaltyConv2d(nn.Conv2d):
    """Conv2d for the critic: same parameters and forward, a penalty-friendly backward (above)."""

    weight_grads = True  # switched off by Critic.input_gradients_only()

    def forward(self, x):
        if not torch.is_grad_enabled():
            return super().forward(x)
        w, b, dev = self.weight, self.bias, x.device.type
        if torch.is_autocast_enabled(dev):  # a custom Function sees no autocast: cast as conv2d would
            dtype = torch.get_autocast_dtype(dev)
            x, w, b = x.to(dtype), w.to(dtype), b.to(dtype)
        with torch.autocast(dev, enabled=False):
            return _PenaltyConvFn.apply(x, w, b, self.stride[0], self.padding[0], self.weight_grads)


def _conv_stack(channels: int, widths: list[int], conv=nn.Conv2d) -> nn.Sequential:
    layers: list[nn.Module] = []
    for w in widths:
        layers += [conv(channels, w, 4, 2, 1), nn.LeakyReLU(LEAK, inplace=True)]
        channels = w
    layers.append(nn.Flatten())
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    def __init__(self, channels: int, widths: list[int], latent_dim: int):
        super().__init__()
        self.features = _conv_stack(channels, widths)
        self.head = nn.Sequential(nn.Linear(widths[-1] * BOTTLENECK ** 2, latent_dim),
                                  nn.LeakyReLU(LEAK, inplace=True))

    def forward(self, x):
        return self.head(self.features(x))


class LabelScale(nn.Module):
    """z * embedding(y): the class enters the latent multiplicatively, as in the reference."""

    def __init__(self, n_classes: int, latent_dim: int):
        super().__init__()
        self.embed = nn.Embedding(n_classes, latent_dim)

    def forward(self, z, y):
        return z * self.embed(y)


class Decoder(nn.Module):
    """Dense -> 4x4 grid -> [ConvT, BN, LReLU] stages -> ConvT to image with tanh."""

    def __init__(self, channels: int, widths: list[int], latent_dim: int):
        super().__init__()
        top = widths[-1]
        hidden = widths[-2::-1]  # mirror of the encoder: 128-128-64 at 64 px
        self.project = nn.Sequential(nn.Linear(latent_dim, top * BOTTLENECK ** 2),
                                     nn.LeakyReLU(LEAK, inplace=True),
                                     nn.Unflatten(1, (top, BOTTLENECK, BOTTLENECK)))
        layers: list[nn.Module] = []
        c = top
        for w in hidden:
            # Keras BatchNormalization defaults: momentum 0.99 (= PyTorch 0.01), eps 1e-3
            layers += [nn.ConvTranspose2d(c, w, 4, 2, 1), nn.BatchNorm2d(w, eps=1e-3, momentum=0.01),
                       nn.LeakyReLU(LEAK, inplace=True)]
            c = w
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z):
        return self.body(self.project(z))


class Critic(nn.Module):
    """Image features multiplied by a projected label embedding, then Dense512 -> Dense1 (a logit)."""

    def __init__(self, channels: int, widths: list[int], n_classes: int, label_dim: int = 512,
                 joint_dim: int = 512):
        super().__init__()
        features = widths[-1] * BOTTLENECK ** 2
        self.features = _conv_stack(channels, widths, conv=PenaltyConv2d)
        self.label = nn.Sequential(nn.Embedding(n_classes, label_dim), nn.Linear(label_dim, features),
                                   nn.LeakyReLU(LEAK, inplace=True))
        self.head = nn.Sequential(nn.Linear(features, joint_dim), nn.Linear(joint_dim, 1))

    def forward(self, x, y):
        return self.head(self.features(x) * self.label(y)).squeeze(1)

    @contextmanager
    def input_gradients_only(self):
        """For the penalty's inner backward, which asks for d critic / d input only.

        Exact for this critic: conv outputs reach its input gradient only through LeakyReLU masks
        (piecewise constant), so the penalty has no gradient path back into the forward convs'
        weights that would need the skipped terms (tests compare against plain Conv2d)."""
        convs = [m for m in self.modules() if isinstance(m, PenaltyConv2d)]
        for m in convs:
            m.weight_grads = False
        try:
            yield
        finally:
            for m in convs:
                m.weight_grads = True


def init_like_reference(module: nn.Module) -> None:
    """Keras initialisers of the reference: conv N(0, 0.02), Dense glorot-uniform, Embedding
    U(-0.05, 0.05), BatchNorm gamma 1 (Keras' default, not DCGAN's N(1, 0.02)); all biases zero."""
    dcgan_init(module)
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.uniform_(m.weight, -0.05, 0.05)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)


def build_networks(image_size: int, channels: int, n_classes: int, latent_dim: int = 128,
                   width: float = 1.0) -> dict[str, nn.Module]:
    widths = encoder_widths(image_size, width)
    nets = {"encoder": Encoder(channels, widths, latent_dim), "embedding": LabelScale(n_classes, latent_dim),
            "decoder": Decoder(channels, widths, latent_dim), "critic": Critic(channels, widths, n_classes)}
    for net in nets.values():
        init_like_reference(net)
    return nets


@register_generator("bagan-gp", order=24, learned=True)
class BaganGP(Generator):
    """Supervised-autoencoder initialised conditional GAN with a gradient-penalised BCE critic."""

    learned = True
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

    def __init__(self, **config):
        super().__init__(**config)
        self.cfg = merge_config("bagan-gp", self.DEFAULTS, config, positive_ints=BAGAN_POSITIVE_INTS)
        check_amp(self.name, self.cfg["amp"])
        self.precision = None  # core.precision.Precision of the last fit
        check_choice(self.name, "alpha", self.cfg["alpha"], ("uniform", "normal"))
        check_choice(self.name, "critic_batches", self.cfg["critic_batches"], ("fresh", "reuse"))
        self.nets: dict[str, nn.Module] = {}
        self.class_counts: list[int] = []
        self.device = torch.device("cpu")

    def describe(self) -> dict:
        return with_precision(dict(self.cfg), self.precision)

    def precision_for(self, device: torch.device | str):
        """What ``amp`` resolves to on ``device`` (core/precision.py); the run header asks too."""
        return arm_precision(device, self.cfg["amp"])

    # --- image-size adaptation ------------------------------------------------------------------
    def _pad(self) -> int:
        return (net_size(self.image_shape[0]) - self.image_shape[0]) // 2

    def _to_net(self, x: torch.Tensor) -> torch.Tensor:
        p = self._pad()
        x = F.pad(x, (p, p, p, p), mode="replicate") if p else x
        return x.contiguous(memory_format=torch.channels_last) if self.cfg["channels_last"] else x

    def _to_image(self, x: torch.Tensor) -> torch.Tensor:
        p = self._pad()
        return x[..., p:-p, p:-p] if p else x

    def _decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._to_image(self.nets["decoder"](self.nets["embedding"](z, y)))

    # --- fitting ----------------------------------------------------------------------------------
    def _build_networks(self, device: torch.device) -> None:
        h, _, c = self.image_shape
        self.nets = build_networks(h, c, self.n_classes, int(self.cfg["latent_dim"]), float(self.cfg["width"]))
        fmt = torch.channels_last if self.cfg["channels_last"] else torch.contiguous_format
        for net in self.nets.values():
            net.to(device=device, memory_format=fmt)

    def _adam(self, params, lr: float) -> torch.optim.Adam:
        return adam(params, lr, (self.cfg["beta1"], self.cfg["beta2"]), self.cfg["adam_eps"], self.device)

    def _fit(self, images, labels, *, seed, device, progress) -> None:
        check_image_shape(self.name, self.image_shape)
        self.class_counts = class_counts(labels, self.n_classes)
        self.device = dev = resolve_device(device)
        self.precision = self.precision_for(dev)
        self.history = []
        batch = int(self.cfg["batch_size"])
        per_epoch = steps_per_epoch(len(labels), batch)
        ae_steps = int(self.cfg["ae_epochs"]) * per_epoch
        gan_steps = int(self.cfg["gan_steps"]) or int(self.cfg["gan_epochs"]) * per_epoch
        total = ae_steps + gan_steps
        with seeded_global_rng(seed, dev):
            self._build_networks(dev)
            stream = BatchStream(images, labels, batch, seed, device=dev)
            rng = torch_generator(seed + 1)
            self._train_autoencoder(stream, ae_steps, per_epoch, progress, total)
            self._train_gan(stream, rng, gan_steps, progress, ae_steps, total)
            self._recalibrate_batchnorm(rng)
        for net in self.nets.values():
            net.eval()

    def _train_autoencoder(self, stream, steps: int, per_epoch: int, progress, total: int) -> None:
        enc, emb, dec = (self.nets[k] for k in ("encoder", "embedding", "decoder"))
        for net in (enc, emb, dec):
            net.train()
        opt = self._adam([*enc.parameters(), *emb.parameters(), *dec.parameters()], self.cfg["ae_lr"])
        amp = self.precision.autocast()
        running = []
        for step in range(steps):
            x, y = next(stream)
            with amp:
                rec = self._to_image(dec(emb(enc(self._to_net(x)), y)))
                loss = F.l1_loss(rec.float(), x)  # MAE, as the reference compiles it
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running.append(float(loss.detach()))
            log_losses([], self.name, "ae", step, loss=running[-1])  # NaN check on every batch
            if (step + 1) % per_epoch == 0 or step + 1 == steps:
                log_losses(self.history, self.name, "ae", step, loss=float(np.mean(running)),
                           epoch=step // per_epoch)
                running = []
            if progress:
                progress(step + 1, total)

    def _critic_loss(self, x, y, z, fake_y, wrong_y, rng):
        """BCE real/true-label + fake + real/wrong-label (wrong_y may equal y, as in the reference)
        plus the gradient penalty; one critic forward over the three groups (it has no batch norm,
        so this equals three separate calls)."""
        critic = self.nets["critic"]
        with torch.no_grad():
            fake = self._to_net(self._decode(z, fake_y))
        logits = critic(torch.cat([x, fake, x]), torch.cat([y, fake_y, wrong_y])).float()
        real_l, fake_l, wrong_l = logits.split([x.size(0), fake.size(0), x.size(0)])
        cost = (F.binary_cross_entropy_with_logits(real_l, torch.ones_like(real_l))
                + F.binary_cross_entropy_with_logits(fake_l, torch.zeros_like(fake_l))
                + F.binary_cross_entropy_with_logits(wrong_l, torch.zeros_like(wrong_l)))
        with critic.input_gradients_only():
            gp = gradient_penalty(critic, x, fake, y, alpha=self.cfg["alpha"], generator=rng).float()
        return cost, gp

    def _train_gan(self, stream, rng, steps: int, progress, offset: int, total: int) -> None:
        critic, emb, dec = (self.nets[k] for k in ("critic", "embedding", "decoder"))
        for net in (critic, emb, dec):
            net.train()  # BN in training mode in both D and G steps, as in the reference
        opt_d = self._adam(critic.parameters(), self.cfg["lr"])
        opt_g = self._adam([*emb.parameters(), *dec.parameters()], self.cfg["lr"])
        amp = self.precision.autocast()
        n, latent, dev = self.n_classes, int(self.cfg["latent_dim"]), self.device
        gp_weight, reuse = float(self.cfg["gp_weight"]), self.cfg["critic_batches"] == "reuse"
        for step in range(steps):
            for i in range(int(self.cfg["n_critic"])):
                if i == 0 or not reuse:
                    x, y = next(stream)
                    x = self._to_net(x)
                b = x.size(0)
                z = torch.randn(b, latent, generator=rng).to(dev)
                fake_y, wrong_y = balanced_labels(b, n, rng, dev), balanced_labels(b, n, rng, dev)
                with amp:
                    cost, gp = self._critic_loss(x, y, z, fake_y, wrong_y, rng)
                    d_loss = cost + gp_weight * gp
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
            z = torch.randn(b, latent, generator=rng).to(dev)
            fake_y = balanced_labels(b, n, rng, dev)
            requires_grad(critic, False)
            with amp:
                logits = critic(self._to_net(self._decode(z, fake_y)), fake_y).float()
                g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            requires_grad(critic, True)
            log_losses(self.history, self.name, "gan", offset + step, d_loss=d_loss, d_cost=cost, gp=gp,
                       g_loss=g_loss)
            if progress:
                progress(offset + step + 1, total)

    @torch.no_grad()
    def _recalibrate_batchnorm(self, rng: torch.Generator) -> None:
        """Re-estimate the decoder's BN running statistics on the sampling distribution itself.

        Sampling runs the decoder in eval mode, i.e. on running statistics. With the reference's
        Keras momentum (0.01 per step) those lag far behind the weights after a short fit (and
        partly describe autoencoder latents rather than N(0, I) * embedding), which turns samples
        into flat grey images; an exact average over a few batches of fakes fixes that without
        touching any weight. ``bn_recalibration=0`` keeps the trained running statistics."""
        batches = int(self.cfg["bn_recalibration"])
        bns = [m for m in self.nets["decoder"].modules() if isinstance(m, nn.BatchNorm2d)]
        if batches <= 0 or not bns:
            return
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calls below
        self.nets["decoder"].train()
        b = int(self.cfg["batch_size"])
        for _ in range(batches):
            z = torch.randn(b, int(self.cfg["latent_dim"]), generator=rng).to(self.device)
            self._decode(z, balanced_labels(b, self.n_classes, rng, self.device))
        for bn, m in zip(bns, momenta):
            bn.momentum = m

    # --- sampling & persistence -------------------------------------------------------------------
    @torch.no_grad()
    def _sample(self, label: int, n: int, *, seed: int) -> np.ndarray:
        check_sample_label(self.name, label, self.class_counts)
        for net in self.nets.values():
            net.eval()
        z = torch.randn(n, int(self.cfg["latent_dim"]), generator=torch_generator(seed))
        out = []
        for chunk in z.split(512):
            chunk = chunk.to(self.device)
            y = torch.full((chunk.size(0),), label, dtype=torch.long, device=self.device)
            out.append(to_uint8(self._decode(chunk, y)))
        return np.concatenate(out)

    def state_dict(self) -> dict:
        """What sampling needs: config, class counts, the class embedding and the decoder."""
        return {"config": dict(self.cfg), "class_counts": list(self.class_counts),
                **{k: {n: t.detach().cpu() for n, t in self.nets[k].state_dict().items()}
                   for k in ("embedding", "decoder")}}

    def load_state_dict(self, state: dict) -> None:
        self.cfg = merge_config(self.name, self.DEFAULTS, state["config"], positive_ints=BAGAN_POSITIVE_INTS)
        self.config = dict(self.cfg)
        self.class_counts = list(state["class_counts"])
        self.device = torch.device("cpu")
        self._build_networks(self.device)
        for k in ("embedding", "decoder"):
            self.nets[k].load_state_dict(state[k])
            self.nets[k].eval()

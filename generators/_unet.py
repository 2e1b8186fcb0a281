"""A small class-conditional U-Net noise predictor for the ``ddpm`` arm.

Layout follows Ho et al. (2020) as simplified by Nichol & Dhariwal (2021): residual blocks with
GroupNorm, a sinusoidal timestep embedding, FiLM (scale/shift) conditioning and self-attention only
at the coarsest resolution, where it is cheap. The class enters as a learned embedding added to the
time embedding; index ``n_classes`` is the "no label" token that classifier-free guidance needs.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from augbench.generators._padding import crop_to, pad_to_multiple


def auto_channel_mults(height: int, width: int) -> tuple[int, ...]:
    """Downsample until the feature map is about 8 px: 28/32 px -> 3 levels, 64 px -> 4 levels."""
    n_down = max(1, math.ceil(math.log2(max(height, width) / 8)))
    return (1,) + (2,) * n_down


def parse_channel_mults(spec, height: int, width: int) -> tuple[int, ...]:
    """'auto', '1,2,2' or a sequence -> tuple of ints (strings keep the config flat for MLflow)."""
    if spec in (None, "auto"):
        return auto_channel_mults(height, width)
    if isinstance(spec, str):
        spec = [s for s in spec.replace(" ", "").split(",") if s]
    mults = tuple(int(m) for m in spec)
    if not mults or min(mults) < 1:
        raise ValueError(f"channel_mults must be positive integers, got {spec!r}")
    return mults


def _groups(channels: int) -> int:
    """Up to 32 GroupNorm groups, always a divisor of ``channels`` (tiny test nets have 8 channels)."""
    return math.gcd(channels, 32)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer-style sinusoids of the (integer) timestep, so nearby steps get nearby codes."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return F.pad(emb, (0, dim % 2))


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity: stable early training
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        self.heads = heads if channels % heads == 0 else 1
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x, emb=None):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x, emb=None):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class ConditionalUNet(nn.Module):
    """eps_theta(x_t, t, y): predicts the noise in ``x_t``; ``y == n_classes`` means "unconditional"."""

    def __init__(self, in_channels: int, n_classes: int, base_channels: int = 64,
                 channel_mults: tuple[int, ...] = (1, 2, 2), num_res_blocks: int = 2,
                 dropout: float = 0.1, attention: bool = True):
        super().__init__()
        self.n_classes = n_classes
        self.multiple = 2 ** (len(channel_mults) - 1)
        # at least 32 sinusoids even for tiny test nets: fewer cannot tell 1000 timesteps apart
        self.time_dim = max(base_channels, 32)
        emb_dim = 4 * self.time_dim
        self.time_mlp = nn.Sequential(nn.Linear(self.time_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(n_classes + 1, emb_dim)

        def attn_or_none(level: int, ch: int) -> nn.Module | None:
            return SelfAttention(ch) if attention and level == len(channel_mults) - 1 else None

        self.stem = nn.Conv2d(in_channels, base_channels, 3, padding=1)
        self.down = nn.ModuleList()
        skips = [base_channels]
        ch = base_channels
        for level, mult in enumerate(channel_mults):
            for _ in range(num_res_blocks):
                block = nn.ModuleList([ResBlock(ch, base_channels * mult, emb_dim, dropout)])
                ch = base_channels * mult
                if (attn := attn_or_none(level, ch)) is not None:
                    block.append(attn)
                self.down.append(block)
                skips.append(ch)
            if level < len(channel_mults) - 1:
                self.down.append(nn.ModuleList([Downsample(ch)]))
                skips.append(ch)

        self.mid = nn.ModuleList([ResBlock(ch, ch, emb_dim, dropout), SelfAttention(ch) if attention else nn.Identity(),
                                  ResBlock(ch, ch, emb_dim, dropout)])

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mults))):
            for i in range(num_res_blocks + 1):
                block = nn.ModuleList([ResBlock(ch + skips.pop(), base_channels * mult, emb_dim, dropout)])
                ch = base_channels * mult
                if (attn := attn_or_none(level, ch)) is not None:
                    block.append(attn)
                if level > 0 and i == num_res_blocks:
                    block.append(Upsample(ch))
                self.up.append(block)

        self.head = nn.Sequential(nn.GroupNorm(_groups(ch), ch), nn.SiLU(), nn.Conv2d(ch, in_channels, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, size = pad_to_multiple(x, self.multiple)
        emb = self.time_mlp(timestep_embedding(t, self.time_dim)) + self.class_emb(y)
        h = self.stem(x)
        hs = [h]
        for block in self.down:
            for layer in block:
                h = layer(h, emb)
            hs.append(h)
        for layer in self.mid:
            h = layer(h, emb) if not isinstance(layer, nn.Identity) else h
        for block in self.up:
            h = torch.cat([h, hs.pop()], dim=1)
            for layer in block:
                h = layer(h, emb)
        return crop_to(self.head(h), size)

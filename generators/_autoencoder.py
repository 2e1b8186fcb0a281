"""The convolutional autoencoder behind ``latent-smote`` (DeepSMOTE's encoder/decoder shape).

DeepSMOTE (Dablain et al. 2022) uses a DCGAN-like encoder (4x4 stride-2 convolutions, batch norm,
LeakyReLU) ending in a linear layer to the latent code, and a mirrored transposed-convolution decoder
with a tanh output. Here the number of levels follows the image size so 28, 32 and 64 px all end at a
4x4 feature map; 28 px is padded to 32 and cropped back.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from augbench.generators._padding import crop_to, pad_to_multiple


class ConvAutoencoder(nn.Module):
    def __init__(self, in_channels: int, height: int, width: int, latent_dim: int = 300, base_channels: int = 64):
        super().__init__()
        self.size = (height, width)
        self.levels = max(1, math.ceil(math.log2(max(height, width) / 4)))
        self.multiple = 2 ** self.levels
        self.bottom = (math.ceil(height / self.multiple), math.ceil(width / self.multiple))
        widths = [min(base_channels * 2 ** i, base_channels * 8) for i in range(self.levels)]

        enc: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
        for c_in, c_out in zip(widths, widths[1:]):
            enc += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        flat = widths[-1] * self.bottom[0] * self.bottom[1]
        self.to_latent = nn.Linear(flat, latent_dim)

        self.from_latent = nn.Sequential(nn.Linear(latent_dim, flat), nn.ReLU())
        dec: list[nn.Module] = []
        for c_in, c_out in zip(widths[::-1], widths[::-1][1:]):
            dec += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.decoder = nn.Sequential(*dec, nn.ConvTranspose2d(widths[0], in_channels, 4, 2, 1), nn.Tanh())
        self._top = widths[-1]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = pad_to_multiple(x, self.multiple)
        return self.to_latent(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_latent(z).view(-1, self._top, *self.bottom)
        return crop_to(self.decoder(h), self.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

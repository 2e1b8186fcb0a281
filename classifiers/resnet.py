"""ResNet-18 as in the MedMNIST v2 experiments: torchvision's ResNet-18 built without weights, with
the 28 px stem MedMNIST uses (3x3 stride-1 first conv, no max-pool).

Stem choice (``stem='auto'``): the MedMNIST stem below 112 px, because ImageNet's 7x7 stride-2 conv
plus max-pool shrinks the image 4x before the first residual stage, which would leave a 64 px image
with fewer positions (16x16) than a 28 px one gets (28x28); from 112 px up (MedMNIST's 224 px
setting) the standard ImageNet stem keeps the cost in check. Pass ``stem='medmnist'`` or
``stem='imagenet'`` to force one. With 1 input channel and 2 classes the MedMNIST-stem network has
11.17 M parameters, the figure the MedMNIST reference script trains.
"""
from __future__ import annotations

import torchvision
from torch import nn

from augbench.classifiers import register_classifier
from augbench.classifiers._checks import check_inputs
from augbench.classifiers.weights import load_weights
from augbench.core.errors import UserError

MIN_SIZE = 8
IMAGENET_STEM_FROM = 112
STEMS = ("auto", "medmnist", "imagenet")


def resolve_stem(stem: str, image_size: int) -> str:
    if stem not in STEMS:
        raise UserError(f"unknown ResNet stem {stem!r}.", f"use one of {', '.join(STEMS)}.")
    if stem == "auto":
        return "imagenet" if image_size >= IMAGENET_STEM_FROM else "medmnist"
    return stem


def build_resnet18(n_classes: int, in_channels: int, stem: str) -> nn.Module:
    model = torchvision.models.resnet18(weights=None, num_classes=n_classes)
    if stem == "medmnist":
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    else:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")  # torchvision's init
    return model


@register_classifier("resnet18", min_size=MIN_SIZE, order=20,
                     description="ResNet-18, MedMNIST stem (3x3 s1, no max-pool) below 112 px; 11.17 M params")
def resnet18(n_classes: int, in_channels: int, image_size: int, weights: str | None = None,
             stem: str = "auto") -> nn.Module:
    check_inputs("resnet18", n_classes=n_classes, in_channels=in_channels, image_size=image_size,
                 min_size=MIN_SIZE)
    model = build_resnet18(int(n_classes), int(in_channels), resolve_stem(stem, int(image_size)))
    return load_weights(model, weights) if weights else model

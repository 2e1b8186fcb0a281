"""ResNet-18 and ResNet-50 as in the MedMNIST v2 experiments: torchvision's networks built without
weights, with the 28 px stem MedMNIST uses (3x3 stride-1 first conv, no max-pool).

Stem choice (``stem='auto'``): the MedMNIST stem below 112 px, because ImageNet's 7x7 stride-2 conv
plus max-pool shrinks the image 4x before the first residual stage, which would leave a 64 px image
with fewer positions (16x16) than a 28 px one gets (28x28); from 112 px up (MedMNIST's 224 px
setting) the standard ImageNet stem keeps the cost in check. Pass ``stem='medmnist'`` or
``stem='imagenet'`` to force one. With 1 input channel and 2 classes the MedMNIST-stem networks have
11.17 M (ResNet-18) and 23.50 M (ResNet-50) parameters, the figures MedMNIST's reference trains.
ResNet-50's bottleneck stages are 4x wider, so at 28 px its first stage works on 28x28x256 maps:
several times ResNet-18's cost per image on CPU (docs/performance.md).
"""
from __future__ import annotations

import torchvision
from torch import nn

from augbench.classifiers import register_classifier
from augbench.classifiers._checks import check_inputs
from augbench.classifiers.weights import load_weights, require_weights_file
from augbench.core.errors import UserError

MIN_SIZE = 8
IMAGENET_STEM_FROM = 112
STEMS = ("auto", "medmnist", "imagenet")
ARCHS = {"resnet18": torchvision.models.resnet18, "resnet50": torchvision.models.resnet50}


def resolve_stem(stem: str, image_size: int) -> str:
    if stem not in STEMS:
        raise UserError(f"unknown ResNet stem {stem!r}.", f"use one of {', '.join(STEMS)}.")
    if stem == "auto":
        return "imagenet" if image_size >= IMAGENET_STEM_FROM else "medmnist"
    return stem


def build_resnet(arch: str, n_classes: int, in_channels: int, stem: str) -> nn.Module:
    model = ARCHS[arch](weights=None, num_classes=n_classes)
    if stem == "medmnist":
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    else:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")  # torchvision's init
    return model


def create_resnet(arch: str, n_classes: int, in_channels: int, image_size: int, weights: str | None,
                  stem: str) -> nn.Module:
    check_inputs(arch, n_classes=n_classes, in_channels=in_channels, image_size=image_size, min_size=MIN_SIZE)
    resolved = resolve_stem(stem, int(image_size))
    path = require_weights_file(weights) if weights else None
    model = build_resnet(arch, int(n_classes), int(in_channels), resolved)
    return load_weights(model, path) if path else model


@register_classifier("resnet18", min_size=MIN_SIZE, order=20,
                     description="ResNet-18, MedMNIST stem (3x3 s1, no max-pool) below 112 px; 11.17 M params")
def resnet18(n_classes: int, in_channels: int, image_size: int, weights: str | None = None,
             stem: str = "auto") -> nn.Module:
    return create_resnet("resnet18", n_classes, in_channels, image_size, weights, stem)


@register_classifier("resnet50", min_size=MIN_SIZE, order=25,
                     description="ResNet-50, MedMNIST stem (3x3 s1, no max-pool) below 112 px; 23.50 M params")
def resnet50(n_classes: int, in_channels: int, image_size: int, weights: str | None = None,
             stem: str = "auto") -> nn.Module:
    return create_resnet("resnet50", n_classes, in_channels, image_size, weights, stem)

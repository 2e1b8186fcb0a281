"""Argument checks every classifier factory shares, so each bad input gets the same one-line message.

A network that downsamples an image to nothing fails deep inside PyTorch with a shape error that
names no option; checking ``image_size`` against the entry's ``min_size`` up front lets the user see
which ``--image-size`` or classifier to pick instead.
"""
from __future__ import annotations

from augbench.core.errors import UserError


def check_inputs(name: str, *, n_classes: int, in_channels: int, image_size: int, min_size: int) -> None:
    if int(n_classes) < 2:
        raise UserError(f"classifier {name!r} needs at least 2 classes, got n_classes={n_classes}.",
                        "pass the dataset's number of classes (2 for a binary task).")
    if int(in_channels) not in (1, 3):
        raise UserError(f"classifier {name!r} takes 1- or 3-channel images, got in_channels={in_channels}.",
                        "convert the images to grayscale or RGB.")
    if int(image_size) < int(min_size):
        raise UserError(
            f"classifier {name!r} needs images of at least {min_size} px, got {image_size} px.",
            f"use --image-size >= {min_size} or another classifier (e.g. small-cnn or resnet18).",
        )

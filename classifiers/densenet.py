"""MONAI's DenseNet-121 in 2-D, trained from scratch.

Its 7x7 stride-2 stem, max-pool and three average-pooling transitions divide the image by 32, so
anything under 32 px reaches a zero-sized map; ``min_size=32`` turns that into a clear message.
"""
from __future__ import annotations

from torch import nn

from augbench.classifiers import register_classifier
from augbench.classifiers._checks import check_inputs
from augbench.classifiers.weights import load_weights

MIN_SIZE = 32


@register_classifier("densenet121", min_size=MIN_SIZE, order=30,
                     description="MONAI DenseNet121 (spatial_dims=2), ~7 M params; needs >= 32 px")
def densenet121(n_classes: int, in_channels: int, image_size: int, weights: str | None = None) -> nn.Module:
    check_inputs("densenet121", n_classes=n_classes, in_channels=in_channels, image_size=image_size,
                 min_size=MIN_SIZE)
    from monai.networks.nets import DenseNet121  # monai is slow to import; only pay when used

    model = DenseNet121(spatial_dims=2, in_channels=int(in_channels), out_channels=int(n_classes),
                        pretrained=False)
    return load_weights(model, weights) if weights else model

"""A small, fast CNN: the classifier for quick CPU runs and smoke tests of the whole grid.

Three 3x3 conv-BatchNorm-ReLU blocks (32-64-128 channels, max-pool after the first two) and global
average pooling: about 0.1 M parameters and 7.4 M multiply-adds per 28 px image, so it works
unchanged at 28, 32 and 64 px and trains an order of magnitude faster than ResNet-18 on CPU.
"""
from __future__ import annotations

from torch import nn

from augbench.classifiers import register_classifier
from augbench.classifiers._checks import check_inputs
from augbench.classifiers.weights import load_weights

MIN_SIZE = 8


def _block(cin: int, cout: int, pool: bool) -> list[nn.Module]:
    layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return layers + [nn.MaxPool2d(2)] if pool else layers


class SmallCNN(nn.Module):
    def __init__(self, n_classes: int, in_channels: int, width: int = 32, dropout: float = 0.2):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            *_block(in_channels, w, pool=True), *_block(w, 2 * w, pool=True), *_block(2 * w, 4 * w, pool=False),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, n_classes))

    def forward(self, x):
        return self.head(self.features(x))


@register_classifier("small-cnn", min_size=MIN_SIZE, order=10,
                     description="3-conv BatchNorm CNN with global pooling, ~0.1 M params; fast on CPU")
def small_cnn(n_classes: int, in_channels: int, image_size: int, weights: str | None = None) -> nn.Module:
    check_inputs("small-cnn", n_classes=n_classes, in_channels=in_channels, image_size=image_size,
                 min_size=MIN_SIZE)
    model = SmallCNN(int(n_classes), int(in_channels))
    return load_weights(model, weights) if weights else model

"""VGG-11 (configuration A) and VGG-16 (configuration D): torchvision's convolutional trunks, built
without weights, with a head narrowed for small medical images.

After five max-pools a 32 px image is a 1x1 map, which torchvision's 7x7 adaptive pool merely copies
49 times into a 25088-input layer: 102 M parameters computing what a 512-input layer can. Global
average pooling plus 512-4096-4096-``n_classes`` keeps VGG's two dropout FC layers, works at any
size >= 32 px, and cuts VGG-16 from 138 M to about 34 M parameters and VGG-11 from 133 M to about
28 M (and skips building and initialising the big layer at all). At 64 px (a 2x2 map) the pooling
discards the 2x2 layout that torchvision's head would have kept. The first conv takes ``in_channels``.

``VGG(batch_norm=True)`` builds torchvision's ``_bn`` trunks; no ``_bn`` entry is registered because
VGG-16 with BatchNorm was not clearly better than without under the shared protocol (both at chance
balanced accuracy after the quick preset's few steps): docs/performance.md, "VGG-16 with and
without BatchNorm".
"""
from __future__ import annotations

from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from augbench.classifiers import register_classifier
from augbench.classifiers._checks import check_inputs
from augbench.classifiers.weights import load_weights, require_weights_file

MIN_SIZE = 32
CONFIGS = {"vgg11": "A", "vgg16": "D"}  # torchvision's names for the VGG paper's configurations


class VGG(nn.Module):
    def __init__(self, config: str, n_classes: int, in_channels: int, batch_norm: bool = False,
                 hidden: int = 4096, dropout: float = 0.5):
        super().__init__()
        self.features = make_layers(cfgs[config], batch_norm=batch_norm)
        self.features[0] = nn.Conv2d(in_channels, self.features[0].out_channels, kernel_size=3, padding=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(512, hidden), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )
        for m in self.modules():  # torchvision's VGG initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def build_vgg(name: str, n_classes: int, in_channels: int, image_size: int, weights: str | None) -> nn.Module:
    check_inputs(name, n_classes=n_classes, in_channels=in_channels, image_size=image_size, min_size=MIN_SIZE)
    path = require_weights_file(weights) if weights else None
    model = VGG(CONFIGS[name], int(n_classes), int(in_channels))
    return load_weights(model, path) if path else model


@register_classifier("vgg11", min_size=MIN_SIZE, order=35,
                     description="VGG-11 (torchvision config A), global-pool 512-4096-4096 head, "
                                 "28.11 M params; >= 32 px")
def vgg11(n_classes: int, in_channels: int, image_size: int, weights: str | None = None) -> nn.Module:
    return build_vgg("vgg11", n_classes, in_channels, image_size, weights)


@register_classifier("vgg16", min_size=MIN_SIZE, order=40,
                     description="VGG-16 (torchvision config D), global-pool 512-4096-4096 head, "
                                 "33.60 M params; >= 32 px")
def vgg16(n_classes: int, in_channels: int, image_size: int, weights: str | None = None) -> nn.Module:
    return build_vgg("vgg16", n_classes, in_channels, image_size, weights)

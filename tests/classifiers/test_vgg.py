import pytest
import torch
from torch import nn

from augbench.classifiers import classifier_entry, create_classifier
from augbench.core.errors import UserError

TORCHVISION_VGG16_PARAMS = 138_357_544  # torchvision's documented count (3 channels, 1000 classes)


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_forward_shape(size, channels):
    model = create_classifier("vgg16", n_classes=5, in_channels=channels, image_size=size)
    with torch.no_grad():
        out = model.eval()(torch.zeros(2, channels, size, size))
    assert out.shape == (2, 5)


def test_smaller_than_32_px_is_a_user_error():
    assert classifier_entry("vgg16").meta["min_size"] == 32
    with pytest.raises(UserError, match=r"--image-size >= 32"):
        create_classifier("vgg16", n_classes=2, in_channels=3, image_size=28)


def test_trunk_is_configuration_d_with_narrowed_head():
    model = create_classifier("vgg16", n_classes=2, in_channels=1, image_size=32)
    # VGG paper, configuration D: 13 3x3 convs in five stages of 64, 128, 256, 512, 512 channels
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 5
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert convs[0].in_channels == 1
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d)
    # from torchvision's published count: 1-channel first conv, 512-input first FC, 2-way last FC
    expected = (TORCHVISION_VGG16_PARAMS - 3 * 64 * 9 + 1 * 64 * 9
                - 25088 * 4096 + 512 * 4096 - (4096 * 1000 + 1000) + (4096 * 2 + 2))
    assert sum(p.numel() for p in model.parameters()) == expected

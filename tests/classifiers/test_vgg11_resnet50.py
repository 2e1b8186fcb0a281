"""vgg11 and resnet50 (and the unregistered VGG-16-BN trunk perf/vgg_batchnorm.py trains) against
torchvision's own networks.

Reference counts are computed from torchvision's models in the test (built on the meta device, so
the 100 M-parameter ImageNet heads cost no memory), with the same layers swapped as augbench swaps
them; nothing here is a number read off augbench's output.
"""
from __future__ import annotations

import re

import pytest
import torch
import torchvision
from torch import nn

from augbench.classifiers import classifier_entry, create_classifier, create_seeded_classifier
from augbench.classifiers import resnet as resnet_module
from augbench.classifiers import vgg as vgg_module
from augbench.classifiers.weights import save_weights
from augbench.core.errors import UserError


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def torchvision_model(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return getattr(torchvision.models, name)(weights=None, **kwargs)


def torchvision_vgg_with_small_head(name: str, in_channels: int, n_classes: int) -> nn.Module:
    """torchvision's VGG with the first conv, the 25088-input FC and the last FC swapped as augbench does."""
    model = torchvision_model(name)
    with torch.device("meta"):
        model.features[0] = nn.Conv2d(in_channels, 64, kernel_size=3, padding=1)
        model.classifier[0] = nn.Linear(512, 4096)
        model.classifier[6] = nn.Linear(4096, n_classes)
    return model


def torchvision_resnet_with_medmnist_stem(name: str, in_channels: int, n_classes: int) -> nn.Module:
    model = torchvision_model(name, num_classes=n_classes)
    with torch.device("meta"):
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    return model


def convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def described_millions(name: str) -> float:
    match = re.search(r"(\d+\.\d+) M params", classifier_entry(name).meta["description"])
    assert match, f"{name}'s description states no parameter count"
    return float(match.group(1))


# --- VGG -----------------------------------------------------------------------------------------

def ours(name: str, in_channels: int, n_classes: int) -> nn.Module:
    """A registered VGG, or the VGG-16-BN trunk (not registered: docs/performance.md)."""
    if name == "vgg16_bn":
        return vgg_module.VGG("D", n_classes, in_channels, batch_norm=True)
    return create_classifier(name, n_classes=n_classes, in_channels=in_channels, image_size=32)


@pytest.mark.parametrize("name, batch_norm", [("vgg11", False), ("vgg16", False), ("vgg16_bn", True)])
def test_vgg_trunk_is_torchvision_configuration(name, batch_norm):
    model = ours(name, 1, 2)
    reference = torchvision_model(name)
    mine, theirs = convs(model.features), convs(reference.features)
    assert [c.out_channels for c in mine] == [c.out_channels for c in theirs]
    assert len(mine) == {"vgg11": 8, "vgg16": 13, "vgg16_bn": 13}[name]  # the VGG paper's configurations A and D
    assert all(c.kernel_size == (3, 3) for c in mine)
    assert mine[0].in_channels == 1
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 5
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert n_bn == (len(mine) if batch_norm else 0)
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d) and model.avgpool.output_size == 1


@pytest.mark.parametrize("name", ["vgg11", "vgg16", "vgg16_bn"])
@pytest.mark.parametrize("channels, n_classes", [(1, 2), (3, 7)])
def test_vgg_parameter_count_is_torchvision_with_the_small_head(name, channels, n_classes):
    model = ours(name, channels, n_classes)
    assert n_params(model) == n_params(torchvision_vgg_with_small_head(name, channels, n_classes))


@pytest.mark.parametrize("name", ["vgg11", "vgg16"])
def test_vgg_below_32_px_is_a_clear_user_error(name):
    assert classifier_entry(name).meta["min_size"] == 32
    with pytest.raises(UserError, match=rf"{name}.*at least 32 px.*--image-size >= 32"):
        create_classifier(name, n_classes=2, in_channels=1, image_size=28)


def test_vgg11_forward_shape():
    model = create_classifier("vgg11", n_classes=4, in_channels=3, image_size=32).eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 4)


# --- ResNet-50 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [28, 64])
def test_resnet50_has_the_medmnist_stem_below_112_px(size):
    model = create_classifier("resnet50", n_classes=2, in_channels=1, image_size=size)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1) and model.conv1.in_channels == 1
    assert isinstance(model.maxpool, nn.Identity)
    x = torch.zeros(2, 1, size, size)
    with torch.no_grad():
        assert model.eval()(x).shape == (2, 2)
        # the MedMNIST stem keeps full resolution into the first bottleneck stage
        assert model.layer1(model.relu(model.bn1(model.conv1(x)))).shape == (2, 256, size, size)


def test_resnet50_is_torchvision_resnet50_with_the_stem_and_head_swapped():
    model = create_classifier("resnet50", n_classes=2, in_channels=1, image_size=28)
    reference = torchvision_resnet_with_medmnist_stem("resnet50", 1, 2)
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert all(isinstance(b, torchvision.models.resnet.Bottleneck) for i in range(1, 5)
               for b in getattr(model, f"layer{i}"))
    assert len(convs(model)) == len(convs(reference)) == 53  # 1 stem + 16 blocks x 3 + 4 downsample convs
    assert n_params(model) == n_params(reference)
    assert model.fc.in_features == 2048 and model.fc.out_features == 2


def test_resnet50_imagenet_stem_from_112_px_is_torchvision_resnet50():
    model = create_classifier("resnet50", n_classes=1000, in_channels=3, image_size=224)
    assert n_params(model) == n_params(torchvision_model("resnet50"))
    assert model.conv1.kernel_size == (7, 7) and model.conv1.stride == (2, 2)
    assert isinstance(model.maxpool, nn.MaxPool2d)


def test_resnet50_below_min_size_is_a_clear_user_error():
    min_size = classifier_entry("resnet50").meta["min_size"]
    assert min_size == 8  # three stride-2 stages take 8 px to 1 px
    with pytest.raises(UserError, match=rf"resnet50.*at least {min_size} px.*--image-size >= {min_size}"):
        create_classifier("resnet50", n_classes=2, in_channels=1, image_size=min_size - 1)


def test_resnet50_stem_option_is_checked():
    with pytest.raises(UserError, match="stem"):
        create_classifier("resnet50", n_classes=2, in_channels=1, image_size=28, stem="cifar")


# --- shared: descriptions, no downloads, weights files -------------------------------------------

@pytest.mark.parametrize("name", ["vgg11", "vgg16", "resnet50", "resnet18"])
def test_described_parameter_count_is_the_built_networks(name):
    size = classifier_entry(name).meta["min_size"]
    model = create_classifier(name, n_classes=2, in_channels=1, image_size=max(size, 28))
    assert described_millions(name) == round(n_params(model) / 1e6, 2)


@pytest.mark.parametrize("name", ["vgg11", "resnet50"])
def test_builds_without_downloading(name, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    create_classifier(name, n_classes=2, in_channels=1, image_size=32)


@pytest.mark.parametrize("name, size", [("vgg11", 32), ("resnet50", 28)])
def test_weights_file_round_trip(name, size, tmp_path):
    kwargs = dict(n_classes=2, in_channels=1, image_size=size)
    source = create_seeded_classifier(name, 1, **kwargs).eval()
    path = save_weights(source, tmp_path / "weights.pt")
    fresh = create_seeded_classifier(name, 2, **kwargs)
    assert not torch.equal(convs(fresh)[0].weight, convs(source)[0].weight)
    loaded = create_classifier(name, weights=str(path), **kwargs).eval()
    for (key, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), key
    x = torch.rand(2, 1, size, size) * 2 - 1
    with torch.no_grad():
        assert torch.equal(source(x), loaded(x))


def test_weights_of_another_classifier_do_not_fit(tmp_path):
    path = save_weights(create_classifier("vgg11", n_classes=2, in_channels=1, image_size=32), tmp_path / "w.pt")
    with pytest.raises(UserError, match="do not fit"):
        create_classifier("vgg16", n_classes=2, in_channels=1, image_size=32, weights=str(path))


def _refuse_to_build(*args, **kwargs):
    raise AssertionError("built the network before checking the weights file")


@pytest.mark.parametrize("name", ["vgg11", "vgg16"])
def test_missing_vgg_weights_file_fails_before_building(name, tmp_path, monkeypatch):
    monkeypatch.setattr(vgg_module, "VGG", _refuse_to_build)
    path = tmp_path / "nowhere" / f"{name}.pt"
    with pytest.raises(UserError, match="does not exist") as err:
        create_classifier(name, n_classes=2, in_channels=1, image_size=32, weights=str(path))
    assert str(path) in str(err.value)


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_missing_resnet_weights_file_fails_before_building(name, tmp_path, monkeypatch):
    monkeypatch.setitem(resnet_module.ARCHS, name, _refuse_to_build)
    path = tmp_path / "nowhere" / f"{name}.pt"
    with pytest.raises(UserError, match="does not exist") as err:
        create_classifier(name, n_classes=2, in_channels=1, image_size=28, weights=str(path))
    assert str(path) in str(err.value)

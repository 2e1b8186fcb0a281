import pytest
import torch
from torch import nn

from augbench.classifiers import create_classifier, create_seeded_classifier
from augbench.classifiers.weights import save_weights
from augbench.core.errors import UserError

# torchvision's documented parameter count for resnet18 (ImageNet: 3 channels, 7x7 stem, 1000 classes).
TORCHVISION_RESNET18_PARAMS = 11_689_512


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_forward_shape_at_each_size(size, channels):
    model = create_classifier("resnet18", n_classes=3, in_channels=channels, image_size=size).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, channels, size, size))
    assert out.shape == (2, 3)


def test_parameter_count_matches_medmnist_figure():
    model = create_classifier("resnet18", n_classes=2, in_channels=1, image_size=28)
    # from torchvision's published count: swap the 7x7x3 stem for a 3x3x1 one and the 1000-way head for 2-way
    expected = (TORCHVISION_RESNET18_PARAMS - 7 * 7 * 3 * 64 + 3 * 3 * 1 * 64
                - (512 * 1000 + 1000) + (512 * 2 + 2))
    assert n_params(model) == expected
    assert round(n_params(model) / 1e6, 2) == 11.17  # MedMNIST's reported size


def test_imagenet_stem_is_torchvision_resnet18():
    model = create_classifier("resnet18", n_classes=1000, in_channels=3, image_size=224)
    assert n_params(model) == TORCHVISION_RESNET18_PARAMS
    assert model.conv1.kernel_size == (7, 7) and model.conv1.stride == (2, 2)
    assert isinstance(model.maxpool, nn.MaxPool2d)


@pytest.mark.parametrize("size", [28, 64])
def test_medmnist_stem_below_112_px(size):
    model = create_classifier("resnet18", n_classes=2, in_channels=1, image_size=size)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)


def test_stem_can_be_forced_and_is_checked():
    model = create_classifier("resnet18", n_classes=2, in_channels=1, image_size=64, stem="imagenet")
    assert model.conv1.stride == (2, 2)
    with pytest.raises(UserError, match="stem"):
        create_classifier("resnet18", n_classes=2, in_channels=1, image_size=64, stem="cifar")


def test_builds_without_downloading(monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    create_classifier("resnet18", n_classes=2, in_channels=1, image_size=28)


def test_weights_file_round_trip(tmp_path):
    source = create_seeded_classifier("resnet18", 1, n_classes=2, in_channels=1, image_size=28)
    path = save_weights(source, tmp_path / "w.pt")
    fresh = create_seeded_classifier("resnet18", 2, n_classes=2, in_channels=1, image_size=28)
    assert not torch.equal(fresh.conv1.weight, source.conv1.weight)
    loaded = create_classifier("resnet18", n_classes=2, in_channels=1, image_size=28, weights=str(path))
    for (name, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(source.eval()(x), loaded.eval()(x))


def test_missing_weights_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "resnet.pt"
    with pytest.raises(UserError, match="does not exist") as err:
        create_classifier("resnet18", n_classes=2, in_channels=1, image_size=28, weights=str(path))
    assert str(path) in str(err.value)


def test_mismatched_weights_file_is_a_user_error(tmp_path):
    path = save_weights(create_classifier("resnet18", n_classes=3, in_channels=1, image_size=28), tmp_path / "w.pt")
    with pytest.raises(UserError, match="do not fit"):
        create_classifier("resnet18", n_classes=2, in_channels=1, image_size=28, weights=str(path))


def test_seeded_creation_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = create_seeded_classifier("resnet18", 5, n_classes=2, in_channels=1, image_size=28)
    assert torch.equal(torch.rand(3), expected_next)
    b = create_seeded_classifier("resnet18", 5, n_classes=2, in_channels=1, image_size=28)
    c = create_seeded_classifier("resnet18", 6, n_classes=2, in_channels=1, image_size=28)
    assert torch.equal(a.fc.weight, b.fc.weight)
    assert not torch.equal(a.fc.weight, c.fc.weight)

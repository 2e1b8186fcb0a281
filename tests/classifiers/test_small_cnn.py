import pytest
import torch

from augbench.classifiers import classifier_entry, create_classifier
from augbench.core.errors import UserError


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_forward_shape_at_each_size(size, channels):
    model = create_classifier("small-cnn", n_classes=7, in_channels=channels, image_size=size).eval()
    with torch.no_grad():
        out = model(torch.rand(2, channels, size, size) * 2 - 1)
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


def test_is_small():
    model = create_classifier("small-cnn", n_classes=2, in_channels=1, image_size=28)
    assert sum(p.numel() for p in model.parameters()) < 200_000


def test_registered_with_min_size_and_rejects_smaller_images():
    min_size = classifier_entry("small-cnn").meta["min_size"]
    create_classifier("small-cnn", n_classes=2, in_channels=1, image_size=min_size)
    with pytest.raises(UserError, match="--image-size >= "):
        create_classifier("small-cnn", n_classes=2, in_channels=1, image_size=min_size - 1)


def test_rejects_other_channel_counts():
    with pytest.raises(UserError, match="in_channels=4"):
        create_classifier("small-cnn", n_classes=2, in_channels=4, image_size=28)

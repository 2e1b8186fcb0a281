import numpy as np
import pytest
import torch
from monai.networks.nets import DenseNet121

from augbench.classifiers import classifier_entry, create_classifier
from augbench.classifiers.training import TrainConfig, train_classifier
from augbench.core.errors import UserError
from augbench.datasets.types import Split


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_forward_shape(size, channels):
    model = create_classifier("densenet121", n_classes=4, in_channels=channels, image_size=size)
    assert isinstance(model, DenseNet121)
    with torch.no_grad():
        out = model.eval()(torch.zeros(2, channels, size, size))
    assert out.shape == (2, 4)


def test_smaller_than_32_px_is_a_user_error():
    assert classifier_entry("densenet121").meta["min_size"] == 32
    with pytest.raises(UserError, match=r"--image-size >= 32 or another classifier"):
        create_classifier("densenet121", n_classes=2, in_channels=1, image_size=28)


def test_one_training_step_at_32_px():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 32, 32, 1), dtype=np.uint8)
    labels = np.array([0, 1, 0, 1, 0, 1])
    model = create_classifier("densenet121", n_classes=2, in_channels=1, image_size=32)
    before = model.class_layers.out.weight.detach().clone()
    result = train_classifier(model, Split(images[:4], labels[:4]), Split(images[4:], labels[4:]),
                              TrainConfig(epochs=1, batch_size=4), n_classes=2)
    assert result.images_seen == 4
    assert np.isfinite(result.history[0]["train_loss"])
    assert not torch.equal(before, model.class_layers.out.weight.detach().cpu())

"""The Inception path without its weights file: pytorch-fid's network with weight loading stubbed.

With PyTorch's default init every pooled feature is ~1e-8 and all FIDs are 0, so the convolutions
are re-initialised (Kaiming normal) to make the features respond to the input.
"""
import numpy as np
import pytest
import pytorch_fid.inception
import torch
import torchvision
from torch import nn

import augbench.benchmark.fidelity.inception as inception_module
from augbench.benchmark.fidelity import (ExtractorUnavailable, default_weights_path, fid_from_features,
                                fidelity_params, inception_extractor)
from augbench.core.errors import UserError


def no_download(*args, **kwargs):
    raise AssertionError("a download was attempted")


def random_fid_inception_state(path):
    torch.manual_seed(0)
    # pytorch-fid's patched blocks keep torchvision's parameter names, so this state dict fits
    net = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
    return net.state_dict()


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    placeholder = tmp_path_factory.mktemp("weights") / "pt_inception.pth"
    placeholder.write_bytes(b"")  # only its existence is checked before the (stubbed) read
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(inception_module, "_read_state_dict", random_fid_inception_state)
        mp.setattr(pytorch_fid.inception, "load_state_dict_from_url", no_download)
        ex = inception_extractor(str(placeholder), image_size=75)
        # our temporary redirection of pytorch-fid's loader must be undone after the build
        assert pytorch_fid.inception.load_state_dict_from_url is no_download
    return ex


def blobs(rng, n, brightness):
    return rng.normal(brightness, 30, size=(n, 28, 28, 1)).clip(0, 255).astype(np.uint8)


def test_missing_default_file_is_reported_with_its_path_and_nothing_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(pytorch_fid.inception, "load_state_dict_from_url", no_download)
    expected = tmp_path / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    assert default_weights_path() == expected
    with pytest.raises(ExtractorUnavailable) as info:
        inception_extractor()
    assert str(expected) in info.value.reason
    assert isinstance(info.value, UserError)


def test_missing_explicit_file_names_that_file(tmp_path):
    missing = tmp_path / "nowhere" / "inception.pth"
    with pytest.raises(ExtractorUnavailable, match="nowhere"):
        inception_extractor(str(missing))


def test_too_small_input_size_is_refused(tmp_path):
    with pytest.raises(UserError, match="at least 75"):
        inception_extractor(str(tmp_path / "x.pth"), image_size=32)


def test_names_say_the_input_size(extractor):
    assert extractor.name == "inception-v3-pool3@75px"
    assert extractor.key == "inception_75px"
    params = fidelity_params(extractor)
    assert params["fidelity_inception_75px_name"] == "inception-v3-pool3@75px"
    assert params["fidelity_inception_75px_dims"] == 2048
    assert params["fidelity_inception_75px_image_size"] == 75


def test_features_are_2048_d_for_gray_and_rgb(extractor):
    rng = np.random.default_rng(0)
    gray = extractor.features(blobs(rng, 3, 100))
    rgb = extractor.features(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8))
    assert gray.shape == (3, 2048) and rgb.shape == (2, 2048)
    assert gray.dtype == np.float64 and gray.std() > 1e-4


def test_fid_same_distribution_is_below_different_distribution(extractor):
    rng = np.random.default_rng(1)
    real = extractor.features(blobs(rng, 30, 100))
    same = extractor.features(blobs(rng, 30, 100))
    other = extractor.features(blobs(rng, 30, 170))
    fid_same, fid_other = fid_from_features(real, same), fid_from_features(real, other)
    assert fid_same < fid_other / 10

"""The contract every registered classifier keeps, checked over ``classifier_names()``.

The list is read at collection time, so a network is held to this contract the day it registers.
Contract: logits of shape (N, n_classes) for grey and RGB input at each of 28/32/64 px that its
``min_size`` meta allows, a UserError naming the minimum below it, seeded construction that gives
identical weights (and leaves the caller's RNG alone), and a state_dict save/load round trip.
Only forward passes on two images: no training, so even VGG-16 stays cheap on one CPU thread.
"""
from __future__ import annotations

import pytest
import torch

from augbench.classifiers import classifier_entry, classifier_names, create_classifier, create_seeded_classifier
from augbench.classifiers.weights import save_weights
from augbench.core.errors import UserError

NAMES = classifier_names()
SIZES = (28, 32, 64)
CHANNELS = (1, 3)
N_CLASSES = 3  # differs from both channel counts and the batch size, so a swapped axis shows
BATCH = 2


def min_size(name: str) -> int:
    value = classifier_entry(name).meta.get("min_size")
    assert isinstance(value, int) and value > 0, f"classifier {name!r} must declare an int min_size meta"
    return value


def smallest_allowed(name: str) -> int:
    allowed = [s for s in SIZES if s >= min_size(name)]
    assert allowed, f"{name!r} accepts none of {SIZES}"
    return allowed[0]


def inputs(channels: int, size: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(BATCH, channels, size, size, generator=g) * 2 - 1  # the documented [-1, 1] range


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_registry_is_not_empty():
    assert NAMES, "no classifier registered"


@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", NAMES)
def test_logits_shape_or_min_size_refusal(name, size, channels):
    kwargs = dict(n_classes=N_CLASSES, in_channels=channels, image_size=size)
    if size < min_size(name):
        with pytest.raises(UserError, match=rf"{name}.*\b{min_size(name)} px"):
            create_classifier(name, **kwargs)
        return
    model = create_seeded_classifier(name, 0, **kwargs).eval()
    with torch.no_grad():
        logits = model(inputs(channels, size))
    assert logits.shape == (BATCH, N_CLASSES) and logits.dtype == torch.float32
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", NAMES)
def test_seeded_construction_is_reproducible(name):
    kwargs = dict(n_classes=N_CLASSES, in_channels=1, image_size=smallest_allowed(name))
    before = torch.random.get_rng_state()
    a = create_seeded_classifier(name, 7, **kwargs)
    b = create_seeded_classifier(name, 7, **kwargs)
    assert torch.equal(before, torch.random.get_rng_state()), "seeded construction moved the global RNG"
    assert_same_weights(a, b)
    other = create_seeded_classifier(name, 8, **kwargs).state_dict()
    assert any(not torch.equal(t, other[k]) for k, t in a.state_dict().items() if t.is_floating_point()), \
        "another seed gave identical weights"


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name, tmp_path):
    size = smallest_allowed(name)
    kwargs = dict(n_classes=N_CLASSES, in_channels=3, image_size=size)
    model = create_seeded_classifier(name, 0, **kwargs).eval()
    x = inputs(3, size, seed=1)
    with torch.no_grad():
        expected = model(x)

    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    fresh = create_seeded_classifier(name, 1, **kwargs)  # different weights until loaded
    fresh.load_state_dict(torch.load(path, weights_only=True))
    assert_same_weights(model, fresh)

    save_weights(model, tmp_path / "via_weights.pt")  # the public path: create_classifier(weights=...)
    reloaded = create_classifier(name, weights=str(tmp_path / "via_weights.pt"), **kwargs)
    with torch.no_grad():
        for other in (fresh.eval(), reloaded.eval()):
            torch.testing.assert_close(other(x), expected, rtol=0, atol=0)

"""Conditional SN-GAN: spectral normalisation and the hinge loss (the shared GAN checks, the critic
schedule included, run over every conditional GAN in test_gan_contract.py)."""
import pytest
import torch
from torch import nn

from augbench.generators import create_generator
from tests.generators import gan_checks as checks

NAME = "sngan"


def test_critic_is_spectrally_normalised_without_norm_layers():
    from torch.nn.utils import parametrize

    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=2, n_critic=2, **checks.TINY).fit(images, labels, 3, seed=0)
    layers = [m for m in gen.D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not {type(m) for m in gen.D.modules()} & {nn.BatchNorm2d, nn.GroupNorm}
    assert not any(parametrize.is_parametrized(m) for m in gen.G.modules())
    for m in layers:  # the normalised weight's largest singular value is 1 (one power step per forward)
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
        assert 0.8 < float(sigma) <= 1.05


def test_hinge_loss():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=2, n_critic=3, **checks.TINY).fit(images, labels, 3, seed=0)
    assert len(gen.history) == 2
    for h in gen.history:  # hinge: relu(1 - D(x)) + relu(1 + D(G(z))) is never below 0 ...
        assert h["d_loss"] >= 0
        # ... and equals 2 - mean D(x) + mean D(G(z)) while every score is inside (-1, 1)
        if abs(h["d_real"]) < 0.5 and abs(h["d_fake"]) < 0.5:
            assert h["d_loss"] == pytest.approx(2 - h["d_real"] + h["d_fake"], abs=0.5)


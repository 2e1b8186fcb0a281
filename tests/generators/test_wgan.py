"""Conditional WGAN with weight clipping: clipping, RMSProp and its divergence test (the shared GAN
checks, the critic schedule included, run over every conditional GAN in test_gan_contract.py)."""
import pytest
import torch

from augbench.core.errors import UserError
from augbench.generators import DivergenceError, create_generator
from tests.generators import gan_checks as checks

NAME = "wgan"


def test_divergence_is_reported():
    # lr=1e30 on both players is not enough here: clipping pins every critic weight to +-clip, so the
    # critic stays bounded. A generator learning rate that large still blows up and must be reported.
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=20, lr_g=1e30, **checks.TINY)
    with pytest.raises(DivergenceError, match=f"{NAME}.*diverged.*learning rate"):
        gen.fit(images, labels, 3, seed=0)
    with pytest.raises(RuntimeError, match="no trained generator"):
        gen.sample(0, 2)


def test_critic_weights_stay_clipped_but_the_label_plane_is_free():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=3, clip=0.02, **checks.TINY).fit(images, labels, 3, seed=0)
    plane = gen.D.trunk.label_plane.weight
    others = [p for p in gen.D.parameters() if p is not plane]
    assert others and all(p.abs().max() <= 0.02 + 1e-7 for p in others)
    assert any(p.abs().max() > 0.0199 for p in others)  # the clip bound is actually reached
    assert plane.abs().max() > 0.02  # the label plane acts on y, not x, and is not clipped


def test_uses_rmsprop_and_refuses_adam_betas(monkeypatch):
    made = []
    original = torch.optim.RMSprop.__init__

    def recording(self, params, **kw):
        made.append(kw)
        original(self, params, **kw)

    monkeypatch.setattr(torch.optim.RMSprop, "__init__", recording)
    images, labels = checks.random_images(28, 1)
    create_generator(NAME, steps=1, **checks.TINY).fit(images, labels, 3, seed=0)
    assert made == [{"lr": 5e-5}, {"lr": 5e-5}]  # G and critic, the paper's learning rate
    info = create_generator(NAME).describe()
    assert "beta1" not in info and "beta2" not in info
    with pytest.raises(UserError, match="unknown setting"):
        create_generator(NAME, beta1=0.5)
    for bad in ({"clip": 0}, {"clip": -0.01}, {"clip": True}, {"critic_norm": "spectral"}):
        with pytest.raises(UserError):
            create_generator(NAME, **bad)

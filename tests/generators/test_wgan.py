"""Conditional WGAN with weight clipping: the shared GAN checks plus clipping, RMSProp and the critic schedule."""
import numpy as np  # noqa: F401
import pytest
import torch  # noqa: F401

pytest.register_assert_rewrite("tests.generators.gan_checks")

from torch import nn  # noqa: E402,F401

from augbench.core.errors import UserError  # noqa: E402,F401
from augbench.generators import GENERATORS, DivergenceError, create_generator, generator_names  # noqa: E402,F401
from augbench.generators._gan_utils import BatchStream  # noqa: E402,F401
from tests.generators import gan_checks as checks  # noqa: E402

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


def test_critic_takes_n_critic_real_batches_per_generator_step(monkeypatch):
    drawn = []
    original = BatchStream.__next__

    def counting(self):
        drawn.append(1)
        return original(self)

    monkeypatch.setattr(BatchStream, "__next__", counting)
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=2, n_critic=3, **checks.TINY).fit(images, labels, 3, seed=0)
    assert len(drawn) == 2 * 3 and gen.real_batches_per_step == 3


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
    with pytest.raises(UserError, match="unknown setting"):
        create_generator(NAME, beta1=0.5)
    for bad in ({"clip": 0}, {"clip": -0.01}, {"critic_norm": "spectral"}):
        with pytest.raises(UserError):
            create_generator(NAME, **bad)


def test_describe_reports_the_paper_settings():
    info = checks.check_describe(NAME, n_critic=5, clip=0.01, critic_norm="batch")
    assert "beta1" not in info and "beta2" not in info
    assert create_generator(NAME).describe()["lr_d"] == 5e-5


def test_conditional_fit_produces_the_requested_class():
    # one critic update per step at 10x the paper's rate: the paper's schedule needs far more steps
    # than a unit test can afford (100 steps at n_critic=5, lr=5e-5 left class 1 at chance)
    checks.check_conditional_fit(NAME, seed=0, steps=200, n_critic=1, lr=5e-4)

"""Conditional LSGAN: the shared GAN checks plus its least-squares targets."""
import numpy as np  # noqa: F401
import pytest
import torch  # noqa: F401

pytest.register_assert_rewrite("tests.generators.gan_checks")

from torch import nn  # noqa: E402,F401

from augbench.core.errors import UserError  # noqa: E402,F401
from augbench.generators import GENERATORS, DivergenceError, create_generator, generator_names  # noqa: E402,F401
from augbench.generators._gan_utils import BatchStream  # noqa: E402,F401
from tests.generators import gan_checks as checks  # noqa: E402

NAME = "lsgan"


def test_losses_are_the_least_squares_ones():
    """d_loss = 0.5 E(D(x)-b)^2 + 0.5 E(D(G(z))-a)^2 >= 0; with all targets at 0 and a D that outputs
    0 everywhere the loss must be exactly 0, which no BCE loss can be."""
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=2, **checks.TINY).fit(images, labels, 3, seed=0)
    assert all(h["d_loss"] >= 0 and h["g_loss"] >= 0 for h in gen.history)
    zero = create_generator(NAME, steps=1, lr=0.0, ls_a=0.0, ls_b=0.0, ls_c=0.0, **checks.TINY)
    zero.build = _zero_critic(zero.build)
    zero.fit(images, labels, 3, seed=0)
    assert zero.history[0]["d_loss"] == 0.0 and zero.history[0]["g_loss"] == 0.0


def _zero_critic(build):
    def wrapped():
        nets = build()
        with torch.no_grad():
            nets["discriminator"].head.weight.zero_()
            nets["discriminator"].head.bias.zero_()
        return nets
    return wrapped


def test_describe_reports_the_paper_targets():
    checks.check_describe(NAME, ls_a=0.0, ls_b=1.0, ls_c=1.0, beta1=0.5, embed_dim=32)


def test_conditional_fit_produces_the_requested_class():
    checks.check_conditional_fit(NAME, seed=0, steps=200)

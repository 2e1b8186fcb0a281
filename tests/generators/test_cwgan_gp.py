"""Conditional WGAN-GP: its penalty and normalisation rules (the shared GAN checks, the critic
schedule included, run over every conditional GAN in test_gan_contract.py)."""
import pytest
from torch import nn

from augbench.core.errors import UserError
from augbench.generators import create_generator
from tests.generators import gan_checks as checks

NAME = "cwgan-gp"


def test_gradient_penalty_is_logged_and_never_negative():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=2, n_critic=3, **checks.TINY).fit(images, labels, 3, seed=0)
    assert len(gen.history) == 2 and all(h["gp"] >= 0 for h in gen.history)


def test_critic_has_no_batch_norm():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=1, **checks.TINY).fit(images, labels, 3, seed=0)
    kinds = {type(m) for m in gen.D.modules()}
    assert not kinds & {nn.BatchNorm1d, nn.BatchNorm2d} and nn.GroupNorm in kinds
    with pytest.raises(UserError, match="critic_norm"):
        create_generator(NAME, critic_norm="batch")

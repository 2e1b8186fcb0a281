"""Conditional LSGAN: its least-squares targets (the shared GAN checks run over every conditional
GAN in test_gan_contract.py)."""
import torch

from augbench.generators import create_generator
from tests.generators import gan_checks as checks

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


"""InfoGAN with the class as categorical code: its codes and Q head (the shared GAN checks run over
every conditional GAN in test_gan_contract.py)."""
import numpy as np
import pytest
import torch

from augbench.core.errors import UserError
from augbench.generators import create_generator
from tests.generators import gan_checks as checks

NAME = "infogan"


def test_latent_has_noise_and_uniform_continuous_codes():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=1, latent_dim=6, n_continuous=3, **checks.TINY).fit(images, labels, 3)
    latent = gen._latent(torch.zeros(4000, dtype=torch.long), torch.Generator().manual_seed(0))
    assert latent.shape == (4000, 9)
    codes = latent[:, 6:]
    assert codes.min() >= -1 and codes.max() <= 1 and abs(codes.mean().item()) < 0.05
    assert abs(latent[:, :6].std().item() - 1) < 0.05  # Gaussian noise part


def test_history_has_information_terms():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=3, **checks.TINY).fit(images, labels, 3, seed=0)
    assert all(h["info_loss"] > 0 and h["sup_loss"] > 0 for h in gen.history)
    # without continuous codes the information term is the class cross-entropy alone
    gen = create_generator(NAME, steps=1, n_continuous=0, **checks.TINY).fit(images, labels, 3, seed=0)
    assert np.isfinite(gen.history[-1]["info_loss"])


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_n_continuous_must_be_a_whole_number_that_may_be_zero(bad):
    with pytest.raises(UserError, match="n_continuous.*non-negative integer"):
        create_generator(NAME, n_continuous=bad)

"""InfoGAN with the class as categorical code: the shared GAN checks plus its codes and Q head."""
import numpy as np
import pytest
import torch

pytest.register_assert_rewrite("tests.generators.gan_checks")

from augbench.generators import GENERATORS, create_generator, generator_names  # noqa: E402
from tests.generators import gan_checks as checks  # noqa: E402

NAME = "infogan"


def test_registered_as_learned_arm():
    assert NAME in generator_names()
    entry = GENERATORS.get(NAME)
    assert entry.meta["learned"] and entry.meta["order"] == 22
    assert create_generator(NAME).learned


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_fit_and_sample_every_resolution(size, channels):
    checks.check_fit_and_sample(NAME, size, channels)


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


def test_sampling_is_deterministic():
    checks.check_deterministic_sampling(NAME)


def test_save_load_round_trip(tmp_path):
    checks.check_save_load_round_trip(NAME, tmp_path)


def test_divergence_is_reported():
    checks.check_divergence_is_reported(NAME)


def test_nan_mid_run_stops_the_fit():
    checks.check_nan_mid_run_stops_the_fit(NAME)


def test_bad_input_is_a_user_error():
    checks.check_bad_input_is_a_user_error(NAME)


def test_describe_reports_infogan_defaults():
    checks.check_describe(NAME, latent_dim=62, n_continuous=2, cat_weight=1.0, cont_weight=1.0)


def test_conditional_fit_produces_the_requested_class():
    checks.check_conditional_fit(NAME, seed=0, steps=300)


def test_amp_training_runs():
    checks.check_amp_training(NAME)

"""Class-conditional DCGAN: the shared GAN checks plus what is specific to its BCE game."""
import pytest

pytest.register_assert_rewrite("tests.generators.gan_checks")

from augbench.generators import GENERATORS, create_generator, generator_names  # noqa: E402
from tests.generators import gan_checks as checks  # noqa: E402

NAME = "dcgan"


def test_registered_as_learned_arm():
    assert NAME in generator_names()
    entry = GENERATORS.get(NAME)
    assert entry.meta["learned"] and entry.meta["order"] == 20
    assert create_generator(NAME).learned


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_fit_and_sample_every_resolution(size, channels):
    checks.check_fit_and_sample(NAME, size, channels)


def test_history_holds_discriminator_probabilities():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=3, **checks.TINY).fit(images, labels, 3, seed=0)
    assert all(0 <= h["d_real"] <= 1 and 0 <= h["d_fake"] <= 1 for h in gen.history)


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


def test_describe_reports_dcgan_defaults():
    checks.check_describe(NAME, beta1=0.5, beta2=0.999, latent_dim=100, embed_dim=32)


def test_conditional_fit_produces_the_requested_class():
    checks.check_conditional_fit(NAME, seed=0, steps=200)


def test_amp_training_runs():
    checks.check_amp_training(NAME)

"""Conditional WGAN-GP: the shared GAN checks plus the critic schedule and normalisation rules."""
import pytest

pytest.register_assert_rewrite("tests.generators.gan_checks")

from torch import nn  # noqa: E402

from augbench.core.errors import UserError  # noqa: E402
from augbench.generators import GENERATORS, create_generator, generator_names  # noqa: E402
from augbench.generators._gan_utils import BatchStream  # noqa: E402
from tests.generators import gan_checks as checks  # noqa: E402

NAME = "cwgan-gp"


def test_registered_as_learned_arm():
    assert NAME in generator_names()
    entry = GENERATORS.get(NAME)
    assert entry.meta["learned"] and entry.meta["order"] == 21
    assert create_generator(NAME).learned


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_fit_and_sample_every_resolution(size, channels):
    checks.check_fit_and_sample(NAME, size, channels)


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
    assert all(h["gp"] >= 0 for h in gen.history)


def test_critic_has_no_batch_norm():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=1, **checks.TINY).fit(images, labels, 3, seed=0)
    kinds = {type(m) for m in gen.D.modules()}
    assert not kinds & {nn.BatchNorm1d, nn.BatchNorm2d} and nn.GroupNorm in kinds
    with pytest.raises(UserError, match="critic_norm"):
        create_generator(NAME, critic_norm="batch")


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


def test_describe_reports_the_wgan_gp_settings():
    checks.check_describe(NAME, n_critic=5, gp_weight=10.0, beta1=0.5, beta2=0.9, critic_norm="layer")
    assert create_generator(NAME).describe()["lr_d"] == 2e-4


def test_conditional_fit_produces_the_requested_class():
    checks.check_conditional_fit(NAME, seed=0, steps=100)


def test_amp_training_runs():
    checks.check_amp_training(NAME)

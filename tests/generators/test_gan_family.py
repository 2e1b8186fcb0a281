"""The shared GAN checks (tests/generators/gan_checks.py) for the arms added after the first five
GANs, in one place; each arm's own file tests what is particular to its loss and critic."""
import pytest

pytest.register_assert_rewrite("tests.generators.gan_checks")

from augbench.generators import GENERATORS, create_generator, expand_generators, generator_names  # noqa: E402
from tests.generators import gan_checks as checks  # noqa: E402

ORDER = {'wgan': 25, 'lsgan': 26, 'sngan': 27, 'acgan': 28, 'opengan': 29}  # registration order: after bagan-gp, before ddpm
ARMS = pytest.mark.parametrize("name", list(ORDER))


@ARMS
def test_registered_as_learned_arm_after_the_existing_gans(name):
    assert name in generator_names() and name in expand_generators("all")  # --generators all runs it
    entry = GENERATORS.get(name)
    assert entry.meta["learned"] and entry.meta["order"] == ORDER[name]
    assert entry.meta["order"] > GENERATORS.get("bagan-gp").meta["order"]
    assert create_generator(name).learned


@ARMS
def test_sampling_is_deterministic(name):
    checks.check_deterministic_sampling(name)


@ARMS
def test_save_load_round_trip(name, tmp_path):
    checks.check_save_load_round_trip(name, tmp_path)


@ARMS
def test_nan_mid_run_stops_the_fit(name):
    checks.check_nan_mid_run_stops_the_fit(name)


@ARMS
def test_bad_input_is_a_user_error(name):
    checks.check_bad_input_is_a_user_error(name)


@ARMS
def test_amp_training_runs(name):
    checks.check_amp_training(name)


#: wider nets where the 2-step, 4-channel eval output is flat at some size (see check_fit_and_sample_with)
RESOLUTION_SETTINGS = {"lsgan": {"base_channels": 8}, "opengan": {"base_channels": 8}}


@ARMS
@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_fit_and_sample_every_resolution(name, size, channels):
    checks.check_fit_and_sample_with(name, size, channels, **RESOLUTION_SETTINGS.get(name, {}))


@pytest.mark.parametrize("name", [n for n in ORDER if n != "wgan"])  # wgan's own file: clipping keeps it finite
def test_divergence_is_reported(name):
    checks.check_divergence_is_reported(name)

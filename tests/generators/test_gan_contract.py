"""The contract every conditional GAN keeps (the arms on generators/_conditional_gan.py's template),
checked once over all of them with the shared checks of gan_checks.py.

The arm list is read at collection time, so a new GAN on the template is held to this contract the
day it registers; the tables below give each arm's paper defaults and the settings under which its
short conditional fit must pass the bar judge. An arm's own file tests only what is particular to
its loss and critic.
"""
import pytest

pytest.register_assert_rewrite("tests.generators.gan_checks")

from augbench.generators import GENERATORS, create_generator, generator_names  # noqa: E402
from augbench.generators._conditional_gan import ConditionalGAN  # noqa: E402
from augbench.generators._gan_utils import BatchStream  # noqa: E402
from tests.generators import gan_checks as checks  # noqa: E402

GANS = [n for n in generator_names() if issubclass(GENERATORS.get(n).factory, ConditionalGAN)]
ARMS = pytest.mark.parametrize("name", GANS)

#: what each arm's describe() reports with its defaults (the paper's settings) besides steps/lr
DESCRIBED = {
    "dcgan": dict(beta1=0.5, beta2=0.999, latent_dim=100, embed_dim=32, lr_d=2e-4),
    "cwgan-gp": dict(n_critic=5, gp_weight=10.0, beta1=0.5, beta2=0.9, critic_norm="layer", lr_d=2e-4),
    "infogan": dict(latent_dim=62, n_continuous=2, cat_weight=1.0, cont_weight=1.0, lr_d=2e-4),
    "wgan": dict(n_critic=5, clip=0.01, critic_norm="batch", lr_d=5e-5),
    "lsgan": dict(ls_a=0.0, ls_b=1.0, ls_c=1.0, beta1=0.5, embed_dim=32, lr_d=2e-4),
    "sngan": dict(n_critic=5, beta1=0.0, beta2=0.9, lr_d=2e-4),
    "acgan": dict(aux_weight=1.0, beta1=0.5, beta2=0.999, embed_dim=32, lr_d=2e-4),
    "opengan": dict(feat_dim=32, feature_noise=0.2, consistency_weight=1.0, beta1=0.5, lr_d=2e-4),
}

#: the short fit under which each arm's samples must show the requested bar (seed 0, >= 80 %)
CONDITIONAL_FIT = {
    "dcgan": dict(steps=200),
    "cwgan-gp": dict(steps=100),
    "infogan": dict(steps=300),
    # one critic update per step at 10x the paper's rate: the paper's schedule needs far more steps
    # than a unit test can afford (100 steps at n_critic=5, lr=5e-5 left class 1 at chance)
    "wgan": dict(steps=200, n_critic=1, lr=5e-4),
    "lsgan": dict(steps=200),
    # one critic update per step keeps this at dcgan's cost; the 5-update default is checked below
    "sngan": dict(steps=200, n_critic=1),
    "acgan": dict(steps=200),
    "opengan": dict(steps=200, encoder_steps=100, encoder_channels=8),
}

#: wider nets where the 2-step, 4-channel eval output is flat at some size (see check_fit_and_sample)
RESOLUTION_SETTINGS = {"lsgan": {"base_channels": 8}, "opengan": {"base_channels": 8}}

#: arms that lr=1e30 cannot make diverge, with their own divergence test (test_wgan: clipping keeps
#: the critic bounded)
BOUNDED_CRITIC = {"wgan"}


def test_every_gan_has_its_tables():
    assert GANS, "no conditional GAN registered"
    for table in (DESCRIBED, CONDITIONAL_FIT):
        assert set(table) == set(GANS), f"add the new arm to every table of {__file__}"


@ARMS
@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_fit_and_sample_every_resolution(name, size, channels):
    checks.check_fit_and_sample(name, size, channels, **RESOLUTION_SETTINGS.get(name, {}))


@ARMS
def test_sampling_is_deterministic(name):
    checks.check_deterministic_sampling(name)


@ARMS
def test_save_load_round_trip(name, tmp_path):
    checks.check_save_load_round_trip(name, tmp_path)


@pytest.mark.parametrize("name", [n for n in GANS if n not in BOUNDED_CRITIC])
def test_divergence_is_reported(name):
    checks.check_divergence_is_reported(name)


@ARMS
def test_nan_mid_run_stops_the_fit(name):
    checks.check_nan_mid_run_stops_the_fit(name)


@ARMS
def test_bad_input_is_a_user_error(name):
    checks.check_bad_input_is_a_user_error(name)


@ARMS
def test_amp_training_runs(name):
    checks.check_amp_training(name)


@ARMS
def test_describe_reports_the_paper_settings(name):
    expected = dict(DESCRIBED[name])
    lr_d = expected.pop("lr_d")
    checks.check_describe(name, **expected)
    assert create_generator(name).describe()["lr_d"] == lr_d


@ARMS
def test_critic_takes_its_real_batches_per_generator_step(name, monkeypatch):
    """``n_critic`` critic updates, each on a fresh real batch, per generator update (1 without the
    setting); a phase before the GAN (opengan's encoder) draws one batch per step of its own."""
    drawn = []
    original = BatchStream.__next__

    def counting(self):
        drawn.append(1)
        return original(self)

    monkeypatch.setattr(BatchStream, "__next__", counting)
    images, labels = checks.random_images(28, 1)
    per_step = 3 if "n_critic" in create_generator(name).config else 1
    settings = {"n_critic": per_step} if per_step > 1 else {}
    gen = create_generator(name, steps=2, **settings, **checks.tiny(name)).fit(images, labels, 3, seed=0)
    assert len(drawn) == checks.pre_steps(gen) + 2 * per_step and gen.real_batches_per_step == per_step


@ARMS
def test_conditional_fit_produces_the_requested_class(name):
    checks.check_conditional_fit(name, seed=0, **CONDITIONAL_FIT[name])

"""ddpm: shapes at every resolution, DDIM maths against a Gaussian with a known answer, seeded and
guided sampling, persistence, divergence, settings, and a short conditional fit on bar images."""
import math

import numpy as np
import pytest
import torch

from augbench.core.errors import UserError
from augbench.generators import DivergenceError, create_generator
from augbench.generators._diffusion import alphas_cumprod, ddim_sample, predicted_x0, q_sample, training_target
from tests.generators.gan_checks import bars, bars_classifier, random_images

NAME = "ddpm"
TINY = {"base_channels": 8, "num_res_blocks": 1, "batch_size": 4, "ddim_steps": 3}


def tiny_fit(size=28, channels=1, steps=2, seed=0, **config):
    images, labels = random_images(size, channels)
    return create_generator(NAME, steps=steps, **{**TINY, **config}).fit(images, labels, 3, seed=seed)


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_fit_and_sample_every_resolution(size, channels):
    gen = tiny_fit(size, channels)
    for label in range(3):
        out = gen.sample(label, 3, seed=label)
        assert out.shape == (3, size, size, channels) and out.dtype == np.uint8
        assert out.std() > 0
    assert [h["step"] for h in gen.history] == [2]
    assert all(math.isfinite(h["loss"]) for h in gen.history)


def test_history_and_progress_follow_the_steps():
    calls = []
    images, labels = random_images(28, 1)
    gen = create_generator(NAME, steps=5, log_every=2, **TINY)
    gen.fit(images, labels, 3, seed=0, progress=lambda s, t: calls.append((s, t)))
    assert calls == [(s, 5) for s in range(1, 6)]
    assert [h["step"] for h in gen.history] == [2, 4, 5]


# --- the diffusion maths, independent of any network -------------------------------------------
@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_schedules_go_from_clean_to_pure_noise(schedule):
    abar = alphas_cumprod(schedule, 1000)
    assert abar.shape == (1000,) and torch.all(abar[1:] < abar[:-1])
    assert abar[0] > 0.999 and abar[-1] < 1e-3


def test_linear_schedule_matches_ho_et_al():
    # betas 1e-4 .. 0.02 over 1000 steps: abar_1 = 1 - 1e-4, abar_T = prod(1 - beta_t)
    betas = np.linspace(1e-4, 0.02, 1000)
    np.testing.assert_allclose(alphas_cumprod("linear", 1000).numpy(), np.cumprod(1 - betas), rtol=1e-10)


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_the_training_target_identifies_x0(prediction):
    g = torch.Generator().manual_seed(0)
    abar = alphas_cumprod("cosine", 1000)
    x0, noise = torch.rand(4, 1, 5, 5, generator=g) * 2 - 1, torch.randn(4, 1, 5, 5, generator=g)
    for t in (0, 500, 999):
        tt = torch.full((4,), t)
        x_t = q_sample(x0.double(), tt, noise.double(), abar)
        target = training_target(prediction, x0.double(), noise.double(), tt, abar)
        np.testing.assert_allclose(predicted_x0(prediction, target, x_t, float(abar[t])).numpy(), x0.numpy(),
                                   atol=1e-6)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_turns_noise_into_the_data_distribution(eta):
    """For data ~ N(0, s^2) the ideal denoiser is E[x0 | x_t] = sqrt(a) s^2 x_t / (a s^2 + 1 - a); DDIM
    driven by it must map N(0, 1) noise to samples with standard deviation s."""
    s = 0.5
    abar = alphas_cumprod("cosine", 1000)

    def ideal_x0(x, t):
        a = float(abar[t])
        return math.sqrt(a) * s * s * x / (a * s * s + 1 - a)

    g = torch.Generator().manual_seed(0)
    x_t = torch.randn(20000, 1, dtype=torch.float64, generator=g)
    out = ddim_sample(ideal_x0, x_t, abar, 200, eta=eta, clip=False, generator=g)
    assert abs(out.std().item() - s) < 0.03
    assert abs(out.mean().item()) < 0.02


# --- sampling ------------------------------------------------------------------------------------
def test_ddim_sampling_is_deterministic_for_a_seed():
    gen = tiny_fit(sample_batch_size=4)
    a = gen.sample(1, 10, seed=5)
    np.testing.assert_array_equal(a, gen.sample(1, 10, seed=5))
    assert not np.array_equal(a, gen.sample(1, 10, seed=6))
    assert not np.array_equal(a, gen.sample(2, 10, seed=5))  # the class changes the image
    # chunking must not change what a seed yields (up to float rounding: conv kernels differ by batch size)
    gen.config["sample_batch_size"] = 256
    diff = np.abs(a.astype(int) - gen.sample(1, 10, seed=5))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99
    # one seed, one model (dropout included), whatever the global RNG did before; and the fit
    # leaves the caller's global RNG where it was
    torch.rand(1000)
    state = torch.get_rng_state()
    again = tiny_fit(sample_batch_size=4)
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(a, again.sample(1, 10, seed=5))


def test_stochastic_ddim_is_still_seeded():
    gen = tiny_fit(eta=1.0)
    a = gen.sample(0, 4, seed=3)
    np.testing.assert_array_equal(a, gen.sample(0, 4, seed=3))
    gen.config["eta"] = 0.0
    assert not np.array_equal(a, gen.sample(0, 4, seed=3))


def test_guidance_scale_changes_samples():
    gen = tiny_fit(steps=3)
    gen.config["guidance_scale"] = 1.0
    plain = gen.sample(0, 6, seed=1)
    assert not np.array_equal(plain, gen.sample(1, 6, seed=1))
    gen.config["guidance_scale"] = 4.0
    assert not np.array_equal(plain, gen.sample(0, 6, seed=1))
    gen.config["guidance_scale"] = 0.0  # purely unconditional: the requested class no longer matters
    np.testing.assert_array_equal(gen.sample(0, 6, seed=1), gen.sample(1, 6, seed=1))


def test_number_of_ddim_steps_is_configurable():
    gen = tiny_fit(ddim_steps=2)
    few = gen.sample(0, 4, seed=0)
    gen.config["ddim_steps"] = 8
    assert not np.array_equal(few, gen.sample(0, 4, seed=0))


# --- persistence, errors, settings ---------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    gen = tiny_fit(32, 3, schedule="linear", prediction="eps")
    path = tmp_path / "ddpm.pt"
    gen.save(path)
    fresh = create_generator(NAME)  # default (bigger) architecture: the saved shapes must win
    fresh.config.update(ddim_steps=TINY["ddim_steps"])  # sampler settings are the instance's
    fresh.load(path)
    assert fresh.n_classes == 3 and fresh.image_shape == (32, 32, 3)
    for label in range(3):
        np.testing.assert_array_equal(gen.sample(label, 4, seed=11), fresh.sample(label, 4, seed=11))
    assert torch.load(path, weights_only=True)["name"] == NAME


def test_divergence_is_reported():
    images, labels = random_images(28, 1)
    gen = create_generator(NAME, steps=10, lr=1e30, **TINY)
    with pytest.raises(DivergenceError, match="ddpm.*diverged at step 2.*learning rate"):
        gen.fit(images, labels, 3, seed=0)
    with pytest.raises(RuntimeError, match="no trained generator"):
        gen.sample(0, 2)


def test_bad_settings_and_input_are_user_errors():
    for bad in ({"stpes": 10}, {"schedule": "quadratic"}, {"ddim_steps": 0}, {"ddim_steps": 2000},
                {"prediction": "x0"}, {"guidance_scale": -1}, {"p_uncond": 1.0},
                {"p_uncond": 0.0, "guidance_scale": 2.0}):
        with pytest.raises(UserError):
            create_generator(NAME, **bad)
    images, labels = random_images(28, 1)
    with pytest.raises(UserError, match="n_classes"):
        create_generator(NAME, steps=1, **TINY).fit(images, labels, 2)
    gen = create_generator(NAME, steps=1, **TINY).fit(images, labels, 3)
    with pytest.raises(UserError, match="class 3"):
        gen.sample(3, 2)


def test_describe_reports_the_defaults():
    info = create_generator(NAME, steps=7).describe()
    assert info["steps"] == 7
    expected = {"timesteps": 1000, "schedule": "cosine", "ddim_steps": 50, "guidance_scale": 1.5,
                "p_uncond": 0.1, "prediction": "v", "base_channels": 64}
    assert {k: info[k] for k in expected} == expected
    assert all(isinstance(v, (int, float, str, bool)) for v in info.values())


# --- does conditioning work? -----------------------------------------------------------------------
def test_conditional_fit_produces_the_requested_class():
    """150 steps of a tiny U-Net on 2 x 64 bar images; a logistic regression fitted on REAL bars must
    recognise >= 80 % of each class's samples. With guidance 0 the label is ignored, so the same
    check must fail for one of the classes: the check can tell a conditional model from one that isn't."""
    clf = bars_classifier()
    images, labels = bars(64, seed=0)
    gen = create_generator(NAME, steps=150, batch_size=16, lr=2e-3, base_channels=8, num_res_blocks=1,
                           dropout=0.0, ddim_steps=10, guidance_scale=2.0).fit(images, labels, 2, seed=0)

    def accuracy(label):
        samples = gen.sample(label, 50, seed=7)
        return (clf.predict(samples.reshape(len(samples), -1) / 255.0) == label).mean()

    for label in (0, 1):
        assert accuracy(label) >= 0.8, f"class {label}: {accuracy(label):.2f} of samples recognised"
    gen.config["guidance_scale"] = 0.0
    assert min(accuracy(0), accuracy(1)) < 0.8

"""bagan backend: every resolution, class Gaussians with shrinkage, encoder->discriminator init,
fake-label draws, persistence, NaN stop, and a short conditional fit judged on real-image terms."""
import numpy as np
import pytest
import torch

from augbench.core.errors import DataError, UserError
from augbench.generators import DivergenceError, create_generator
from augbench.generators.bagan import fit_class_gaussians, latent_grid
from tests.generators.gan_checks import bars as bars_dataset, bars_classifier as real_pixel_classifier, label_accuracy

TINY = dict(ae_epochs=1, gan_steps=1, batch_size=4, width=0.125)


def _random_images(n, size, channels, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def _assert_spd(cov):
    assert np.allclose(cov, cov.T, atol=1e-10)
    assert np.linalg.eigvalsh(cov).min() > 0


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_fit_and_sample_every_resolution(size, channels):
    images = _random_images(6, size, channels)
    gen = create_generator("bagan", **TINY).fit(images, np.array([0, 1, 2, 0, 1, 2]), 3, seed=1)
    out = gen.sample(1, 5, seed=7)
    assert out.dtype == np.uint8 and out.shape == (5, size, size, channels)
    assert np.array_equal(out, gen.sample(1, 5, seed=7))
    assert [h["phase"] for h in gen.history] == ["ae", "gan"]
    assert {"d_loss", "g_loss"} <= set(gen.history[-1])
    # discriminator: one softmax output per class plus "fake"
    assert gen.nets["discriminator"].head.out_features == 3 + 1


def test_reference_layout_start_grid():
    assert [latent_grid(s) for s in (28, 32, 64)] == [7, 8, 8]


def test_shrunk_covariance_is_spd_with_three_images_in_a_class():
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(0, 1, (50, 100)), rng.normal(3, 2, (3, 100))])
    labels = np.array([0] * 50 + [1] * 3)
    assert np.linalg.matrix_rank(np.cov(codes[labels == 1].T)) == 2  # the plain estimate is singular
    means, covs = fit_class_gaussians(codes, labels, 2)
    for c in (0, 1):
        _assert_spd(covs[c])
        np.linalg.cholesky(covs[c])
    assert np.allclose(means[1], codes[labels == 1].mean(axis=0))


def test_covariance_estimate_converges_with_many_codes():
    """Shrinkage must vanish as data grows: with n >> p the estimate approaches the true covariance."""
    rng = np.random.default_rng(1)
    true_sd = np.linspace(0.5, 3.0, 10)
    codes = rng.normal(0, 1, (20000, 10)) * true_sd
    _, covs = fit_class_gaussians(codes, np.zeros(20000, dtype=np.int64), 1)
    assert np.allclose(np.diag(covs[0]), true_sd ** 2, rtol=0.05)
    corr = covs[0] / np.sqrt(np.outer(np.diag(covs[0]), np.diag(covs[0])))
    assert np.abs(corr - np.eye(10)).max() < 0.04


def test_backend_samples_a_class_with_three_images():
    images = _random_images(13, 28, 1)
    labels = np.array([0] * 10 + [1] * 3)
    gen = create_generator("bagan", ae_epochs=1, gan_steps=1, batch_size=8, width=0.125).fit(images, labels, 2)
    cov = (gen.chol[1] @ gen.chol[1].T).double().numpy()
    _assert_spd(cov)
    z = gen._class_latents(torch.ones(20000, dtype=torch.long), torch.Generator().manual_seed(0))
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(z.mean(0).numpy() - gen.means[1].numpy()) < 5 * sd / np.sqrt(20000))
    assert np.allclose(z.std(0).numpy(), sd, rtol=0.05)
    assert gen.sample(1, 4, seed=0).shape == (4, 28, 28, 1)


def test_discriminator_starts_from_encoder_and_generator_from_decoder():
    images, labels = bars_dataset(8, seed=3, size=32)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    errors = {}
    for ae_epochs in (0, 10):
        gen = create_generator("bagan", ae_epochs=ae_epochs, gan_epochs=0, batch_size=8, width=0.125,
                               lr=1e-3).fit(images, labels, 2, seed=0)
        enc, disc = gen.nets["encoder"].trunk.state_dict(), gen.nets["discriminator"].trunk.state_dict()
        assert enc.keys() == disc.keys() and all(torch.equal(enc[k], disc[k]) for k in enc)
        with torch.no_grad():
            errors[ae_epochs] = torch.mean((gen.nets["generator"](gen.nets["encoder"].eval()(x)) - x) ** 2).item()
    # the generator is the decoder the autoencoder phase trained: it now reconstructs encoded images
    assert errors[10] < 0.5 * errors[0]


@pytest.mark.parametrize("mode,expected_rare_share", [("uniform", 0.5), ("rebalance", 0.9)])
def test_fake_labels_rebalance_classes(mode, expected_rare_share):
    images = _random_images(20, 28, 1)
    labels = np.array([0] * 18 + [1] * 2)  # 90% / 10%
    gen = create_generator("bagan", **{**TINY, "fake_labels": mode}).fit(images, labels, 2)
    drawn = gen._fake_labels(20000, torch.Generator().manual_seed(0)).numpy()
    assert np.mean(drawn == 1) == pytest.approx(expected_rare_share, abs=0.02)
    assert gen.describe()["fake_labels"] == mode


def test_save_load_round_trip(tmp_path):
    images, labels = _random_images(6, 28, 3), np.array([0, 1, 0, 1, 0, 1])
    gen = create_generator("bagan", **TINY).fit(images, labels, 2, seed=0)
    gen.save(tmp_path / "g.pt")
    loaded = create_generator("bagan").load(tmp_path / "g.pt")
    assert loaded.describe()["width"] == 0.125
    for label in (0, 1):
        assert np.array_equal(gen.sample(label, 6, seed=11), loaded.sample(label, 6, seed=11))


def test_same_seed_same_model():
    images, labels = _random_images(6, 28, 1), np.array([0, 1, 0, 1, 0, 1])
    a = create_generator("bagan", **TINY).fit(images, labels, 2, seed=3).sample(0, 4, seed=0)
    b = create_generator("bagan", **TINY).fit(images, labels, 2, seed=3).sample(0, 4, seed=0)
    c = create_generator("bagan", **TINY).fit(images, labels, 2, seed=4).sample(0, 4, seed=0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("config,bad_loss", [(dict(ae_epochs=2, lr=1e30), r" loss=(nan|inf)"),
                                             (dict(ae_epochs=1, gan_steps=3, lr=1e30), r" loss=")])
def test_divergence_stops_the_fit(config, bad_loss):
    images, labels = _random_images(8, 28, 1), np.array([0, 1] * 4)
    gen = create_generator("bagan", batch_size=4, width=0.125, **{"gan_steps": 1, **config})
    with pytest.raises(DivergenceError, match=bad_loss):
        gen.fit(images, labels, 2)


def test_bad_inputs_give_user_errors():
    with pytest.raises(UserError, match="unknown setting"):
        create_generator("bagan", epochs=3)
    with pytest.raises(UserError, match="fake_labels"):
        create_generator("bagan", fake_labels="minority")
    with pytest.raises(UserError, match="28, 32 or 64"):
        create_generator("bagan", **TINY).fit(_random_images(4, 28, 2), np.array([0, 1, 0, 1]), 2)
    gen = create_generator("bagan", **TINY).fit(_random_images(4, 28, 1), np.array([0, 0, 0, 0]), 2)
    with pytest.raises(DataError, match="no training images"):
        gen.sample(1, 3)


def test_short_fit_generates_the_requested_class():
    """Horizontal vs vertical bars at 28 px: a pixel classifier fitted on real images must label
    the class-c samples as c (chance is 50%)."""
    images, labels = bars_dataset(32, seed=0)
    gen = create_generator("bagan", ae_epochs=20, gan_steps=10, batch_size=32, width=0.25,
                           lr=1e-3).fit(images, labels, 2, seed=0)
    clf = real_pixel_classifier()
    for c in (0, 1):
        assert label_accuracy(clf, gen.sample(c, 100, seed=5), c) >= 0.8

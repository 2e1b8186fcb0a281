"""latent-smote: shapes at every resolution, the SMOTE segment property, the one-image fallback,
seeded sampling, persistence, divergence, settings, and a short conditional fit on bar images."""
import math

import numpy as np
import pytest
import torch

from augbench.core.errors import UserError
from augbench.generators import DivergenceError, create_generator
from augbench.generators.latent_smote import smote_latents
from tests.generators.gan_checks import bars, bars_classifier, random_images

NAME = "latent-smote"
TINY = {"base_channels": 8, "latent_dim": 16, "batch_size": 4, "epochs": 1}


def tiny_fit(size=28, channels=1, seed=0, images=None, labels=None, n_classes=3, **config):
    if images is None:
        images, labels = random_images(size, channels)
    return create_generator(NAME, **{**TINY, **config}).fit(images, labels, n_classes, seed=seed)


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_fit_and_sample_every_resolution(size, channels):
    gen = tiny_fit(size, channels)
    for label in range(3):
        out = gen.sample(label, 3, seed=label)
        assert out.shape == (3, size, size, channels) and out.dtype == np.uint8
        assert out.std() > 0
    # 12 images in batches of 4: 3 steps per epoch
    assert [h["step"] for h in gen.history] == [3]
    assert all(math.isfinite(v) for h in gen.history for v in h.values())


# --- SMOTE -------------------------------------------------------------------------------------------
def _nearest(latents, i, k):
    d = np.linalg.norm(latents - latents[i], axis=1)
    d[i] = np.inf
    return set(np.argsort(d)[:k].tolist())


def test_smote_points_lie_on_segments_to_same_class_neighbours():
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(12, 5)).astype(np.float32)
    new, (i, j, lam) = smote_latents(latents, 300, 3, np.random.default_rng(1))
    assert new.shape == (300, 5)
    assert np.all((lam >= 0) & (lam <= 1)) and lam.std() > 0.2  # spread over the segment, not endpoints
    np.testing.assert_allclose(new, latents[i] + lam[:, None] * (latents[j] - latents[i]), rtol=1e-6, atol=1e-6)
    for a, b in zip(i, j):
        assert b != a and b in _nearest(latents, a, 3)
    assert len(set(i.tolist())) == 12  # every point serves as a base
    # the same rng seed gives the same points
    np.testing.assert_array_equal(new, smote_latents(latents, 300, 3, np.random.default_rng(1))[0])


def test_k_is_capped_at_class_size_minus_one():
    latents = np.random.default_rng(0).normal(size=(4, 3))
    _, (i, j, _) = smote_latents(latents, 200, 50, np.random.default_rng(0))
    assert np.all(i != j)
    assert {(a, b) for a, b in zip(i, j)} == {(a, b) for a in range(4) for b in range(4) if a != b}
    with pytest.raises(ValueError):
        smote_latents(latents[:1], 5, 5, np.random.default_rng(0))


def test_samples_decode_smote_points_of_their_own_class():
    images, labels = random_images(28, 1, n=15)
    gen = tiny_fit(images=images, labels=labels)
    codes = gen.class_latents(2)
    assert len(codes) == int((labels == 2).sum())
    expected, _ = smote_latents(codes, 7, gen.config["k_neighbors"], np.random.default_rng(9))
    np.testing.assert_array_equal(gen.sample(2, 7, seed=9), gen.decode(expected))


def test_one_image_class_falls_back_to_noisy_copies_with_a_warning():
    images, labels = random_images(28, 1, n=9)
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2])  # class 2 has a single image
    gen = tiny_fit(images=images, labels=labels)
    with pytest.warns(UserWarning, match="single training image"):
        out = gen.sample(2, 6, seed=0)
    alone = gen.decode(gen.class_latents(2)).astype(int)
    assert not np.all(out == out[0])  # noise makes them differ...
    assert np.abs(out - alone).mean() < np.abs(gen.sample(0, 6, seed=0) - alone).mean()  # ...but stay close
    gen.config["single_noise"] = 0.0
    with pytest.warns(UserWarning):
        np.testing.assert_array_equal(gen.sample(2, 3, seed=0), np.repeat(alone.astype(np.uint8), 3, axis=0))


def test_class_without_images_is_a_user_error():
    images, labels = random_images(28, 1, n=8)
    gen = tiny_fit(images=images, labels=np.arange(8) % 2, n_classes=3)
    with pytest.raises(UserError, match="class 2 has no training images"):
        gen.sample(2, 3)


# --- sampling, persistence, errors, settings ----------------------------------------------------------
def test_sampling_is_deterministic_for_a_seed():
    gen = tiny_fit(sample_batch_size=4)
    a = gen.sample(1, 10, seed=5)
    np.testing.assert_array_equal(a, gen.sample(1, 10, seed=5))
    assert not np.array_equal(a, gen.sample(1, 10, seed=6))
    assert not np.array_equal(a, gen.sample(2, 10, seed=5))
    torch.rand(1000)  # whatever the global RNG did before, one seed gives one model
    np.testing.assert_array_equal(a, tiny_fit(sample_batch_size=4).sample(1, 10, seed=5))


@pytest.mark.parametrize("penalty", ["reference", "permuted", "none"])
def test_penalty_variants_train(penalty):
    gen = tiny_fit(penalty=penalty, epochs=2)
    assert len(gen.history) == 1 and gen.history[0]["step"] == 6
    row = gen.history[0]
    assert math.isclose(row["loss"], row["recon"] + row["penalty"], rel_tol=1e-5)
    assert (row["penalty"] == 0) == (penalty == "none")


def test_save_load_round_trip(tmp_path):
    gen = tiny_fit(32, 3)
    path = tmp_path / "ls.pt"
    gen.save(path)
    fresh = create_generator(NAME)  # default (bigger) architecture: the saved shapes must win
    fresh.load(path)
    assert fresh.n_classes == 3 and fresh.image_shape == (32, 32, 3)
    for label in range(3):
        np.testing.assert_array_equal(gen.sample(label, 5, seed=11), fresh.sample(label, 5, seed=11))
    assert torch.load(path, weights_only=True)["name"] == NAME


def test_divergence_is_reported():
    images, labels = random_images(28, 1)
    gen = create_generator(NAME, **{**TINY, "epochs": 5, "lr": float("inf")})
    with pytest.raises(DivergenceError, match="latent-smote.*diverged at step 2.*learning rate"):
        gen.fit(images, labels, 3, seed=0)
    with pytest.raises(RuntimeError, match="no trained generator"):
        gen.sample(0, 2)


def test_bad_settings_and_input_are_user_errors():
    for bad in ({"epoch": 3}, {"epochs": 0}, {"k_neighbors": 0}, {"penalty": "strong"}, {"batch_size": 1},
                {"single_noise": -1}, {"steps": -1}):
        with pytest.raises(UserError):
            create_generator(NAME, **bad)
    images, labels = random_images(28, 1)
    with pytest.raises(UserError, match="n_classes"):
        tiny_fit(images=images, labels=labels, n_classes=2)


def test_steps_replace_epochs_when_set():
    """A FLOPs budget sets ``steps`` (benchmark/compute.py): an epoch is too coarse a unit to hit it."""
    images, labels = random_images(28, 1)  # 12 images in batches of 4: 3 steps per epoch
    by_epochs = tiny_fit(images=images, labels=labels, epochs=2, log_every=1)
    assert [h["step"] for h in by_epochs.history] == [1, 2, 3, 4, 5, 6]
    by_steps = tiny_fit(images=images, labels=labels, epochs=2, steps=5, log_every=1)
    assert [h["step"] for h in by_steps.history] == [1, 2, 3, 4, 5]
    assert by_steps.length_knob == "steps" and by_steps.training_units(12) == 5
    assert create_generator(NAME, epochs=2, batch_size=4).training_units(12) == 6


def test_describe_reports_the_defaults():
    info = create_generator(NAME, epochs=7).describe()
    expected = {"epochs": 7, "latent_dim": 300, "k_neighbors": 5, "penalty": "reference", "lr": 2e-4}
    assert {k: info[k] for k in expected} == expected
    assert all(isinstance(v, (int, float, str, bool)) for v in info.values())


# --- does it keep the classes apart? ---------------------------------------------------------------------
def test_conditional_fit_produces_the_requested_class():
    """30 epochs of a tiny autoencoder on 2 x 64 bar images; a logistic regression fitted on REAL bars
    must recognise >= 80 % of each class's interpolated samples."""
    clf = bars_classifier()
    images, labels = bars(64, seed=0)
    gen = create_generator(NAME, epochs=30, batch_size=16, lr=2e-3, base_channels=8,
                           latent_dim=16).fit(images, labels, 2, seed=0)
    for label in (0, 1):
        samples = gen.sample(label, 100, seed=7)
        accuracy = (clf.predict(samples.reshape(len(samples), -1) / 255.0) == label).mean()
        assert accuracy >= 0.8, f"class {label}: {accuracy:.2f} of samples recognised"

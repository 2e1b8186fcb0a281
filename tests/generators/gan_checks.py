"""Shared test material for the generator backends: the bar toy set with its real-image judge, and
the checks every conditional GAN backend must pass (parametrised over them in test_gan_contract.py).

The toy set has a known answer: class 0 = a horizontal bar, class 1 = a vertical bar (random position,
thickness and brightness, Gaussian noise). A logistic regression fitted on *real* bars then judges
which class each generated image shows; it cannot be fooled by a generator that ignores the label,
because both classes share one model. Every backend's conditional-fit test uses this one set and
judge, so their thresholds mean the same thing.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from augbench.core.errors import UserError
from augbench.generators import DivergenceError, create_generator

TINY = {"base_channels": 4, "batch_size": 8}
#: per-arm additions to TINY for arms with a phase before the GAN steps (opengan's encoder): one
#: step of it, so the step numbers the checks expect are the GAN's, shifted by that one step
ARM_TINY = {"opengan": {"encoder_steps": 1, "encoder_channels": 4}}


def tiny(name: str) -> dict:
    return {**TINY, **ARM_TINY.get(name, {})}


def numbers(row: dict) -> list:
    """A history record's values without its phase tag."""
    return [v for k, v in row.items() if k != "phase"]


def pre_steps(gen) -> int:
    """History records an arm writes before its first GAN step."""
    return int(gen.config.get("encoder_steps", 0))


def random_images(size: int, channels: int, n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8), np.arange(n) % 3


def bars(n_per_class: int, seed: int, size: int = 28, channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Bar images in uint8 NHWC; the layout scales with ``size`` (at 28 px: bars 4..24, offset 10..15)."""
    rng = np.random.default_rng(seed)
    lo, hi, pos_lo, pos_hi = size // 7, size - size // 7, size * 10 // 28, size * 16 // 28
    images, labels = [], []
    for label in (0, 1):
        for _ in range(n_per_class):
            img = np.full((size, size), 30.0)
            pos, thick, value = rng.integers(pos_lo, pos_hi), rng.integers(2, 5), rng.uniform(180, 250)
            if label == 0:
                img[pos:pos + thick, lo:hi] = value
            else:
                img[lo:hi, pos:pos + thick] = value
            images.append(img + rng.normal(0, 15, img.shape))
            labels.append(label)
    grey = np.clip(np.stack(images), 0, 255).round().astype(np.uint8)[..., None]
    return np.repeat(grey, channels, axis=-1), np.array(labels)


@functools.lru_cache(maxsize=1)
def bars_classifier():
    """Logistic regression on real bar images (pixels scaled to [0, 1]); checked on held-out bars."""
    from sklearn.linear_model import LogisticRegression

    x, y = bars(200, seed=1)
    clf = LogisticRegression(max_iter=2000).fit(x.reshape(len(x), -1) / 255.0, y)
    x_test, y_test = bars(100, seed=2)
    assert clf.score(x_test.reshape(len(x_test), -1) / 255.0, y_test) >= 0.98
    return clf


def label_accuracy(clf, images: np.ndarray, label: int) -> float:
    """Share of ``images`` the real-bar judge assigns to ``label`` (0.5 = chance)."""
    return float((clf.predict(images.reshape(len(images), -1) / 255.0) == label).mean())


# --- the checks -----------------------------------------------------------------------------------
def check_fit_and_sample(name: str, size: int, channels: int, **config) -> None:
    """Two steps at ``size`` px: images of the right shape that are not a constant fill, and one
    finite history record per step. ``config`` goes over TINY for an arm whose 2-step, 4-channel
    eval-mode output is flat at some size: batch-norm running statistics still near their init then
    scale the eval output down layer by layer until it rounds to one grey level (seen for lsgan at
    64 px grey)."""
    images, labels = random_images(size, channels)
    gen = create_generator(name, **{"steps": 2, **tiny(name), **config}).fit(images, labels, 3, seed=0)
    for label in range(3):
        out = gen.sample(label, 5, seed=label)
        assert out.shape == (5, size, size, channels) and out.dtype == np.uint8
        assert out.std() > 0  # a tanh output, not a constant fill
    assert [h["step"] for h in gen.history] == list(range(1, pre_steps(gen) + gen.config["steps"] + 1))
    for row in gen.history[pre_steps(gen):]:
        assert {"d_loss", "g_loss"} <= set(row) and all(np.isfinite(v) for v in numbers(row))


def check_deterministic_sampling(name: str) -> None:
    images, labels = random_images(28, 1)
    gen = create_generator(name, steps=2, sample_chunk=4, **tiny(name)).fit(images, labels, 3, seed=0)
    a, b = gen.sample(1, 10, seed=5), gen.sample(1, 10, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, gen.sample(1, 10, seed=6))
    assert not np.array_equal(a, gen.sample(2, 10, seed=5))  # the class changes the image
    gen.config["sample_chunk"] = 256  # chunking must not change what a seed yields
    np.testing.assert_array_equal(a, gen.sample(1, 10, seed=5))
    # fitting twice with one seed gives one model
    again = create_generator(name, steps=2, sample_chunk=4, **tiny(name)).fit(images, labels, 3, seed=0)
    np.testing.assert_array_equal(a, again.sample(1, 10, seed=5))


def check_save_load_round_trip(name: str, tmp_path) -> None:
    images, labels = random_images(32, 3)
    gen = create_generator(name, steps=2, **tiny(name)).fit(images, labels, 3, seed=0)
    path = tmp_path / f"{name}.pt"
    gen.save(path)
    fresh = create_generator(name)  # default (bigger) architecture: the saved shapes must win
    fresh.load(path)
    assert fresh.n_classes == 3 and fresh.image_shape == (32, 32, 3)
    for label in range(3):
        np.testing.assert_array_equal(gen.sample(label, 6, seed=11), fresh.sample(label, 6, seed=11))
    blob = torch.load(path, weights_only=True)  # loadable without unpickling code
    assert blob["name"] == name


def check_divergence_is_reported(name: str) -> None:
    images, labels = random_images(28, 1)
    gen = create_generator(name, steps=20, lr=1e30, **tiny(name))
    with pytest.raises(DivergenceError, match=f"{name}.*diverged.*learning rate"):
        gen.fit(images, labels, 3, seed=0)
    with pytest.raises(RuntimeError, match="no trained generator"):
        gen.sample(0, 2)


def check_nan_mid_run_stops_the_fit(name: str) -> None:
    """Poison a discriminator weight after step 3: step 4's losses are NaN, and the fit must stop there."""
    images, labels = random_images(28, 1)
    gen = create_generator(name, steps=10, **tiny(name))

    def poison(step, total):
        if step == 3:
            with torch.no_grad():
                next(gen.D.parameters()).fill_(float("nan"))

    # progress and history count one step sequence over all of a fit's phases, so step 4 is the
    # first update after the poison whichever phase it falls in
    with pytest.raises(DivergenceError, match="at step 4"):
        gen.fit(images, labels, 3, seed=0, progress=poison)
    assert [h["step"] for h in gen.history] == [1, 2, 3]


def check_bad_input_is_a_user_error(name: str) -> None:
    with pytest.raises(UserError, match="unknown setting"):
        create_generator(name, stpes=10)
    with pytest.raises(UserError, match="positive integer"):
        create_generator(name, steps=0)
    images, labels = random_images(30, 1)
    with pytest.raises(UserError, match="30 px"):
        create_generator(name, steps=1, **tiny(name)).fit(images, labels, 3)
    images, labels = random_images(28, 1)
    with pytest.raises(UserError, match="n_classes"):
        create_generator(name, steps=1, **tiny(name)).fit(images, labels, 2)
    gen = create_generator(name, steps=1, **tiny(name)).fit(images, labels, 3)
    with pytest.raises(UserError, match="class 3"):
        gen.sample(3, 2)


def check_describe(name: str, **expected) -> dict:
    info = create_generator(name, steps=7, batch_size=16, lr=1e-3).describe()
    assert info["steps"] == 7 and info["batch_size"] == 16 and info["lr_g"] == info["lr_d"] == 1e-3
    for key, value in expected.items():
        assert info[key] == value, key
    assert all(isinstance(v, (int, float, str, bool)) for v in info.values())
    return info


def check_conditional_fit(name: str, *, seed: int, min_accuracy: float = 0.8, **config) -> None:
    """Short fit on the bar data; a real-data classifier must recognise the requested class."""
    clf = bars_classifier()
    images, labels = bars(64, seed=0)
    gen = create_generator(name, batch_size=32, base_channels=8, **config).fit(images, labels, 2, seed=seed)
    for label in (0, 1):
        samples = gen.sample(label, 100, seed=7)
        accuracy = label_accuracy(clf, samples, label)
        assert accuracy >= min_accuracy, f"class {label}: {accuracy:.2f} of samples recognised"


def check_amp_training(name: str) -> None:
    """bfloat16 autocast (the CUDA option) also runs on the CPU: same losses path, finite results."""
    images, labels = random_images(32, 3)
    gen = create_generator(name, steps=2, amp=True, **tiny(name)).fit(images, labels, 3, seed=0)
    assert gen.describe()["amp"] is True
    assert len(gen.history) == pre_steps(gen) + 2 and all(np.isfinite(v) for row in gen.history for v in numbers(row))
    assert gen.sample(2, 4, seed=0).shape == (4, 32, 32, 3)

"""The contract every registered generator arm keeps, checked over ``generator_names()``.

The arm list is read at collection time, so a backend is held to this contract the day it registers,
with no test file of its own yet. Each check is the smallest that can fail: a 2-class, 8-per-class
noise set, one or two optimiser steps and the narrowest networks, so the whole file stays CPU-cheap.

Contract: shapes/dtype at 28/32/64 px grey and RGB, seeded sampling and fitting, save/load giving
the same samples (or logit offsets, for the arms that add no images), a settings schema that names a
typo, default settings that construct, and a UserError (never a crash) for a size the arm refuses.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from augbench.core.errors import UserError
from augbench.generators import GENERATORS, Generator, create_generator, expand_generators, generator_names
from augbench.generators._learned import LearnedGenerator
from tests.generators.gan_checks import random_images

ARMS = generator_names()  # at collection time: a newly registered arm is picked up with no edit here
SIZES = (28, 32, 64)
CHANNELS = (1, 3)
N_CLASSES = 2
N_PER_CLASS = 8
N_SAMPLES = 5  # not a multiple of any tiny batch size, so partial batches are exercised

#: the cheapest settings that still run every phase of an arm. An arm not listed here is tested with
#: its defaults shrunk through SHRINK; add it here when those are not small enough.
TINY: dict[str, dict] = {
    "none": {}, "class-weighted": {}, "oversample": {}, "classic": {},
    "balanced-softmax": {}, "real": {}, "logit-adjustment": {"tau": 0.5},  # not the default, so loading must restore it
    "dcgan": {"steps": 1, "batch_size": 4, "base_channels": 4},
    "cwgan-gp": {"steps": 1, "batch_size": 4, "base_channels": 4, "n_critic": 1},
    "infogan": {"steps": 1, "batch_size": 4, "base_channels": 4},
    "bagan": {"ae_epochs": 1, "gan_steps": 1, "batch_size": 4, "width": 0.125},
    "bagan-gp": {"ae_epochs": 1, "gan_steps": 1, "batch_size": 4, "width": 0.125, "n_critic": 1,
                 "bn_recalibration": 1},
    "ddpm": {"steps": 1, "batch_size": 4, "base_channels": 8, "num_res_blocks": 1, "attention": False,
             "ddim_steps": 2, "log_every": 1},
    "latent-smote": {"epochs": 1, "batch_size": 4, "base_channels": 8, "latent_dim": 16},
    "opengan": {"steps": 1, "encoder_steps": 1, "batch_size": 4, "base_channels": 8, "encoder_channels": 4},
}

#: common size/length knobs and a tiny value for each, for arms missing from TINY
SHRINK = {"steps": 1, "epochs": 1, "ae_epochs": 1, "gan_steps": 1, "n_critic": 1, "batch_size": 4,
          "base_channels": 8, "width": 0.125, "latent_dim": 16, "num_res_blocks": 1, "ddim_steps": 2,
          "attention": False, "bn_recalibration": 1}

#: sizes an arm declares it refuses (must raise UserError at fit); none of today's arms refuses one
REFUSED_SIZES: dict[str, set[int]] = {}

#: the arms whose settings schema is known to fall short (see test_settings_schema); strict, so the
#: test turns red once one is fixed and the entry has to go
def tiny_settings(name: str) -> dict:
    if name in TINY:
        return dict(TINY[name])
    defaults = create_generator(name)
    shrunk = {k: v for k, v in SHRINK.items() if k in defaults.describe()}
    if defaults.learned and not shrunk:
        pytest.fail(f"generator {name!r} has no tiny settings and none of its settings is a known size knob: "
                    f"add an entry for it to TINY in {__file__}")
    return shrunk


class _ReservedBuild:
    """An arm that is handed real out-of-budget images (the `real` control) gets a toy reserve of the
    size of the toy set it is fitted on, drawn from another seed, when it is fitted."""

    def __init__(self, gen):
        self.gen = gen

    def fit(self, images, labels, n_classes, **kw):
        extra, extra_labels = random_images(images.shape[1], images.shape[-1], n=len(images), seed=99)
        extra_labels = extra_labels % n_classes
        self.gen.set_reserve({c: extra[extra_labels == c] for c in range(n_classes)})
        return self.gen.fit(images, labels, n_classes, **kw)

    def __getattr__(self, item):
        return getattr(self.gen, item)


def build(name: str):
    gen = create_generator(name, **tiny_settings(name))
    return _ReservedBuild(gen) if getattr(gen, "uses_reserve", False) else gen


def toy_set(size: int, channels: int, seed: int = 0):
    images, labels = random_images(size, channels, n=N_CLASSES * N_PER_CLASS, seed=seed)
    return images, labels % N_CLASSES


def outputs(gen, seed: int) -> list[np.ndarray]:
    """What an arm hands the runner: images per class, or the logit offsets of an arm without images."""
    if gen.adds_images:
        return [gen.sample(c, N_SAMPLES, seed=seed) for c in range(N_CLASSES)]
    return [np.asarray(o) for o in gen.logit_offsets([N_PER_CLASS + 4, N_PER_CLASS - 4]) if o is not None]


def assert_same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_registry_is_not_empty_and_tiny_lists_only_registered_arms():
    assert ARMS, "no generator registered"
    stale = sorted(set(TINY) - set(ARMS))
    assert not stale, f"TINY lists arms that are no longer registered: {stale}"


@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ARMS)
def test_fit_sample_and_round_trip(name, size, channels, tmp_path):
    images, labels = toy_set(size, channels)
    gen = build(name)
    if size in REFUSED_SIZES.get(name, ()):
        with pytest.raises(UserError):
            gen.fit(images, labels, N_CLASSES, seed=0)
        return
    gen.fit(images, labels, N_CLASSES, seed=0)
    assert gen.n_classes == N_CLASSES and gen.image_shape == (size, size, channels)

    first = outputs(gen, seed=3)
    if gen.adds_images:
        for out in first:
            assert out.dtype == np.uint8 and out.shape == (N_SAMPLES, size, size, channels)
        if gen.learned:
            assert not any(np.array_equal(a, b) for a, b in zip(first, outputs(gen, seed=4))), \
                "another sampling seed gave identical images"
    else:
        with pytest.raises(TypeError):
            gen.sample(0, 1)
        for offset in first:
            assert offset.shape == (N_CLASSES,) and np.isfinite(offset).all()
    assert_same(first, outputs(gen, seed=3))  # one seed, one answer

    path = tmp_path / "arm.pt"
    gen.save(path)
    fresh = build(name).load(path)
    assert fresh.n_classes == N_CLASSES and fresh.image_shape == (size, size, channels)
    assert_same(first, outputs(fresh, seed=3))


@pytest.mark.parametrize("name", ARMS)
def test_seeded_fit_is_reproducible(name):
    images, labels = toy_set(28, 1)
    a = outputs(build(name).fit(images, labels, N_CLASSES, seed=0), seed=3)
    assert_same(a, outputs(build(name).fit(images, labels, N_CLASSES, seed=0), seed=3))
    if create_generator(name).learned:
        b = outputs(build(name).fit(images, labels, N_CLASSES, seed=1), seed=3)
        assert not any(np.array_equal(x, y) for x, y in zip(a, b)), "another fit seed gave an identical model"


@pytest.mark.parametrize("name", ARMS)
def test_unsupported_size_is_a_user_error_or_works(name):
    """30 px is no s * 2**k layout the conv backends plan for: refusing is fine, crashing is not."""
    images, labels = toy_set(30, 1)
    gen = build(name)
    try:
        gen.fit(images, labels, N_CLASSES, seed=0)
    except UserError as exc:
        assert "30" in str(exc), f"the refusal should name the size: {exc}"
        return
    if gen.adds_images:
        assert gen.sample(0, 2, seed=0).shape == (2, 30, 30, 1)


@pytest.mark.parametrize("name", ARMS)
def test_default_settings_construct_and_describe_flat(name):
    gen = create_generator(name)
    assert gen.name == name
    info = gen.describe()
    assert all(isinstance(v, (int, float, str, bool)) for v in info.values()), info
    json.dumps(info)
    build(name)  # the tiny settings are real settings of the arm


@pytest.mark.parametrize("name", ARMS)
def test_learned_is_stated_once(name):
    """An arm is learned exactly when it stands on the learned-arm scaffold: LearnedGenerator says so,
    and no registry entry or arm class says it again (three spellings drift apart)."""
    cls = GENERATORS.get(name).factory
    assert create_generator(name).learned == issubclass(cls, LearnedGenerator)
    assert "learned" not in GENERATORS.get(name).meta
    restated = [k.__name__ for k in cls.__mro__ if "learned" in vars(k) and k not in (LearnedGenerator, Generator)]
    assert not restated, f"learned is restated by {restated}"


#: the learned arms in registration order (``--generators all`` and every table list them so)
LEARNED_ORDER = {"dcgan": 20, "cwgan-gp": 21, "infogan": 22, "bagan": 23, "bagan-gp": 24, "wgan": 25, "lsgan": 26,
                 "sngan": 27, "acgan": 28, "opengan": 29, "ddpm": 30, "latent-smote": 31}


@pytest.mark.parametrize("name", list(LEARNED_ORDER))
def test_registered_as_learned_arm_in_its_order(name):
    assert name in generator_names() and name in expand_generators("all")  # --generators all runs it
    assert GENERATORS.get(name).meta["order"] == LEARNED_ORDER[name]
    assert create_generator(name).learned


@pytest.mark.parametrize("name", ARMS)
def test_unknown_setting_is_a_user_error_naming_it(name):
    with pytest.raises(UserError, match="no_such_setting_zz"):
        create_generator(name, no_such_setting_zz=1)

"""AC-GAN: the shared GAN checks plus the auxiliary class head."""
import numpy as np  # noqa: F401
import pytest
import torch  # noqa: F401

pytest.register_assert_rewrite("tests.generators.gan_checks")

from torch import nn  # noqa: E402,F401

from augbench.core.errors import UserError  # noqa: E402,F401
from augbench.generators import GENERATORS, DivergenceError, create_generator, generator_names  # noqa: E402,F401
from augbench.generators._gan_utils import BatchStream  # noqa: E402,F401
from tests.generators import gan_checks as checks  # noqa: E402

NAME = "acgan"


def test_discriminator_never_sees_the_label_and_predicts_it():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=2, **checks.TINY).fit(images, labels, 3, seed=0)
    assert gen.D.trunk.label_plane is None  # D is unconditional: the class is only predicted
    source, classes = gen.D(torch.zeros(5, 1, 28, 28))
    assert source.shape == (5,) and classes.shape == (5, 3)
    for h in gen.history:  # the class loss covers reals and fakes: two cross-entropies, each >= 0
        assert h["aux_loss"] > 0 and 0 <= h["aux_accuracy"] <= 1


def test_aux_weight_zero_removes_the_class_term():
    images, labels = checks.random_images(28, 1)
    with_aux = create_generator(NAME, steps=1, **checks.TINY).fit(images, labels, 3, seed=0).history[0]
    without = create_generator(NAME, steps=1, aux_weight=0.0, **checks.TINY).fit(images, labels, 3, seed=0).history[0]
    # same seed, same first batch: the only difference in d_loss is aux_weight * aux_loss
    assert with_aux["aux_loss"] == pytest.approx(without["aux_loss"], rel=1e-5)
    assert with_aux["d_loss"] - without["d_loss"] == pytest.approx(with_aux["aux_loss"], rel=1e-4)


def test_describe_reports_the_defaults():
    checks.check_describe(NAME, aux_weight=1.0, beta1=0.5, beta2=0.999, embed_dim=32)


def test_conditional_fit_produces_the_requested_class():
    checks.check_conditional_fit(NAME, seed=0, steps=200)

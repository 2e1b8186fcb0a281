"""AC-GAN: the auxiliary class head (the shared GAN checks run over every conditional GAN in
test_gan_contract.py)."""
import pytest
import torch

from augbench.generators import create_generator
from tests.generators import gan_checks as checks

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


"""opengan: the shared GAN checks run in test_gan_contract.py; here, what is particular to a generator
conditioned on metric-space features of the budget images."""
import numpy as np
import pytest
import torch

from augbench.core.errors import UserError
from augbench.generators import create_generator
from augbench.generators._feature_encoder import large_margin_cosine_loss, perturbed
from tests.generators import gan_checks as checks

NAME = "opengan"
TINY = checks.tiny(NAME)


def test_history_has_the_encoder_phase_then_the_gan_phase():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=3, **{**TINY, "encoder_steps": 2}).fit(images, labels, 3, seed=0)
    assert [(h["phase"], h["step"]) for h in gen.history] == [
        ("encoder", 1), ("encoder", 2), ("gan", 3), ("gan", 4), ("gan", 5)]
    assert {"encoder_loss", "encoder_accuracy"} <= set(gen.history[0])
    assert {"d_loss", "g_loss", "consistency"} <= set(gen.history[-1])


def test_progress_counts_both_phases():
    images, labels = checks.random_images(28, 1)
    seen = []
    create_generator(NAME, steps=3, **{**TINY, "encoder_steps": 2}).fit(
        images, labels, 3, seed=0, progress=lambda step, total: seen.append((step, total)))
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_the_feature_bank_is_the_given_images_and_nothing_else():
    """The encoder and the bank see exactly the images fit() was given: one unit row per image."""
    images, labels = checks.bars(10, seed=3)
    gen = create_generator(NAME, steps=1, **TINY).fit(images, labels, 2, seed=0)
    assert gen.bank.shape == (len(images), gen.config["feat_dim"])
    np.testing.assert_array_equal(gen.bank_labels.numpy(), labels)
    np.testing.assert_allclose(gen.bank.norm(dim=1).numpy(), 1.0, atol=1e-5)


def test_the_encoder_separates_the_classes_it_was_trained_on():
    """CosFace on the budget images: held-out bars land nearest their own class proxy."""
    images, labels = checks.bars(32, seed=0)
    gen = create_generator(NAME, steps=1, batch_size=32, encoder_steps=60, encoder_channels=8,
                           base_channels=4).fit(images, labels, 2, seed=0)
    test_images, test_labels = checks.bars(50, seed=9)
    from augbench.datasets.transforms import to_tensor

    with torch.no_grad():
        cos = gen.encoder.eval().cosines(gen.encoder(to_tensor(test_images)))
    assert (cos.argmax(1).numpy() == test_labels).mean() >= 0.9


def test_a_class_is_sampled_from_its_own_budget_features():
    """With no noise every condition for class c is exactly one of class c's bank rows."""
    images, labels = checks.bars(6, seed=1)
    gen = create_generator(NAME, steps=1, feature_noise=0.0, **TINY).fit(images, labels, 2, seed=0)
    rng = torch.Generator().manual_seed(0)
    for label in (0, 1):
        conds = gen._conditions(torch.full((40,), label), rng)
        own, other = gen.bank[gen.bank_labels == label], gen.bank[gen.bank_labels != label]
        nearest_own = (conds @ own.T).max(1).values
        np.testing.assert_allclose(nearest_own.numpy(), 1.0, atol=1e-5)
        assert len(torch.unique(conds, dim=0)) > 1  # several budget images, not one class vector
        assert ((conds @ other.T).max(1).values < 1.0 - 1e-4).all()


def test_noise_moves_a_condition_by_about_feature_noise():
    rng = torch.Generator().manual_seed(0)
    base = torch.nn.functional.normalize(torch.randn(2000, 32, generator=rng), dim=1)
    moved = perturbed(base, 0.2, rng)
    distance = (moved - base).norm(dim=1)
    assert 0.15 < float(distance.median()) < 0.25
    np.testing.assert_allclose(moved.norm(dim=1).numpy(), 1.0, atol=1e-5)


def test_a_class_without_images_gets_its_proxy_direction():
    images, labels = checks.random_images(28, 1)  # classes 0..2 present, fitted as 4 classes
    gen = create_generator(NAME, steps=1, feature_noise=0.0, **TINY).fit(images, labels, 4, seed=0)
    conds = gen._conditions(torch.full((3,), 3), torch.Generator().manual_seed(0))
    np.testing.assert_allclose(conds.numpy(), gen.directions[3].expand(3, -1).numpy(), atol=1e-6)
    assert gen.sample(3, 2, seed=0).shape == (2, 28, 28, 1)


def test_large_margin_cosine_loss_applies_the_margin_to_the_true_class_only():
    cos = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    y = torch.tensor([0, 1])
    plain = torch.nn.functional.cross_entropy(10 * cos, y)
    assert torch.isclose(large_margin_cosine_loss(cos, y, scale=10, margin=0.0), plain)
    by_hand = torch.nn.functional.cross_entropy(10 * torch.tensor([[0.6, 0.1], [0.2, 0.5]]), y)
    assert torch.isclose(large_margin_cosine_loss(cos, y, scale=10, margin=0.3), by_hand)


def test_sampling_before_the_bank_exists_says_why():
    gen = create_generator(NAME, steps=1, **TINY)
    gen.image_shape, gen.n_classes = (28, 28, 1), 2
    gen.nets = gen.build()
    with pytest.raises(RuntimeError, match="feature bank"):
        gen._conditions(torch.zeros(2, dtype=torch.long), torch.Generator())


@pytest.mark.parametrize("key", ["feature_noise", "encoder_lr", "consistency_weight"])
def test_negative_settings_are_refused(key):
    with pytest.raises(UserError, match=key):
        create_generator(NAME, **{key: -1.0})

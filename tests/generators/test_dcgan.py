"""Class-conditional DCGAN: what is specific to its BCE game (the shared GAN checks run over every
conditional GAN in test_gan_contract.py)."""
from augbench.generators import create_generator
from tests.generators import gan_checks as checks

NAME = "dcgan"


def test_history_holds_discriminator_probabilities():
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=3, **checks.TINY).fit(images, labels, 3, seed=0)
    assert all(0 <= h["d_real"] <= 1 and 0 <= h["d_fake"] <= 1 for h in gen.history)

"""Conditional SN-GAN: the shared GAN checks plus spectral normalisation and the hinge loss."""
import numpy as np  # noqa: F401
import pytest
import torch  # noqa: F401

pytest.register_assert_rewrite("tests.generators.gan_checks")

from torch import nn  # noqa: E402,F401

from augbench.core.errors import UserError  # noqa: E402,F401
from augbench.generators import GENERATORS, DivergenceError, create_generator, generator_names  # noqa: E402,F401
from augbench.generators._gan_utils import BatchStream  # noqa: E402,F401
from tests.generators import gan_checks as checks  # noqa: E402

NAME = "sngan"


def test_critic_is_spectrally_normalised_without_norm_layers():
    from torch.nn.utils import parametrize

    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=2, n_critic=2, **checks.TINY).fit(images, labels, 3, seed=0)
    layers = [m for m in gen.D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not {type(m) for m in gen.D.modules()} & {nn.BatchNorm2d, nn.GroupNorm}
    assert not any(parametrize.is_parametrized(m) for m in gen.G.modules())
    for m in layers:  # the normalised weight's largest singular value is 1 (one power step per forward)
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
        assert 0.8 < float(sigma) <= 1.05


def test_hinge_loss_and_critic_schedule(monkeypatch):
    drawn = []
    original = BatchStream.__next__

    def counting(self):
        drawn.append(1)
        return original(self)

    monkeypatch.setattr(BatchStream, "__next__", counting)
    images, labels = checks.random_images(28, 1)
    gen = create_generator(NAME, steps=2, n_critic=3, **checks.TINY).fit(images, labels, 3, seed=0)
    assert len(drawn) == 2 * 3 and gen.real_batches_per_step == 3
    for h in gen.history:  # hinge: relu(1 - D(x)) + relu(1 + D(G(z))) is never below 0 ...
        assert h["d_loss"] >= 0
        # ... and equals 2 - mean D(x) + mean D(G(z)) while every score is inside (-1, 1)
        if abs(h["d_real"]) < 0.5 and abs(h["d_fake"]) < 0.5:
            assert h["d_loss"] == pytest.approx(2 - h["d_real"] + h["d_fake"], abs=0.5)


def test_describe_reports_the_paper_settings():
    checks.check_describe(NAME, n_critic=5, beta1=0.0, beta2=0.9)
    assert create_generator(NAME).describe()["lr_d"] == 2e-4


def test_conditional_fit_produces_the_requested_class():
    # one critic update per step keeps this at dcgan's cost; the 5-update default is checked above
    checks.check_conditional_fit(NAME, seed=0, steps=200, n_critic=1)

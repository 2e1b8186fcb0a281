"""The `real` control hands out its reserve in order, says when a class is short, and loads back."""
from __future__ import annotations

import numpy as np
import pytest

from augbench.core.errors import UserError
from augbench.generators import create_generator


def _reserve():
    rng = np.random.default_rng(0)
    return {0: rng.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8), 1: rng.integers(0, 256, (2, 8, 8, 1), dtype=np.uint8)}


def _fitted():
    images = np.zeros((4, 8, 8, 1), dtype=np.uint8)
    return create_generator("real").set_reserve(_reserve()).fit(images, np.array([0, 0, 1, 1]), 2)


def test_sample_takes_the_reserve_in_order_whatever_the_seed():
    gen, reserve = _fitted(), _reserve()
    np.testing.assert_array_equal(gen.sample(0, 4, seed=1), reserve[0][:4])
    np.testing.assert_array_equal(gen.sample(0, 4, seed=7), reserve[0][:4])


def test_a_short_class_gets_what_there_is_and_it_is_said(capsys):
    gen = _fitted()
    images, labels = gen.resample({0: 3, 1: 5}, seed=0)
    assert (labels == 0).sum() == 3 and (labels == 1).sum() == 2
    assert gen.shortfall == {1: 3}
    assert "too few real images outside the budget" in capsys.readouterr().err
    with pytest.raises(UserError, match="2 real training images outside the budget"):
        gen.sample(1, 5)


def test_is_a_control_and_not_learned():
    gen = create_generator("real")
    assert gen.control and not gen.learned and gen.adds_images


def test_save_load_keeps_the_reserve(tmp_path):
    gen = _fitted()
    gen.save(tmp_path / "g.pt")
    back = create_generator("real").load(tmp_path / "g.pt")
    np.testing.assert_array_equal(back.sample(0, 6), _reserve()[0])

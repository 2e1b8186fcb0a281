"""Image decoding and resizing helpers."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from augbench.datasets import UserError
from augbench.datasets.images import check_image_size, read_image, resize_array


@pytest.mark.parametrize("bad", [4, 7, 0, -1, "big", True])
def test_image_size_must_be_an_integer_of_at_least_8(bad):
    with pytest.raises(UserError):
        check_image_size(bad)


def test_image_size_accepts_none_and_integers():
    assert check_image_size(None) is None
    assert check_image_size(8) == 8 and check_image_size("64") == 64 and check_image_size(np.int64(28)) == 28


def test_shrinking_averages_areas():
    img = np.zeros((1, 4, 4, 1), np.uint8)
    img[0, :2, :2] = 200  # top-left quarter bright
    out = resize_array(img, 2)
    assert out[0, :, :, 0].tolist() == [[200, 0], [0, 0]]


def test_enlarging_keeps_shape_and_range():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(3, 28, 28, 3), dtype=np.uint8)
    out = resize_array(img, 64)
    assert out.shape == (3, 64, 64, 3) and out.dtype == np.uint8
    assert abs(float(out.mean()) - float(img.mean())) < 3


def test_palette_and_alpha_images_decode_as_rgb(tmp_path):
    Image.new("RGBA", (10, 10), (255, 0, 0, 128)).save(tmp_path / "a.png")
    Image.new("P", (10, 10), 3).save(tmp_path / "p.png")
    assert read_image(tmp_path / "a.png", 8).shape == (8, 8, 3)
    assert read_image(tmp_path / "p.png", None).shape == (10, 10, 3)
    assert read_image(tmp_path / "a.png", None, "L").shape == (10, 10, 1)

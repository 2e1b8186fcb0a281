import numpy as np
from PIL import Image

from augbench.benchmark.fidelity import sample_grid


def test_sample_grid_writes_png_of_the_documented_size(tmp_path):
    rng = np.random.default_rng(0)
    images = {0: rng.integers(0, 256, (8, 28, 28, 1), dtype=np.uint8),
              1: rng.integers(0, 256, (3, 28, 28, 1), dtype=np.uint8),  # short row: blank cells
              2: rng.integers(0, 256, (12, 28, 28, 1), dtype=np.uint8)}  # long row: first 8 shown
    path = sample_grid(images, ["normal", "pneumonia", "other"], tmp_path / "sub" / "grid.png", per_row=8)
    with Image.open(path) as img:
        assert img.format == "PNG"
        cell = 28 * 2  # 28 px upscaled x2 to reach the 56 px minimum cell
        assert img.size == (120 + 8 * (cell + 2) + 2, 3 * (cell + 2) + 2)
        pixels = np.asarray(img.convert("L"))
    # the first tile of class 0, upscaled by nearest neighbour, is where the layout says
    tile = pixels[2:2 + cell, 122:122 + cell]
    assert np.array_equal(tile[::2, ::2], images[0][0, :, :, 0])


def test_sample_grid_colour_and_per_row(tmp_path):
    images = {3: np.full((5, 64, 64, 3), 200, dtype=np.uint8)}
    path = sample_grid(images, ["a", "b", "c", "d"], tmp_path / "g.png", per_row=4)
    with Image.open(path) as img:
        assert img.size == (120 + 4 * 66 + 2, 66 + 2)
        assert img.mode == "RGB"

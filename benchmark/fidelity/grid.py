"""One picture per generator fit: a row of samples per class, for the eye check no metric replaces.

Images are upscaled by an integer factor (nearest neighbour, so no smoothing hides artefacts) until
a cell is at least ``min_cell`` pixels, and each row starts with the class name. The layout is fixed
by the arguments alone, so the file size in pixels is predictable:
    width  = label_width + per_row * (cell + pad) + pad
    height = n_classes * (cell + pad) + pad,   cell = side * ceil(min_cell / side)
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def grid_scale(side: int, min_cell: int) -> int:
    return max(1, math.ceil(min_cell / side))


def sample_grid(images_by_class: dict[int, np.ndarray], class_names, path, per_row: int = 8, *,
                label_width: int = 120, pad: int = 2, min_cell: int = 56) -> Path:
    """Write the grid PNG to ``path`` (parents created) and return the path; missing cells stay grey."""
    if not images_by_class:
        raise ValueError("sample_grid needs at least one class of images")
    classes = sorted(images_by_class)
    first = np.asarray(images_by_class[classes[0]])
    h, w = first.shape[1:3]
    scale = grid_scale(max(h, w), min_cell)
    cell_h, cell_w = h * scale, w * scale
    width = label_width + per_row * (cell_w + pad) + pad
    height = len(classes) * (cell_h + pad) + pad
    canvas = Image.new("RGB", (width, height), (128, 128, 128))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for row, c in enumerate(classes):
        images = np.asarray(images_by_class[c])
        if images.ndim != 4 or images.dtype != np.uint8 or images.shape[1:3] != (h, w):
            raise ValueError(f"class {c}: expected uint8 NHWC images of {h}x{w}, got {images.dtype} {images.shape}")
        top = pad + row * (cell_h + pad)
        name = str(class_names[c]) if c < len(class_names) else str(c)
        draw.text((4, top + cell_h // 2 - 6), f"{c}: {name}"[:20], fill=(255, 255, 255), font=font)
        for col, image in enumerate(images[:per_row]):
            tile = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).convert("RGB")
            tile = tile.resize((cell_w, cell_h), Image.NEAREST)
            canvas.paste(tile, (label_width + pad + col * (cell_w + pad), top))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, format="PNG")
    return path

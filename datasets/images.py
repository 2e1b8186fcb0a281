"""Decode image files and resize pixel arrays, the one way every loader does it.

Images are squashed to a square (no crop), as MedMNIST does for DermaMNIST, so nothing at the
border of a lesion is cut away. Shrinking uses area averaging (PIL BOX, like OpenCV's INTER_AREA)
because it does not alias; enlarging (28 px MNIST-style sets to 64) uses bicubic. JPEGs are
decoded with ``Image.draft`` at the smallest DCT scale still >= the target, which makes decoding
HAM10000 or the chest X-rays several times faster than a full decode.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from augbench.core.errors import DataError, UserError

MIN_IMAGE_SIZE = 8
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def check_image_size(image_size) -> int | None:
    """Validate a requested square size (None = keep native)."""
    if image_size is None:
        return None
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)):
        try:
            image_size = int(str(image_size))
        except ValueError:
            raise UserError(f"image size {image_size!r} is not an integer.", "pass e.g. --image-size 64.") from None
    image_size = int(image_size)
    if image_size < MIN_IMAGE_SIZE:
        raise UserError(
            f"image size {image_size} is too small: images must be at least {MIN_IMAGE_SIZE} px.",
            "pass --image-size 8 or more (28, 32 and 64 are typical).",
        )
    return image_size


def _resample(src: tuple[int, int], size: int):
    shrinking = src[0] >= size and src[1] >= size
    return Image.Resampling.BOX if shrinking else Image.Resampling.BICUBIC


def resize_pil(image: Image.Image, size: int | None) -> Image.Image:
    if size is None or image.size == (size, size):
        return image
    return image.resize((size, size), _resample(image.size, size))


def _to_array(image: Image.Image, mode: str) -> np.ndarray:
    """PIL image -> uint8 HWC in ``mode`` ('L' or 'RGB'); 16-bit gray is rescaled, not clipped."""
    if image.mode.startswith("I;16") and mode == "L":
        arr = np.asarray(image, dtype=np.float32) / 257.0
        return np.clip(np.rint(arr), 0, 255).astype(np.uint8)[..., None]
    if image.mode != mode:
        image = image.convert(mode)
    arr = np.asarray(image, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def natural_mode(image: Image.Image) -> str:
    """'L' for gray-only files, else 'RGB' (palette and alpha images count as colour)."""
    return "L" if image.mode in GRAY_MODES else "RGB"


def read_image(path: Path, size: int | None, mode: str | None = None) -> np.ndarray:
    """Decode one file to uint8 HWC (C=1 for mode 'L', 3 for 'RGB'; None keeps the file's own)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. PIL's "palette images with transparency"
            with Image.open(path) as image:
                want = mode or natural_mode(image)
                if size is not None and image.format == "JPEG":
                    image.draft(want, (size, size))
                image.load()
                if image.mode.startswith("I;16"):
                    arr = _to_array(image, "L")
                    if size is not None and arr.shape[:2] != (size, size):
                        arr = _to_array(resize_pil(Image.fromarray(arr[..., 0]), size), "L")
                    return arr if want == "L" else np.repeat(arr, 3, axis=2)
                if image.mode not in ("L", "RGB"):
                    image = image.convert(want)
                return _to_array(resize_pil(image, size), want)
    except FileNotFoundError:
        raise DataError(f"image file {path} is missing.", "restore the file or remove it from the dataset.") from None
    except Image.DecompressionBombError as exc:
        raise DataError(
            f"image {path} is too large to decode safely ({exc})",
            "shrink the file to a sane resolution or delete it (PIL refuses such images as decompression bombs).",
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(
            f"cannot read image {path} ({exc}).",
            "replace the file with an intact PNG/JPEG copy or delete it.",
        ) from None


def peek_size(path: Path) -> str | None:
    """'WxH' from a file's header without decoding it (None when unreadable: decoding will say why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: decoding will raise if it must
            with Image.open(path) as image:
                return f"{image.size[0]}x{image.size[1]}"
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def read_images(paths, size: int | None, mode: str | None = None) -> np.ndarray:
    """Decode many files into one uint8 NHWC array.

    ``mode`` None means: keep gray as 1 channel unless any file is colour, then all become RGB.
    At native size (``size`` None) all files must share one size.
    """
    paths = list(paths)
    if not paths:
        raise ValueError("no image files to read")
    first = read_image(paths[0], size, mode)
    if mode is not None:
        out = np.empty((len(paths),) + first.shape, dtype=np.uint8)
        out[0] = first
        for i, path in enumerate(paths[1:], start=1):
            arr = read_image(path, size, mode)
            if arr.shape != first.shape:
                _size_mismatch(paths[0], first, path, arr)
            out[i] = arr
        return out
    arrays = [first]
    for path in paths[1:]:
        arr = read_image(path, size, None)
        if arr.shape[:2] != first.shape[:2]:
            _size_mismatch(paths[0], first, path, arr)
        arrays.append(arr)
    if any(a.shape[2] == 3 for a in arrays):
        arrays = [a if a.shape[2] == 3 else np.repeat(a, 3, axis=2) for a in arrays]
    return np.stack(arrays)


def _size_mismatch(path_a, arr_a, path_b, arr_b):
    raise DataError(
        f"images differ in size ({path_a} is {arr_a.shape[1]}x{arr_a.shape[0]}, "
        f"{path_b} is {arr_b.shape[1]}x{arr_b.shape[0]}), so there is no single native size.",
        "pass an image size (e.g. --image-size 64) to resize them all.",
    )


def resize_array(images: np.ndarray, size: int | None) -> np.ndarray:
    """Resize a uint8 NHWC array (e.g. MedMNIST or Fashion-MNIST pixels) to size x size."""
    if size is None or images.shape[1:3] == (size, size):
        return images
    channels = images.shape[3]
    out = np.empty((len(images), size, size, channels), dtype=np.uint8)
    resample = _resample((images.shape[2], images.shape[1]), size)
    for i, img in enumerate(images):
        pil = Image.fromarray(img[..., 0] if channels == 1 else img)
        arr = np.asarray(pil.resize((size, size), resample), dtype=np.uint8)
        out[i] = arr[..., None] if channels == 1 else arr
    return out

"""Damage masks: white (or opaque) marks damage, black (or transparent) marks intact paint."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from muralstudio.core.errors import ImageWriteError, MaskMismatchError
from muralstudio.core.raster import RasterImage
from muralstudio.io.images import read_image, read_image_header, write_image

__all__ = ["read_mask", "write_mask"]


def _check_size(path: Path, width: int, height: int, shape: tuple[int, int] | None) -> None:
    if shape is not None and (height, width) != tuple(shape[:2]):
        raise MaskMismatchError(
            f"The mask {path.name} is {width} × {height} "
            f"but the image is {shape[1]} × {shape[0]}."
        )


def read_mask(path: str | os.PathLike[str], shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask as a bool (H, W) array, True where the paint is damaged.

    A pixel is damage when its brightest colour channel is at least half scale (128 for
    8-bit, 32768 for 16-bit). A mask drawn only in its alpha channel (all colour pixels one
    value, alpha varying) is read from the alpha instead. ``shape`` (H, W) is the image the
    mask belongs to; a mask of another size raises MaskMismatchError before it is decoded.
    Read errors are those of :func:`muralstudio.io.images.read_image`.
    """
    path = Path(path)
    info = read_image_header(path)
    _check_size(path, info.width, info.height, shape)
    image = read_image(path)
    _check_size(path, image.width, image.height, shape)
    threshold = (image.max_value + 1) // 2
    pixels = image.pixels
    alpha = image.alpha
    if alpha is not None and alpha.size and pixels.min() == pixels.max() and alpha.min() != alpha.max():
        return np.ascontiguousarray(alpha >= threshold)
    if pixels.shape[2] == 1:
        return np.ascontiguousarray(pixels[:, :, 0] >= threshold)
    return np.max(pixels, axis=2) >= threshold


def write_mask(path: str | os.PathLike[str], mask: np.ndarray) -> None:
    """Write a mask (bool, or any array where non-zero is damage) as a 1-channel 8-bit PNG or
    TIFF holding 0 and 255, atomically. Raises ImageWriteError."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".tif", ".tiff"):
        raise ImageWriteError(
            f"Cannot save the mask {path.name}: masks are saved as PNG or TIFF "
            "(JPEG would blur their edges)."
        )
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim != 2:
        raise ValueError(f"a mask must be (H, W), got {mask.shape}")
    pixels = np.where(mask.astype(bool, copy=False), np.uint8(255), np.uint8(0))
    compression = "zlib" if suffix != ".png" else None
    write_image(path, RasterImage(pixels=pixels), compression=compression)

"""Selections made from the image's colours: the magic wand."""

from __future__ import annotations

import cv2
import numpy as np


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """8-bit view of the pixels for colour comparisons (16-bit rounded to 8-bit)."""
    if pixels.dtype == np.uint8:
        return np.ascontiguousarray(pixels)
    return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)


def magic_wand(pixels8: np.ndarray, x: int, y: int, tolerance: int, contiguous: bool = True) -> np.ndarray:
    """Pixels whose colour is within ``tolerance`` (0–255, per channel) of the pixel at (x, y).

    ``contiguous`` keeps only the region connected to the seed (8-connected), as a flood fill;
    otherwise every similar pixel of the image is taken.
    """
    h, w = pixels8.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return np.zeros((h, w), bool)
    img = pixels8 if pixels8.ndim == 3 else pixels8[:, :, None]
    if not contiguous:
        seed = img[y, x].astype(np.int16)
        return np.all(np.abs(img.astype(np.int16) - seed) <= tolerance, axis=2)
    src = np.ascontiguousarray(img if img.shape[2] in (1, 3) else img[:, :, :3])
    if src.shape[2] == 1:
        src = src[:, :, 0]
    flood = np.zeros((h + 2, w + 2), np.uint8)
    tol = (tolerance,) * 3
    flags = 8 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    cv2.floodFill(src, flood, (int(x), int(y)), 0, tol, tol, flags)
    return flood[1:-1, 1:-1].astype(bool)

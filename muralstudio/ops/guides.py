"""Guide lines for guided restoration: lines the fill should follow.

A guide is a boolean map of thin lines. Users draw it on the document's guide layer; the
engine can also find one by itself (:func:`auto_guide`), from the edges of a quick Telea fill
that carry the contours around the damage into it. Training draws guides from the true
image's edges (:func:`edge_map`). Guides are shrunk to a working size with
:func:`shrink_lines`, which keeps lines thin but unbroken.
"""

from __future__ import annotations

import cv2
import numpy as np

GUIDE_BAND = 4  # guide lines are kept within this many pixels of the hole


def to_grey8(image: np.ndarray) -> np.ndarray:
    """(h, w, 3) or (h, w) float in [0, 1] or uint8 → (h, w) uint8 grey."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if img.ndim == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY) if img.shape[2] == 3 else img[..., 0]
    return np.ascontiguousarray(img)


def edge_map(image: np.ndarray, strength: float = 90.0) -> np.ndarray:
    """Canny edges of ``image`` with thresholds set from its own gradients: the upper one at
    the ``strength`` percentile of gradient magnitude, so every picture yields its main lines."""
    grey = cv2.GaussianBlur(to_grey8(image), (5, 5), 1.0)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    high = max(float(np.percentile(np.hypot(gx, gy), strength)), 20.0)
    return cv2.Canny(grey, high / 2.0, high, L2gradient=True) > 0


def near_hole(hole: np.ndarray, band: int = GUIDE_BAND) -> np.ndarray:
    """The hole grown by ``band`` pixels: where guide lines matter."""
    if band <= 0:
        return hole.copy()
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    return cv2.dilate(hole.astype(np.uint8), k) > 0


def auto_guide(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Guide lines found from the damage's surroundings: edges of a Telea fill of ``image``
    (float RGB in [0, 1] or uint8) near and inside ``hole``."""
    grey = to_grey8(image)
    filled = cv2.inpaint(grey, hole.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    return edge_map(filled) & near_hole(hole)


def shrink_lines(lines: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A line map resized to ``shape`` (h, w): lines stay connected and about a pixel wide
    when shrunk, and are not fattened when enlarged."""
    h, w = shape
    if lines.shape == (h, w):
        return lines.astype(bool, copy=True)
    cover = cv2.resize(lines.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    if h * w > lines.size:  # enlarging: no averaging happened
        return cover > 0.5
    return cover > 0.08

"""Colour hints drawn as network input: the one way training and the engine draw them.

A hint is a point (y, x) with a colour's chroma (Lab a, b). The colorization network sees
hints as two planes of a and b and a 0/1 map of where hints are, each hint a small disc of
``HINT_RADIUS`` pixels at the network's working size.
"""

from __future__ import annotations

import cv2
import numpy as np

HINT_RADIUS = 2  # a hint covers a disc of this radius (pixels at the network's working size)


def hint_maps(shape: tuple[int, int], hints: list[tuple[float, float, float, float]],
              radius: int = HINT_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 2) float32 hint colours (a, b) and an (H, W) float32 0/1 map of where hints are,
    from hints (y, x, a, b) in pixel coordinates of that shape (rounded to whole pixels)."""
    a = np.zeros(shape, np.float32)
    b = np.zeros(shape, np.float32)
    where = np.zeros(shape, np.uint8)
    for y, x, ha, hb in hints:
        centre = (int(round(x)), int(round(y)))
        cv2.circle(where, centre, radius, 1, -1)
        cv2.circle(a, centre, radius, float(ha), -1)
        cv2.circle(b, centre, radius, float(hb), -1)
    return np.stack([a, b], -1), where.astype(np.float32)

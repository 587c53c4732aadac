"""Filled polygons (lasso selections) rasterised to boolean masks, even-odd rule."""

from __future__ import annotations

from typing import Sequence

import numpy as np

Rect = tuple[int, int, int, int]


def polygon_mask(points: Sequence[tuple[float, float]], shape: tuple[int, int]) -> tuple[Rect, np.ndarray] | None:
    """Pixels whose centres lie inside the polygon (x, y points), within ``shape``.

    Returns the bounding rectangle (y0, x0, y1, x1) and the mask inside it, or None when the
    polygon has fewer than three points or lies outside the image.
    """
    if len(points) < 3:
        return None
    pts = np.asarray(points, dtype=np.float64)
    h, w = shape
    x0, y0 = max(0, int(np.floor(pts[:, 0].min()))), max(0, int(np.floor(pts[:, 1].min())))
    x1, y1 = min(w, int(np.ceil(pts[:, 0].max())) + 1), min(h, int(np.ceil(pts[:, 1].max())) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    ys = np.arange(y0, y1, dtype=np.float64) + 0.5
    xs = np.arange(x0, x1, dtype=np.float64) + 0.5
    out = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    a, b = pts, np.roll(pts, -1, axis=0)
    for (ax, ay), (bx, by) in zip(a, b):
        if ay == by:
            continue
        lo, hi = min(ay, by), max(ay, by)
        rows = (ys >= lo) & (ys < hi)
        if not rows.any():
            continue
        xcross = ax + (ys[rows] - ay) * (bx - ax) / (by - ay)
        # every crossing flips the parity of the pixels to its right
        out[rows] ^= xs[None, :] > xcross[:, None]
    return (y0, x0, y1, x1), out

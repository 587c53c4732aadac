"""A smooth fill of holes by push-pull: each missing pixel takes the average colour of the
known pixels around it, from ever coarser levels of a pyramid as the hole grows.

It is fast, deterministic and has no preferred direction, so it serves as the low-frequency
starting point the diffusion engine refines (and that its network is trained with).
"""

from __future__ import annotations

import cv2
import numpy as np

_EPS = 1e-6


def smooth_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` (h, w, c) float32 with the pixels where ``hole`` is set replaced by a smooth
    interpolation of the known ones; known pixels come back unchanged. An image with no
    known pixel is filled with mid-grey (0.5)."""
    img = np.asarray(image, np.float32)
    known = (~hole).astype(np.float32)
    if not known.any():
        return np.full_like(img, 0.5)
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    colour, weight = img * known[..., None], known
    while True:
        levels.append((colour, weight))
        h, w = weight.shape
        if (weight > _EPS).all() or max(h, w) <= 1:
            break
        size = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
        colour = cv2.resize(colour, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
        weight = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
    colour, weight = levels[-1]
    estimate = colour / np.maximum(weight, _EPS)[..., None]
    for colour, weight in reversed(levels[:-1]):
        h, w = weight.shape
        up = cv2.resize(estimate, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
        wk = np.clip(weight, 0.0, 1.0)[..., None]
        # colour is premultiplied by weight: known share from this level, the rest from below
        estimate = np.where(wk > _EPS, colour / np.maximum(wk, _EPS), 0.0) * wk + up * (1.0 - wk)
    return np.where(hole[..., None], estimate, img).astype(np.float32)

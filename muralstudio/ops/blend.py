"""Seam feathering: blending overlapping tiles and pasting engine output back.

Known pixels are never blended: whatever an engine makes is pasted only where the mask is
set. Inside the mask, overlapping tiles are mixed with weights that fall off towards each
tile's border, so no seam shows where tiles meet.
"""

from __future__ import annotations

import numpy as np

from muralstudio.ops.crop import Box


def ramp_weights(height: int, width: int, overlap: int) -> np.ndarray:
    """(H, W) float32 weights: 1 in the middle, falling linearly over ``overlap`` to the edge.

    Never exactly zero, so a pixel covered by a single tile keeps its value after
    normalisation.
    """
    def ramp(n: int) -> np.ndarray:
        if overlap <= 0:
            return np.ones(n, np.float32)
        i = np.arange(n, dtype=np.float32)
        edge = np.minimum(i + 1, n - i) / float(overlap + 1)
        return np.clip(edge, 0.0, 1.0)

    return np.outer(ramp(height), ramp(width)).astype(np.float32)


class TileBlender:
    """Accumulates overlapping tile results inside ``box`` and returns their weighted mean."""

    def __init__(self, box: Box, channels: int, overlap: int) -> None:
        self.box = box
        self.overlap = overlap
        self._sum = np.zeros((box.height, box.width, channels), np.float32)
        self._weight = np.zeros((box.height, box.width), np.float32)

    def add(self, tile: Box, values: np.ndarray) -> None:
        """Add float values (h, w, C) computed for ``tile`` (in image coordinates)."""
        w = ramp_weights(tile.height, tile.width, self.overlap)
        ys = slice(tile.y0 - self.box.y0, tile.y1 - self.box.y0)
        xs = slice(tile.x0 - self.box.x0, tile.x1 - self.box.x0)
        self._sum[ys, xs] += values * w[..., None]
        self._weight[ys, xs] += w

    def result(self) -> np.ndarray:
        """Weighted mean (H, W, C) float32; pixels no tile covered are 0."""
        weight = np.maximum(self._weight, 1e-12)[..., None]
        return self._sum / weight


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8/uint16 pixels as float32 in [0, 1]."""
    scale = float(np.iinfo(pixels.dtype).max)
    return pixels.astype(np.float32) / scale


def from_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float values in [0, 1] back to ``dtype`` with rounding and clipping."""
    scale = float(np.iinfo(dtype).max)
    return np.clip(np.rint(values * scale), 0, scale).astype(dtype)


def paste_masked(dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> None:
    """Write ``src`` into ``dst`` only where ``mask`` is set (same shapes, in place)."""
    dst[mask] = src[mask]

"""Round-brush rasterising: coverage of a stroke as capsules between pointer events.

Pointer positions are in image pixel units, pixel (x, y) covering [x, x+1) × [y, y+1).
Each segment between two events is rasterised as a capsule (distance to the segment), so a
fast stroke leaves no gaps and no beads, whatever the spacing of the events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Rect = tuple[int, int, int, int]  # y0, x0, y1, x1 (end exclusive)


@dataclass(frozen=True)
class Brush:
    """A round brush: ``size`` is the diameter in pixels, ``hardness`` 0 (soft) to 1 (hard)."""

    size: float = 20.0
    hardness: float = 1.0

    def __post_init__(self) -> None:
        if not self.size >= 1:
            raise ValueError("brush size must be at least 1 pixel")
        if not 0.0 <= self.hardness <= 1.0:
            raise ValueError("brush hardness must be between 0 and 1")

    @property
    def radius(self) -> float:
        return max(self.size / 2.0, 0.71)  # always reaches the pixel under the pointer

    @property
    def mark_threshold(self) -> float:
        """Coverage above which a boolean layer marks a pixel: its centre inside the circle."""
        return 0.5 if self.hardness >= 1.0 else 1e-6


def _falloff(dist: np.ndarray, brush: Brush) -> np.ndarray:
    """Coverage 0..1 at distance ``dist`` from the stroke's centre line."""
    r = brush.radius
    if brush.hardness >= 1.0:
        return np.clip(r + 0.5 - dist, 0.0, 1.0)  # one-pixel antialiased edge
    inner = brush.hardness * r
    t = np.clip((dist - inner) / (r - inner), 0.0, 1.0)
    return 1.0 - t * t * (3.0 - 2.0 * t)  # smoothstep from full to none


def segment_coverage(
    p0: tuple[float, float], p1: tuple[float, float], brush: Brush, shape: tuple[int, int]
) -> tuple[Rect, np.ndarray] | None:
    """Coverage (float32, 0..1) of the capsule from ``p0`` to ``p1`` (x, y) within ``shape``.

    Returns the rectangle it covers and the coverage inside it, or None when the capsule
    lies outside the image.
    """
    h, w = shape
    r = brush.radius + 1.0
    (ax, ay), (bx, by) = p0, p1
    x0 = max(0, int(np.floor(min(ax, bx) - r)))
    y0 = max(0, int(np.floor(min(ay, by) - r)))
    x1 = min(w, int(np.ceil(max(ax, bx) + r)) + 1)
    y1 = min(h, int(np.ceil(max(ay, by) + r)) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    px = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    py = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    dx, dy = bx - ax, by - ay
    seg2 = dx * dx + dy * dy
    if seg2 > 1e-12:
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / seg2, 0.0, 1.0)
        dist = np.hypot(px - (ax + t * dx), py - (ay + t * dy))
    else:
        dist = np.hypot(px - ax, py - ay)
    cov = _falloff(dist, brush).astype(np.float32)
    return (y0, x0, y1, x1), cov


class StrokeRasterizer:
    """Turns a sequence of pointer events into coverage, one segment per event."""

    def __init__(self, brush: Brush, shape: tuple[int, int]) -> None:
        self.brush = brush
        self.shape = shape
        self._last: tuple[float, float] | None = None

    def add_point(self, x: float, y: float) -> tuple[Rect, np.ndarray] | None:
        """Coverage added by moving the brush to (x, y): a dot for the first event."""
        start = self._last if self._last is not None else (x, y)
        self._last = (x, y)
        return segment_coverage(start, (x, y), self.brush, self.shape)


def apply_coverage(
    layer: np.ndarray,
    rect: Rect,
    coverage: np.ndarray,
    erase: bool = False,
    threshold: float = 0.5,
) -> None:
    """Paint (or erase) a boolean layer where coverage exceeds ``threshold``.

    Masks are boolean, so the marked footprint is the brush circle shown by the cursor
    (pass ``Brush.mark_threshold``); hardness shapes the coverage used by soft previews.
    """
    y0, x0, y1, x1 = rect
    hit = coverage >= threshold
    view = layer[y0:y1, x0:x1]
    if erase:
        view &= ~hit
    else:
        view |= hit

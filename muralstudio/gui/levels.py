"""Pyramid levels and tile rectangles, shared by the display pyramid and the mask overlays.

Level ``L`` shows the image at 1 / 2**L; its pixel (i, j) covers the source pixels
[i·2**L, (i+1)·2**L) × [j·2**L, (j+1)·2**L) (fewer at the right and bottom edges). Both
renderers work on tiles of ``TILE`` × ``TILE`` display pixels of a level.
"""

from __future__ import annotations

TILE = 256  # display pixels per tile side
Rect = tuple[int, int, int, int]  # y0, x0, y1, x1, end exclusive


def level_for_zoom(zoom: float, max_level: int | None = None) -> int:
    """The level to read for a view at ``zoom``: the largest L with 2**L <= 1 / zoom."""
    if zoom <= 0:
        raise ValueError("zoom must be positive")
    level = 0
    inv = 1.0 / zoom * (1 + 1e-9)  # 0.5 exactly must give level 1 despite rounding
    while (1 << (level + 1)) <= inv:
        level += 1
    return level if max_level is None else min(level, max_level)


def overlay_level_for_zoom(zoom: float, max_level: int | None = None) -> int:
    """The level whose pixels are at least one screen pixel wide: smallest L, 2**L >= 1 / zoom.

    Masks drawn from it with nearest-neighbour sampling never drop a (max-pooled) pixel.
    """
    level = level_for_zoom(zoom, None)
    if (1 << level) * zoom < 1 - 1e-9:
        level += 1
    return level if max_level is None else min(level, max_level)


def levels_for(height: int, width: int) -> int:
    """Number of levels, the last one being 1 × 1."""
    n = 1
    while max(height, width) > (1 << (n - 1)):
        n += 1
    return n


def level_shape(height: int, width: int, level: int) -> tuple[int, int]:
    """(height, width) of ``level`` of an image of ``height`` × ``width``."""
    f = 1 << level
    return (-(-height // f), -(-width // f))


def rect_overlap(a: Rect, b: Rect) -> Rect | None:
    """The intersection of two rectangles, None when they do not overlap."""
    y0, x0 = max(a[0], b[0]), max(a[1], b[1])
    y1, x1 = min(a[2], b[2]), min(a[3], b[3])
    if y0 >= y1 or x0 >= x1:
        return None
    return (y0, x0, y1, x1)

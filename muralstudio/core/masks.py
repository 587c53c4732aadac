"""Operations on boolean damage masks, cropped to where the mask has content.

Every operation works on the bounding box of the mask plus the reach of the operation, so
a few cracks on a 100-megapixel scan cost what the cracks cost, not what the scan costs.
Distances are Euclidean (round growth, not square).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
from scipy import ndimage

BAND = 1024  # rows and columns per tile for distance transforms, bounding memory


@dataclass(frozen=True)
class Region:
    """One connected damaged region: its bounding box (end exclusive) and area in pixels."""

    y0: int
    x0: int
    y1: int
    x1: int
    area: int

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        return (self.y0, self.x0, self.y1, self.x1)


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box (y0, x0, y1, x1) of the True pixels, or None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _expand(box: tuple[int, int, int, int], m: int, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    y0, x0, y1, x1 = box
    return max(0, y0 - m), max(0, x0 - m), min(shape[0], y1 + m), min(shape[1], x1 + m)


def _within(features: np.ndarray, radius: float) -> np.ndarray:
    """Pixels whose distance to the nearest True pixel of ``features`` is at most radius.

    Tiled with a margin of the radius so memory stays bounded; exact for distances up to it.
    """
    out = np.zeros(features.shape, dtype=bool)
    m = int(np.ceil(radius)) + 1
    h, w = features.shape
    for ty in range(0, h, BAND):
        for tx in range(0, w, BAND):
            ey0, ex0, ey1, ex1 = _expand((ty, tx, min(h, ty + BAND), min(w, tx + BAND)), m, (h, w))
            win = features[ey0:ey1, ex0:ex1]
            if not win.any():
                continue
            dist = ndimage.distance_transform_edt(~win)
            oy, ox = ty - ey0, tx - ex0
            th, tw = min(BAND, h - ty), min(BAND, w - tx)
            out[ty : ty + th, tx : tx + tw] = dist[oy : oy + th, ox : ox + tw] <= radius
    return out


def _in_box(mask: np.ndarray, reach: int, op: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``op`` applied to the mask's bounding box grown by ``reach``; False elsewhere."""
    out = np.zeros(mask.shape, dtype=bool)
    box = bbox(mask)
    if box is not None:
        y0, x0, y1, x1 = _expand(box, reach, mask.shape)
        out[y0:y1, x0:x1] = op(mask[y0:y1, x0:x1])
    return out


def grow(mask: np.ndarray, radius: float) -> np.ndarray:
    """Dilate by a disk of ``radius`` pixels."""
    if radius <= 0:
        return mask.copy()
    return _in_box(mask, int(np.ceil(radius)) + 1, lambda crop: _within(crop, radius))


def shrink(mask: np.ndarray, radius: float) -> np.ndarray:
    """Erode by a disk of ``radius`` pixels; the image frame does not erode the mask.

    Damage that runs off the edge of the scan continues beyond it, so the frame counts
    as damaged for this purpose.
    """
    if radius <= 0:
        return mask.copy()
    out = np.zeros_like(mask, dtype=bool)
    box = bbox(mask)
    if box is None:
        return out
    h, w = mask.shape
    m = int(np.ceil(radius)) + 1
    y0, x0, y1, x1 = _expand(box, 1, mask.shape)
    crop = mask[y0:y1, x0:x1]
    (top, bottom), (left, right) = pad = ((m * (y0 == 0), m * (y1 == h)), (m * (x0 == 0), m * (x1 == w)))
    eroded = ~_within(~np.pad(crop, pad, constant_values=True), radius)
    out[y0:y1, x0:x1] = eroded[top : top + crop.shape[0], left : left + crop.shape[1]]
    return out


def smooth(mask: np.ndarray, radius: float) -> np.ndarray:
    """Round off jagged outlines: Gaussian blur of the mask, thresholded at one half."""
    if radius <= 0:
        return mask.copy()
    blur = lambda crop: ndimage.gaussian_filter(crop.astype(np.float32), radius / 2.0) >= 0.5  # noqa: E731
    return _in_box(mask, int(np.ceil(3 * radius)) + 1, blur)


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soft alpha (float32, 0..1) that ramps linearly across the outline over 2·radius.

    0.5 on the outline, 1 deeper than ``radius`` inside, 0 farther than ``radius`` outside.
    """
    alpha = mask.astype(np.float32)
    if radius <= 0:
        return alpha
    box = bbox(mask)
    if box is None:
        return alpha
    y0, x0, y1, x1 = _expand(box, int(np.ceil(radius)) + 2, mask.shape)
    crop = mask[y0:y1, x0:x1]
    inside = ndimage.distance_transform_edt(crop)  # distance to the nearest outside pixel
    outside = ndimage.distance_transform_edt(~crop) if (~crop).any() else np.zeros(crop.shape)
    signed = np.where(crop, inside - 0.5, 0.5 - outside)
    alpha[y0:y1, x0:x1] = np.clip(0.5 + signed / (2.0 * radius), 0.0, 1.0)
    return alpha


def fill_holes(mask: np.ndarray, max_area: int | None = None) -> np.ndarray:
    """Fill enclosed background pockets (all of them, or those up to ``max_area`` pixels)."""
    out = mask.copy()
    box = bbox(mask)
    if box is None:
        return out
    y0, x0, y1, x1 = box
    crop = mask[y0:y1, x0:x1]
    filled = ndimage.binary_fill_holes(crop)
    if max_area is not None:
        holes = filled & ~crop
        labels, n = ndimage.label(holes)
        if n:
            sizes = np.bincount(labels.ravel())
            keep = sizes <= max_area
            keep[0] = False
            filled = crop | keep[labels]
    out[y0:y1, x0:x1] = filled
    return out


def invert(mask: np.ndarray) -> np.ndarray:
    return ~mask


def union(masks: Iterable[np.ndarray], shape: tuple[int, int] | None = None) -> np.ndarray:
    """Logical OR of masks; an empty iterable gives an empty mask of ``shape``."""
    out: np.ndarray | None = None
    for m in masks:
        out = m.copy() if out is None else (out | m)
    if out is None:
        if shape is None:
            raise ValueError("union of no masks needs a shape")
        return np.zeros(shape, dtype=bool)
    return out


def regions(mask: np.ndarray, min_area: int = 1, connectivity: int = 8) -> list[Region]:
    """Connected regions with bounding boxes, largest first, ignoring those below min_area."""
    box = bbox(mask)
    if box is None:
        return []
    y0, x0, y1, x1 = box
    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    labels, n = ndimage.label(mask[y0:y1, x0:x1], structure=structure)
    if n == 0:
        return []
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    found: list[Region] = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None or areas[i] < min_area:
            continue
        found.append(
            Region(y0 + sl[0].start, x0 + sl[1].start, y0 + sl[0].stop, x0 + sl[1].stop, int(areas[i]))
        )
    found.sort(key=lambda r: -r.area)
    return found

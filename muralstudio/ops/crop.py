"""Crop-around-damage planning shared by all engines.

Each damaged region is taken with a margin of context and boxes that overlap are merged
until none do. A merged box that grew large while holding little damage (long cracks whose
boxes chain across the wall) is split along a grid: each cell owns the damaged pixels inside
it and gets its own context box, so work follows the damage, not its bounding box. Every
damaged pixel is owned by exactly one crop, and every crop sees all unknown pixels of its
box as unknown, so results do not depend on how the wall was split. Boxes larger than an
engine's working size can further be tiled with overlap (:func:`tile_box`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from muralstudio.core import masks as maskops


@dataclass(frozen=True)
class Box:
    """A rectangle of the image, rows y0:y1 and columns x0:x1 (end exclusive)."""

    y0: int
    x0: int
    y1: int
    x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def area(self) -> int:
        return self.height * self.width

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def expand(self, margin: int, shape: tuple[int, ...]) -> "Box":
        return Box(
            max(0, self.y0 - margin),
            max(0, self.x0 - margin),
            min(shape[0], self.y1 + margin),
            min(shape[1], self.x1 + margin),
        )


def _overlapping_pairs(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) of boxes that overlap, found by a sweep over sorted rows."""
    order = np.argsort(arr[:, 0], kind="stable")
    s = arr[order]
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    ends = np.searchsorted(s[:, 0], s[:, 2], side="left")  # boxes starting above my bottom
    for i in range(len(s)):
        cand = np.arange(i + 1, ends[i])
        if cand.size == 0:
            continue
        o = cand[(s[cand, 1] < s[i, 3]) & (s[i, 1] < s[cand, 3])]
        if o.size:
            firsts.append(np.full(o.size, order[i]))
            seconds.append(order[o])
    if not firsts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(firsts), np.concatenate(seconds)


def merge_overlapping(boxes: list[Box]) -> list[Box]:
    """Replace every group of overlapping boxes by its bounding box, until none overlap."""
    if not boxes:
        return []
    arr = np.array([(b.y0, b.x0, b.y1, b.x1) for b in boxes], dtype=np.int64)
    while len(arr) > 1:
        n = len(arr)
        rows, cols = _overlapping_pairs(arr)
        if rows.size == 0:
            break
        graph = coo_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(n, n))
        count, labels = connected_components(graph, directed=False)
        lo = np.full((count, 2), np.iinfo(np.int64).max)
        hi = np.full((count, 2), np.iinfo(np.int64).min)
        np.minimum.at(lo, labels, arr[:, :2])
        np.maximum.at(hi, labels, arr[:, 2:])
        arr = np.concatenate([lo, hi], axis=1)
    order = np.lexsort((arr[:, 1], arr[:, 0]))
    return [Box(*map(int, arr[i])) for i in order]


@dataclass(frozen=True)
class Crop:
    """Restore inside ``box``; paste back only the damaged pixels inside ``core``."""

    box: Box
    core: Box

    @property
    def paste(self) -> Box:
        """The part of the box whose damaged pixels this crop owns."""
        b, c = self.box, self.core
        return Box(max(b.y0, c.y0), max(b.x0, c.x0), min(b.y1, c.y1), min(b.x1, c.x1))

    @property
    def inner(self) -> tuple[slice, slice]:
        """Where :attr:`paste` lies inside an array of the box's pixels."""
        p, b = self.paste, self.box
        return slice(p.y0 - b.y0, p.y1 - b.y0), slice(p.x0 - b.x0, p.x1 - b.x0)


def region_boxes(mask: np.ndarray, margin: int, min_area: int = 1) -> list[Box]:
    """Boxes covering every damaged region with ``margin`` pixels of context, merged."""
    boxes = [
        Box(r.y0, r.x0, r.y1, r.x1).expand(margin, mask.shape)
        for r in maskops.regions(mask, min_area=min_area)
    ]
    return merge_overlapping(boxes)


def plan_crops(mask: np.ndarray, margin: int, cell: int = 512, dense: float = 0.25) -> list[Crop]:
    """Crops that together own every damaged pixel once, each with ``margin`` of context.

    Merged boxes up to two cells in area, or with at least ``dense`` of their pixels damaged,
    are kept whole; larger sparse ones are split along a grid of ``cell`` pixels.
    """
    crops: list[Crop] = []
    for box in region_boxes(mask, margin):
        sub = mask[box.slices]
        if box.area <= 2 * cell * cell or sub.mean() >= dense:
            crops.append(Crop(box, box))
            continue
        for cy in range(box.y0 // cell * cell, box.y1, cell):
            for cx in range(box.x0 // cell * cell, box.x1, cell):
                core = Box(max(cy, box.y0), max(cx, box.x0), min(cy + cell, box.y1), min(cx + cell, box.x1))
                found = maskops.bbox(mask[core.slices])
                if found is None:
                    continue
                y0, x0, y1, x1 = found
                inner = Box(core.y0 + y0, core.x0 + x0, core.y0 + y1, core.x0 + x1)
                crops.append(Crop(inner.expand(margin, mask.shape), core))
    return crops


def _starts(length: int, size: int, overlap: int) -> list[int]:
    if length <= size:
        return [0]
    step = max(1, size - overlap)
    n = int(np.ceil((length - size) / step)) + 1
    return [round(i * (length - size) / (n - 1)) for i in range(n)]


def tile_box(box: Box, size: int, overlap: int) -> list[Box]:
    """Split ``box`` into tiles of at most ``size`` that overlap by at least ``overlap``."""
    if overlap >= size:
        raise ValueError("tile overlap must be smaller than the tile size")
    tiles = []
    for dy in _starts(box.height, size, overlap):
        for dx in _starts(box.width, size, overlap):
            tiles.append(
                Box(box.y0 + dy, box.x0 + dx, box.y0 + min(box.height, dy + size), box.x0 + min(box.width, dx + size))
            )
    return tiles


def network_tiles(height: int, width: int, tile: int, multiple: int, overlap: int = 64) -> tuple[list[Box], int]:
    """Tiles covering an (height, width) array for a network whose inputs must be multiples of
    ``multiple`` (tile sides are, but for the array's own edges), and the overlap used
    (``overlap``, less for very small tiles)."""
    size = max(multiple, tile // multiple * multiple)
    overlap = min(overlap, size // 2)
    return tile_box(Box(0, 0, height, width), size, overlap), overlap

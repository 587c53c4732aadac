"""Comparison maps as they arrive tile by tile, kept at every display level, and their colours.

A map (edges, local SSIM, difference) is computed at full resolution on a worker thread,
tile by tile (:func:`muralstudio.ops.compare.map_tiles`). Each tile is pooled into the
display levels as it arrives, so the view can draw any zoom at once and the overlay fills in
progressively. Pooling keeps what matters when zoomed out: the lowest similarity, the
largest difference, the strongest edge. Qt-free, so it is tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from muralstudio.gui.levels import Rect, level_shape, levels_for

Box = tuple[int, int, int, int]
POOL_MIN = {"ssim"}  # kinds whose zoomed-out pixel shows the worst (lowest) value


def _pool(block: np.ndarray, take_min: bool) -> np.ndarray:
    """2 × 2 pooling of an (h, w, C) uint8 block; odd edges pool what they have."""
    h, w = block.shape[:2]
    if h % 2 or w % 2:
        fill = 255 if take_min else 0
        padded = np.full((h + h % 2, w + w % 2, block.shape[2]), fill, np.uint8)
        padded[:h, :w] = block
        block = padded
    quads = (block[0::2, 0::2], block[1::2, 0::2], block[0::2, 1::2], block[1::2, 1::2])
    op = np.minimum if take_min else np.maximum
    return op(op(quads[0], quads[1]), op(quads[2], quads[3]))


class MapStore:
    """A map of ``shape`` with ``channels`` uint8 values per pixel at every display level."""

    def __init__(self, kind: str, shape: tuple[int, int], channels: int = 1) -> None:
        self.kind = kind
        self.height, self.width = shape
        self.channels = channels
        self.take_min = kind in POOL_MIN
        self.levels = levels_for(self.height, self.width)
        fill = 255 if self.take_min else 0
        # np.zeros pages are mapped lazily; a filled array is written once at creation
        self._data = [np.zeros(level_shape(self.height, self.width, lv) + (channels,), np.uint8) if fill == 0
                      else np.full(level_shape(self.height, self.width, lv) + (channels,), fill, np.uint8)
                      for lv in range(self.levels)]
        self.done: set[Box] = set()  # tiles in, so a stopped job can resume where it was
        self.tiles_added = 0
        self.complete = False
        self.sums: Any = None  # the tiles' figure sums added up (PairSums)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._data)

    def add(self, box: Box, data: np.ndarray, sums: Any = None) -> Rect:
        """Store a full-resolution tile (and its figure sums) and refresh the levels above it."""
        y0, x0, y1, x1 = box
        arr = data if data.ndim == 3 else data[:, :, None]
        self._data[0][y0:y1, x0:x1] = arr
        for lv in range(1, self.levels):
            # the level-lv pixels this tile touches, pooled afresh from the level below
            a0, b0 = y0 >> lv, x0 >> lv
            a1, b1 = -(-y1 // (1 << lv)), -(-x1 // (1 << lv))
            below = self._data[lv - 1]
            src = below[2 * a0 : 2 * a1, 2 * b0 : 2 * b1]
            self._data[lv][a0:a1, b0:b1] = _pool(src, self.take_min)[: a1 - a0, : b1 - b0]
        self.tiles_added += 1
        self.done.add(box)
        if sums is not None:
            self.sums = sums if self.sums is None else self.sums + sums
        return box

    def region(self, level: int, rect: Rect) -> np.ndarray:
        """(h, w, C) values of ``rect`` in ``level``'s coordinates (a view: do not write to it)."""
        y0, x0, y1, x1 = rect
        return self._data[level][y0:y1, x0:x1]


# ------------------------------------------------------------------------------ colours

EDGE_A = (0, 220, 255)  # side A's edges: cyan
EDGE_B = (255, 60, 200)  # side B's edges: magenta
EDGE_BOTH = (255, 255, 255)
BOTH_FADE = 0.6  # how much fainter a shared edge is drawn than one only a side has
OUTLINE = (255, 220, 0)
DIFF_FULL = 64  # a difference of 64 (0-255 scale) or more shows at full strength


@dataclass(frozen=True)
class Legend:
    """What the overlay's colours mean: a title, and either swatches or a ramp with ends."""

    title: str
    swatches: tuple[tuple[tuple[int, int, int], str], ...] = ()
    ramp: tuple[tuple[int, int, int], ...] = ()
    ends: tuple[str, str] = ("", "")


def _ramp(t: np.ndarray) -> np.ndarray:
    """Yellow (t=0) through orange and red to magenta (t=1): (..., 3) uint8."""
    stops = np.array([[255, 235, 60], [255, 140, 0], [230, 20, 20], [200, 0, 200]], np.float32)
    x = np.clip(t, 0, 1) * (len(stops) - 1)
    i = np.minimum(x.astype(np.int32), len(stops) - 2)
    f = (x - i)[..., None]
    return (stops[i] * (1 - f) + stops[i + 1] * f).astype(np.uint8)


RAMP_SAMPLES = tuple(tuple(int(v) for v in c) for c in _ramp(np.linspace(0, 1, 32)))


def legend(kind: str, edge_method: str = "sobel") -> Legend:
    if kind == "edges":
        return Legend(f"Edges ({'Sobel magnitude' if edge_method == 'sobel' else 'Canny'})",
                      swatches=((EDGE_A, "only in A"), (EDGE_B, "only in B"), (EDGE_BOTH, "in both")))
    if kind == "ssim":
        return Legend("Local SSIM (11 × 11 Gaussian window)", ramp=RAMP_SAMPLES, ends=("0.9 similar", "0 unlike"))
    if kind == "diff":
        return Legend("Absolute difference (0–255)", ramp=RAMP_SAMPLES, ends=("small", f"≥ {DIFF_FULL}"))
    if kind == "outline":
        return Legend("Damage mask", swatches=((OUTLINE, "outline of every marked class"),))
    raise ValueError(f"unknown map kind {kind!r}")


def _colours(kind: str, values: np.ndarray, opacity: float) -> np.ndarray:
    """RGBA uint8 (..., 4) for map values (..., C); the formula behind the lookup tables."""
    out = np.zeros(values.shape[:-1] + (4,), np.uint8)
    if kind == "edges":
        a = values[..., 0].astype(np.float32) / 255
        b = values[..., 1].astype(np.float32) / 255
        strength = np.maximum(a, b)
        share = np.where(strength > 0, np.minimum(a, b) / np.maximum(strength, 1e-6), 0.0)[..., None]
        only = np.where((a >= b)[..., None], np.array(EDGE_A, np.float32), np.array(EDGE_B, np.float32))
        out[..., :3] = (only * (1 - share) + np.array(EDGE_BOTH, np.float32) * share).astype(np.uint8)
        # lines both sides share are context and stay faint; lines only one side has stand out
        alpha = strength * (1 - BOTH_FADE * share[..., 0])
    elif kind in ("ssim", "diff"):
        v = values[..., 0].astype(np.float32) / 255
        # ssim: 1 (alike) -> nothing, 0.9 -> faint yellow, 0 -> magenta; diff: 0 -> nothing
        t = np.clip((0.9 - v) / 0.9, 0, 1) if kind == "ssim" else np.clip(v * 255 / DIFF_FULL, 0, 1)
        out[..., :3] = _ramp(t)
        if kind == "ssim":
            alpha = np.where(v < 0.97, np.maximum(np.where(t > 0, 0.35 + 0.65 * t, 0.0), 0.2), 0.0)
        else:
            alpha = t
    elif kind == "outline":
        on = values[..., 0] > 0
        out[on, :3] = OUTLINE
        alpha = on.astype(np.float32)
    else:
        raise ValueError(f"unknown map kind {kind!r}")
    out[..., 3] = np.clip(alpha * opacity * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


@lru_cache(maxsize=16)
def _table(kind: str, opacity: float) -> np.ndarray:
    """Every value's colour: 256 entries, or 65536 for the two channels of edges (A·256 + B)."""
    if kind == "edges":
        a, b = np.divmod(np.arange(65536), 256)
        return _colours(kind, np.stack([a, b], axis=1).astype(np.uint8), opacity)
    return _colours(kind, np.arange(256, dtype=np.uint8)[:, None], opacity)


def colourise(kind: str, values: np.ndarray, opacity: float = 1.0) -> np.ndarray:
    """RGBA uint8 (h, w, 4) of a map region; where the two sides agree it is transparent."""
    if kind not in ("edges", "ssim", "diff", "outline"):
        raise ValueError(f"unknown map kind {kind!r}")
    table = _table(kind, round(float(opacity), 3))
    if kind == "edges":
        return table[values[:, :, 0].astype(np.intp) * 256 + values[:, :, 1]]
    return table[values[:, :, 0]]

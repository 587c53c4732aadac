"""Comparison maps between two images, computed tile by tile for the compare view.

The GUI shows two images (e.g. the scan and a restoration candidate) and overlays one of
``MAP_KINDS`` on them.  Images can be 100 Mpx, so maps are computed per tile with a halo
of context (the tile the user is looking at first, see :func:`order_tiles`) and streamed
as ``Progress(fraction, message, preview=MapTile)``; closing the generator cancels.

Each tile is computed so that assembling the tiles gives the whole-image map:

ssim   uint8 (h, w): local SSIM (``ops.metrics.ssim_map``: Gaussian 11x11, sigma 1.5, mean
       over channels) clipped to [0, 1], times 255, rounded.  Halo = window radius.
diff   uint8 (h, w): |A - B| on the 0-255 scale, max over channels, rounded.
edges  uint8 (h, w, 2): edge strength of A (channel 0) and of B (channel 1), of luma.
       "sobel": Sobel magnitude * 255 / ``SOBEL_FULL_SCALE``, clipped; "canny": 0/255 Canny
       edges (thresholds ``CANNY_THRESHOLDS``, L2 gradient) with a 32 px halo, which matches
       the whole-image result except for rare hysteresis chains longer than the halo.

Every tile also carries :class:`PairSums`, additive sums from which whole-image PSNR and
SSIM (and their values inside a mask) follow exactly as ``ops.metrics`` computes them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from muralstudio.core.progress import Progress
from muralstudio.ops.metrics import _C1, _C2, _SSIM_RADIUS, _gauss, _luma, _psnr_from_mse, _sobel_mag, to_float255

__all__ = [
    "CANNY_THRESHOLDS",
    "EDGE_METHODS",
    "MAP_KINDS",
    "SOBEL_FULL_SCALE",
    "Box",
    "Getter",
    "MapTile",
    "PairSums",
    "map_tiles",
    "mask_outline",
    "order_tiles",
    "ssim_map32",
    "tile_boxes",
]

Box = tuple[int, int, int, int]
"""(y0, x0, y1, x1) in image coordinates, end exclusive."""
Getter = Callable[[Box], np.ndarray]
"""Returns the pixels of a box: (h, w) or (h, w, C), uint8 / uint16 / float in [0, 1]."""

MAP_KINDS = ("edges", "ssim", "diff")
EDGE_METHODS = ("sobel", "canny")

# A 3x3 Sobel responds with 4 * step to a step edge, so 510 (full scale) is reached by a
# 0 -> 128 step: strong painted lines saturate, a 30-level line still shows at ~60, noise
# of a few levels on flat paint stays under ~10.  Fixed, so that tiles agree.
SOBEL_FULL_SCALE = 510.0
# Hysteresis thresholds on the L2 Sobel magnitude of 8-bit luma (1:3, Canny's advice):
# a step of about 12 levels starts a chain, about 38 levels is needed to seed one.
CANNY_THRESHOLDS = (50.0, 150.0)
_HALO = {"ssim": _SSIM_RADIUS, "diff": 0, "sobel": 1, "canny": 32}


# ---------------------------------------------------------------- figures


@dataclass
class PairSums:
    """Additive sums for whole-image figures, so tiles can be combined with ``+``.

    ``sq_err`` / ``n``: squared error (0-255 scale) over all values (pixels x channels).
    ``ssim_sum`` / ``ssim_n``: SSIM map summed over the image less a 5 px border (the
    convention of ``ops.metrics.ssim``); the ``*_mask`` fields cover the mask's pixels
    (SSIM uncropped, as ``ops.metrics.ssim(a, b, mask)``).  SSIM sums are filled only
    by kind "ssim"; for other kinds they stay 0 and :meth:`ssim` is nan.
    """

    sq_err: float = 0.0
    n: int = 0
    ssim_sum: float = 0.0
    ssim_n: int = 0
    sq_err_mask: float = 0.0
    n_mask: int = 0
    ssim_sum_mask: float = 0.0
    ssim_n_mask: int = 0

    def __add__(self, other: PairSums) -> PairSums:
        if not isinstance(other, PairSums):
            return NotImplemented
        return PairSums(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))

    def psnr(self) -> float:
        """Whole-image PSNR in dB (inf when identical, nan when nothing was summed)."""
        return math.nan if self.n == 0 else _psnr_from_mse(self.sq_err / self.n)

    def ssim(self) -> float:
        """Whole-image mean SSIM (nan when not computed)."""
        return math.nan if self.ssim_n == 0 else self.ssim_sum / self.ssim_n

    def psnr_mask(self) -> float | None:
        """PSNR inside the mask; None without a mask or when it is empty."""
        return None if self.n_mask == 0 else _psnr_from_mse(self.sq_err_mask / self.n_mask)

    def ssim_mask(self) -> float | None:
        """Mean SSIM inside the mask; None without a mask, when empty or not computed."""
        return None if self.ssim_n_mask == 0 else self.ssim_sum_mask / self.ssim_n_mask


@dataclass(frozen=True)
class MapTile:
    """One computed tile: its box (no halo), its map data and its figure sums."""

    box: Box
    data: np.ndarray
    stats: PairSums


# ---------------------------------------------------------------- tiling


def tile_boxes(shape: tuple[int, ...], tile: int) -> list[Box]:
    """Row-major tiling of an (H, W) image into boxes of at most ``tile`` x ``tile``."""
    if tile < 1:
        raise ValueError(f"tile size must be positive, got {tile}")
    h, w = int(shape[0]), int(shape[1])
    return [(y, x, min(h, y + tile), min(w, x + tile)) for y in range(0, h, tile) for x in range(0, w, tile)]


def order_tiles(boxes: Sequence[Box], focus: Box) -> list[Box]:
    """Tiles overlapping ``focus`` first, then the others; each group nearest its centre first.

    So the part of the image in view appears first and the map then grows outwards.
    Ties keep the order of ``boxes``.
    """
    fy, fx = (focus[0] + focus[2]) / 2.0, (focus[1] + focus[3]) / 2.0

    def key(b: Box) -> tuple[bool, float]:
        touches = b[0] < focus[2] and focus[0] < b[2] and b[1] < focus[3] and focus[1] < b[3]
        dist = math.hypot((b[0] + b[2]) / 2.0 - fy, (b[1] + b[3]) / 2.0 - fx)
        return (not touches, dist)

    return sorted(boxes, key=key)


def mask_outline(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """Bool: mask pixels within ``width`` px (8-neighbourhood) of a pixel outside the mask.

    The inner boundary, so the outline never covers paint outside the mask.  Beyond the
    image counts as outside, so an outline stays closed where a mask meets the border.
    """
    if width < 1:
        raise ValueError(f"outline width must be at least 1, got {width}")
    m = np.asarray(mask).astype(np.uint8)
    k = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    inner = cv2.erode(m, k, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return (m > 0) & (inner == 0)


# ---------------------------------------------------------------- per-tile maps


def ssim_map32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``ops.metrics.ssim_map`` in float32 (about twice as fast; agrees to ~1e-4).

    Same window, constants, reflect borders and channel mean.  The statistics are taken
    on values centred at 128 (variance and covariance do not change) so that float32
    keeps E[x^2] - E[x]^2 accurate; four blurs, since only var_x + var_y is needed.
    """
    acc: np.ndarray | None = None
    channels = 1 if a.ndim == 2 else a.shape[2]
    for c in range(channels):
        x = to_float255(a if a.ndim == 2 else a[:, :, c])
        y = to_float255(b if b.ndim == 2 else b[:, :, c])
        x -= 128.0
        y -= 128.0
        mx, my = _gauss(x), _gauss(y)
        t = x * y
        sxy = _gauss(t)
        np.multiply(x, x, out=x)
        np.multiply(y, y, out=y)
        x += y
        var = _gauss(x)  # blur(x^2 + y^2), centred
        np.multiply(mx, my, out=t)
        sxy -= t  # cov_xy
        np.multiply(mx, mx, out=x)
        np.multiply(my, my, out=y)
        x += y
        var -= x  # var_x + var_y
        mx += 128.0  # the true local means
        my += 128.0
        np.multiply(mx, my, out=t)
        np.multiply(mx, mx, out=mx)
        np.multiply(my, my, out=my)
        mx += my
        mx += _C1
        var += _C2
        mx *= var  # denominator
        t *= 2.0
        t += _C1
        sxy *= 2.0
        sxy += _C2
        t *= sxy  # numerator
        t /= mx
        if acc is None:
            acc = t
        else:
            acc += t
    assert acc is not None
    if channels > 1:
        acc /= channels
    return acc


def _abs_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|A - B| on the 0-255 scale, float32, same shape as the inputs."""
    if a.dtype == b.dtype and a.dtype in (np.uint8, np.uint16):
        flat = cv2.absdiff(np.ascontiguousarray(a).reshape(a.shape[0], -1),
                           np.ascontiguousarray(b).reshape(b.shape[0], -1))
        return to_float255(flat.reshape(a.shape))
    d = to_float255(a)
    d -= to_float255(b)
    return np.abs(d, out=d)


def _channels(x: np.ndarray, op: Callable[..., np.ndarray]) -> np.ndarray:
    """Reduce the channel axis with a binary ufunc, slice by slice (much faster than axis=2)."""
    if x.ndim == 2:
        return x
    out = x[:, :, 0].copy()
    for c in range(1, x.shape[2]):
        op(out, x[:, :, c], out=out)
    return out


def _edges(img: np.ndarray, method: str) -> np.ndarray:
    y = _luma(img)
    if method == "canny":
        y8 = np.clip(np.rint(y), 0, 255).astype(np.uint8)
        lo, hi = CANNY_THRESHOLDS
        return cv2.Canny(y8, lo, hi, L2gradient=True)
    g = _sobel_mag(y)
    g *= 255.0 / SOBEL_FULL_SCALE
    return np.rint(np.minimum(g, 255.0)).astype(np.uint8)


def _tile(
    kind: str, method: str, box: Box, shape: tuple[int, int], get_a: Getter, get_b: Getter,
    mask: Getter | None,
) -> MapTile:
    """Compute one tile from its box read with a halo (clipped to the image)."""
    h, w = shape
    y0, x0, y1, x1 = box
    halo = _HALO[method if kind == "edges" else kind]
    outer = (max(0, y0 - halo), max(0, x0 - halo), min(h, y1 + halo), min(w, x1 + halo))
    a, b = np.asarray(get_a(outer)), np.asarray(get_b(outer))
    want = (outer[2] - outer[0], outer[3] - outer[1])
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.shape[:2] != want or a.ndim not in (2, 3):
        raise ValueError(f"a getter returned shape {a.shape} for a box of {want}")
    inner = (slice(y0 - outer[0], y1 - outer[0]), slice(x0 - outer[1], x1 - outer[1]))

    # Pixel error over the tile proper (as ops.metrics.mse: float32 differences).
    d = _abs_diff(a[inner], b[inner])
    data = np.rint(_channels(d, np.maximum)).astype(np.uint8) if kind == "diff" else None
    sq = _channels(np.square(d, out=d), np.add)
    channels = 1 if a.ndim == 2 else a.shape[2]
    stats = PairSums(sq_err=float(sq.sum(dtype=np.float64)), n=sq.size * channels)
    m = None
    if mask is not None:
        m = np.asarray(mask(box)).astype(bool, copy=False)
        if m.shape != (y1 - y0, x1 - x0):
            raise ValueError(f"mask getter returned shape {m.shape} for a box of {(y1 - y0, x1 - x0)}")
        stats.sq_err_mask, stats.n_mask = float(sq[m].sum(dtype=np.float64)), int(m.sum()) * channels

    if kind == "edges":
        data = np.stack([_edges(a, method)[inner], _edges(b, method)[inner]], axis=2)
    elif kind == "ssim":
        smap = ssim_map32(a, b)[inner]
        data = np.rint(np.clip(smap, 0.0, 1.0) * 255.0).astype(np.uint8)
        # Whole-image mean SSIM drops a border of one window radius (if the image is big enough).
        p = _SSIM_RADIUS if min(h, w) > 2 * _SSIM_RADIUS else 0
        cy0, cx0, cy1, cx1 = max(y0, p), max(x0, p), min(y1, h - p), min(x1, w - p)
        if cy1 > cy0 and cx1 > cx0:
            part = smap[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
            stats.ssim_sum, stats.ssim_n = float(part.sum(dtype=np.float64)), part.size
        if m is not None:
            stats.ssim_sum_mask, stats.ssim_n_mask = float(smap[m].sum(dtype=np.float64)), int(m.sum())
    assert data is not None
    return MapTile(box, data, stats)


def map_tiles(
    kind: str,
    get_a: Getter,
    get_b: Getter,
    shape: tuple[int, int],
    *,
    tile: int = 1024,
    order: Sequence[Box] | None = None,
    edge_method: str = "sobel",
    mask: Getter | None = None,
) -> Generator[Progress, None, PairSums]:
    """Compute map ``kind`` of A against B tile by tile.

    Yields ``Progress(fraction, message, preview=MapTile)`` once per tile, in ``order``
    (default: :func:`tile_boxes` row-major) and returns the total :class:`PairSums`.
    ``mask`` (a getter of bool (h, w) boxes, True = inside) adds the masked figures.
    Close the generator to cancel; no work is done after the last yield it reached.
    Bad ``kind`` / ``edge_method`` raise ValueError at the call, bad shapes while running.
    """
    if kind not in MAP_KINDS:
        raise ValueError(f"unknown map kind {kind!r}; expected one of {MAP_KINDS}")
    if edge_method not in EDGE_METHODS:
        raise ValueError(f"unknown edge method {edge_method!r}; expected one of {EDGE_METHODS}")
    h, w = int(shape[0]), int(shape[1])
    boxes = list(order) if order is not None else tile_boxes((h, w), tile)
    for y0, x0, y1, x1 in boxes:
        if not (0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w):
            raise ValueError(f"tile box {(y0, x0, y1, x1)} is empty or outside the image {(h, w)}")
    return _run(kind, edge_method, boxes, (h, w), get_a, get_b, mask)


def _run(
    kind: str, method: str, boxes: list[Box], shape: tuple[int, int], get_a: Getter, get_b: Getter,
    mask: Getter | None,
) -> Generator[Progress, None, PairSums]:
    total = PairSums()
    label = f"{method} edges" if kind == "edges" else kind.upper() if kind == "ssim" else "difference"
    for i, box in enumerate(boxes):
        t = _tile(kind, method, box, shape, get_a, get_b, mask)
        total = total + t.stats
        yield Progress((i + 1) / len(boxes), f"Comparing ({label}): tile {i + 1} of {len(boxes)}",
                       preview=t)
    return total

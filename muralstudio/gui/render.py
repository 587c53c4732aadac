"""Display data for the canvas, without Qt: an 8-bit pyramid of the scan and mask overlays.

Everything here works on tiles of ``TILE`` × ``TILE`` display pixels, computed when first
asked for and kept in caches bounded in bytes, so a 100-megapixel 16-bit scan never needs a
full-size 8-bit copy and a view only pays for what it shows.

Levels: level ``L`` shows the image at 1 / 2**L; its pixel (i, j) covers the source pixels
[i·2**L, (i+1)·2**L) × [j·2**L, (j+1)·2**L) (fewer at the right and bottom edges).

Display values (:class:`DisplayPyramid`):
- level 0 maps each source value to 8 bits: 8-bit as is, 16-bit by rounding, (v + 128) // 257;
- level L > 0 is area averaging at 16-bit precision (8-bit sources are first scaled by 257):
  a full 2**L block is reduced by L successive 2 × 2 means, each rounded half up,
  ``(a + b + c + d + 2) >> 2``; a block cut by the right or bottom edge takes the exact mean
  of the pixels it has, rounded half up; then the value is mapped to 8 bits like level 0. Each level-L tile is made from the source block under it (in row
  strips of bounded size), never from a full-resolution 8-bit image. The result is within one
  8-bit step of the exact block mean and equal to it in almost every pixel.
- grey is expanded to RGB.

Overlays (:class:`OverlayRenderer`): a display pixel of a mask at level L is set when any
source pixel under it is set (max-pooling), so a 1-pixel crack stays visible when zoomed out.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Callable, Hashable, Iterable, Iterator, Sequence

import cv2
import numpy as np

from muralstudio.core.candidate import Candidate
from muralstudio.core.damage import STYLES, DamageClass

TILE = 256  # display pixels per tile side
PYRAMID_CACHE_BYTES = 256 << 20
OVERLAY_CACHE_BYTES = 96 << 20
STRIP_BYTES = 48 << 20  # source bytes reduced at once when making a coarse tile
OCCUPANCY_BLOCK = 256  # source pixels per side of the blocks whose emptiness is remembered
Rect = tuple[int, int, int, int]  # y0, x0, y1, x1, end exclusive


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------
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
    f = 1 << level
    return (-(-height // f), -(-width // f))


def to_display8(values: np.ndarray) -> np.ndarray:
    """8-bit values of uint8 or uint16 ``values`` (16-bit: (v + 128) // 257)."""
    if values.dtype == np.uint8:
        return values
    out = cv2.convertScaleAbs(values, alpha=1.0 / 257.0)  # exact: v/257 is never a tie
    return out.reshape(values.shape)


def _halve16(x: np.ndarray) -> np.ndarray:
    """2 × 2 means of (h, w, C) uint16 with even h and w, rounded half up."""
    h, w, c = x.shape
    out = cv2.resize(x, (w // 2, h // 2), interpolation=cv2.INTER_AREA)  # exact: (a+b+c+d+2)>>2
    return out.reshape(h // 2, w // 2, c)


def _edge_means16(strip: np.ndarray, f: int, scale: int) -> np.ndarray:
    """Exact means (rounded half up, 16-bit scale) of the f-wide column groups of a strip
    of fewer than f rows: (ceil(w/f), C) uint16."""
    r, w, c = strip.shape
    col = strip.sum(axis=0, dtype=np.uint64)  # (w, C)
    gw = -(-w // f)
    pad = gw * f - w
    if pad:
        col = np.concatenate([col, np.zeros((pad, c), np.uint64)])
    sums = col.reshape(gw, f, c).sum(axis=1) * scale
    counts = np.full(gw, r * f, np.uint64)
    if pad:
        counts[-1] = r * (f - pad)
    return ((2 * sums + counts[:, None]) // (2 * counts[:, None])).astype(np.uint16)


def reduce_block(block: np.ndarray, level: int) -> np.ndarray:
    """8-bit RGB display pixels at ``level`` of a source block aligned to 2**level.

    Full f × f blocks (f = 2**level) are reduced by ``level`` successive 2 × 2 means at
    16-bit precision, each rounded half up; blocks cut by the bottom or right edge of the
    block take the exact mean of the pixels they have, rounded half up.
    """
    if level == 0:
        out = to_display8(block)
    else:
        f = 1 << level
        h, w, c = block.shape
        hb, wb = h // f, w // f
        scale = 257 if block.dtype == np.uint8 else 1
        x16 = np.empty((-(-h // f), -(-w // f), c), np.uint16)
        if hb and wb:
            x = block[: hb * f, : wb * f]
            if scale != 1:
                x = x.astype(np.uint16)
                x *= 257
            for _ in range(level):
                x = _halve16(x)
            x16[:hb, :wb] = x
        if h % f:
            x16[hb] = _edge_means16(block[hb * f :], f, scale)
        if w % f and hb:
            right = block[: hb * f, wb * f :].transpose(1, 0, 2)
            x16[:hb, wb] = _edge_means16(right, f, scale)
        out = to_display8(x16)
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return out


def _rect_overlap(a: Rect, b: Rect) -> Rect | None:
    y0, x0 = max(a[0], b[0]), max(a[1], b[1])
    y1, x1 = min(a[2], b[2]), min(a[3], b[3])
    if y0 >= y1 or x0 >= x1:
        return None
    return (y0, x0, y1, x1)


def _union(a: Rect | None, b: Rect) -> Rect:
    if a is None:
        return b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def any_blocks(mask: np.ndarray, f: int) -> np.ndarray:
    """Max-pooling of a bool (h, w) array over f × f blocks: (ceil(h/f), ceil(w/f)) bool.

    Blocks cut by the bottom or right edge pool the pixels they have.
    """
    h, w = mask.shape
    if f == 1:
        return mask.copy()
    gh, gw = -(-h // f), -(-w // f)
    rows = np.empty((gh, w), dtype=bool)
    hb = h // f
    if hb:
        np.logical_or.reduce(mask[: hb * f].reshape(hb, f, w), axis=1, out=rows[:hb])
    if h % f:
        np.logical_or.reduce(mask[hb * f :], axis=0, out=rows[hb])
    if w % f:
        rows = np.concatenate([rows, np.zeros((gh, gw * f - w), dtype=bool)], axis=1)
    if f in (2, 4, 8):
        packed = rows.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[f])
        return packed != 0
    if f % 8 == 0:
        packed = rows.view(np.uint64).reshape(gh, gw, f // 8)
        return np.logical_or.reduce(packed != 0, axis=2)
    return np.logical_or.reduce(rows.reshape(gh, gw, f), axis=2)


# --------------------------------------------------------------------------------------
# a cache bounded in bytes
# --------------------------------------------------------------------------------------
class TileCache:
    """Least-recently-used mapping bounded by the bytes its values declare."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def keys(self) -> list[Hashable]:
        return list(self._items)

    def get(self, key: Hashable, default: object = None) -> object:
        item = self._items.get(key)
        if item is None:
            return default
        self._items.move_to_end(key)
        return item[0]

    def peek(self, key: Hashable, default: object = None) -> object:
        item = self._items.get(key)
        return default if item is None else item[0]

    def put(self, key: Hashable, value: object, nbytes: int) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        self._items[key] = (value, int(nbytes))
        self.nbytes += int(nbytes)
        self._shrink(keep=key)

    def resize(self, key: Hashable, nbytes: int) -> None:
        """Record a new size for a value changed in place."""
        item = self._items.get(key)
        if item is not None:
            self.nbytes += int(nbytes) - item[1]
            self._items[key] = (item[0], int(nbytes))
            self._shrink(keep=key)

    def pop(self, key: Hashable) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.nbytes -= item[1]

    def discard_if(self, pred: Callable[[Hashable], bool]) -> None:
        for key in [k for k in self._items if pred(k)]:
            self.pop(key)

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0

    def _shrink(self, keep: Hashable) -> None:
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            key = next(iter(self._items))
            if key == keep:  # the newest value alone may exceed the bound
                break
            self.pop(key)


# --------------------------------------------------------------------------------------
# the image pyramid
# --------------------------------------------------------------------------------------
class _CandidateIndex:
    """Patch boxes of a candidate, for finding the patches under a tile quickly."""

    def __init__(self, cand: Candidate) -> None:
        self.candidate = cand
        boxes = [(p.y, p.x, p.y + p.mask.shape[0], p.x + p.mask.shape[1]) for p in cand.patches]
        self.boxes = np.array(boxes, dtype=np.int64).reshape(-1, 4)

    def patches_in(self, rect: Rect) -> list[int]:
        if not len(self.boxes):
            return []
        b = self.boxes
        y0, x0, y1, x1 = rect
        hit = (b[:, 0] < y1) & (b[:, 2] > y0) & (b[:, 1] < x1) & (b[:, 3] > x0)
        return [int(i) for i in np.flatnonzero(hit)]


class DisplayPyramid:
    """8-bit RGB display data of a scan at levels 1, 1/2, 1/4 ..., made lazily per tile.

    ``pixels`` is (H, W, C) or (H, W), C = 1 or 3, uint8 or uint16; it is only read.
    Tiles are kept in an LRU cache bounded by ``cache_bytes``. Arrays returned may be
    read-only views of cached tiles: copy before writing to them.
    """

    def __init__(self, pixels: np.ndarray, tile: int = TILE, cache_bytes: int = PYRAMID_CACHE_BYTES) -> None:
        px = pixels if pixels.ndim == 3 else pixels[:, :, None]
        if px.ndim != 3 or px.shape[2] not in (1, 3) or px.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"pixels must be (H, W, 1|3) uint8 or uint16, got {pixels.shape} {pixels.dtype}")
        if px.shape[0] < 1 or px.shape[1] < 1:
            raise ValueError("the image is empty")
        self.pixels = px
        self.height, self.width = int(px.shape[0]), int(px.shape[1])
        self.tile_size = int(tile)
        self.levels = levels_for(self.height, self.width)
        self.cache = TileCache(cache_bytes)
        self.tiles_computed = 0  # tiles made since construction (for tests and stats)
        self._candidates: dict[str, _CandidateIndex] = {}
        # 8-bit RGB level-0 tiles are plain views of the source: nothing to compute or cache.
        self._passthrough = px.dtype == np.uint8 and px.shape[2] == 3

    # -- geometry ---------------------------------------------------------------------
    @property
    def max_level(self) -> int:
        return self.levels - 1

    def level_shape(self, level: int) -> tuple[int, int]:
        return level_shape(self.height, self.width, level)

    def level_for_zoom(self, zoom: float) -> int:
        return level_for_zoom(zoom, self.max_level)

    def tile_grid(self, level: int) -> tuple[int, int]:
        h, w = self.level_shape(level)
        t = self.tile_size
        return (-(-h // t), -(-w // t))

    def tile_rect(self, level: int, ty: int, tx: int) -> Rect:
        h, w = self.level_shape(level)
        t = self.tile_size
        return (ty * t, tx * t, min(h, (ty + 1) * t), min(w, (tx + 1) * t))

    # -- candidates -------------------------------------------------------------------
    def _index(self, cand: Candidate) -> _CandidateIndex:
        idx = self._candidates.get(cand.id)
        if idx is None or idx.candidate is not cand:
            if idx is not None:
                self.forget_candidate(cand.id)
            idx = self._candidates[cand.id] = _CandidateIndex(cand)
        return idx

    def candidate_ids(self) -> list[str]:
        """Ids of the candidates this pyramid holds tiles or an index for."""
        return list(self._candidates)

    def forget_candidate(self, cid: str) -> None:
        """Drop the cached tiles of a candidate (removed, or its patches changed)."""
        self._candidates.pop(cid, None)
        self.cache.discard_if(lambda k: k[0] == cid)

    def clear(self) -> None:
        self.cache.clear()

    # -- tiles ------------------------------------------------------------------------
    def is_cached(self, level: int, ty: int, tx: int, candidate: Candidate | None = None) -> bool:
        if candidate is not None:
            sy0, sx0, sy1, sx1 = self._source_rect(level, ty, tx)
            if self._index(candidate).patches_in((sy0, sx0, sy1, sx1)):
                return (candidate.id, level, ty, tx) in self.cache
        if level == 0 and self._passthrough:
            return True
        return (None, level, ty, tx) in self.cache

    def _source_rect(self, level: int, ty: int, tx: int) -> Rect:
        y0, x0, y1, x1 = self.tile_rect(level, ty, tx)
        f = 1 << level
        return (y0 * f, x0 * f, min(self.height, y1 * f), min(self.width, x1 * f))

    def tile(self, level: int, ty: int, tx: int, candidate: Candidate | None = None) -> np.ndarray:
        """The display pixels of one tile, (th, tw, 3) uint8, read-only."""
        if not 0 <= level < self.levels:
            raise ValueError(f"level {level} out of range 0..{self.levels - 1}")
        src = self._source_rect(level, ty, tx)
        patches: list[int] = []
        cid = None
        if candidate is not None:
            patches = self._index(candidate).patches_in(src)
            if patches:
                cid = candidate.id
        key = (cid, level, ty, tx)
        if cid is None and level == 0 and self._passthrough:
            sy0, sx0, sy1, sx1 = src
            return self.pixels[sy0:sy1, sx0:sx1]
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        out = self._compute(level, src, candidate if cid is not None else None, patches)
        out.flags.writeable = False
        self.cache.put(key, out, out.nbytes)
        self.tiles_computed += 1
        return out

    def _compute(self, level: int, src: Rect, cand: Candidate | None, patches: list[int]) -> np.ndarray:
        sy0, sx0, sy1, sx1 = src
        f = 1 << level
        c = self.pixels.shape[2]
        row_bytes = (sx1 - sx0) * c * 2
        strip = max(f, (STRIP_BYTES // max(1, row_bytes)) // f * f)
        h, w = -(-(sy1 - sy0) // f), -(-(sx1 - sx0) // f)
        out = np.empty((h, w, 3), np.uint8)
        for ry in range(sy0, sy1, strip):
            ry1 = min(sy1, ry + strip)
            block = self.pixels[ry:ry1, sx0:sx1]
            if cand is not None:
                block = self._with_patches(block, (ry, sx0, ry1, sx1), cand, patches)
            part = reduce_block(block, level)
            oy = (ry - sy0) // f
            out[oy : oy + part.shape[0]] = part
        return out

    @staticmethod
    def _with_patches(block: np.ndarray, rect: Rect, cand: Candidate, patches: list[int]) -> np.ndarray:
        out = None
        for i in patches:
            p = cand.patches[i]
            ph, pw = p.mask.shape
            ov = _rect_overlap(rect, (p.y, p.x, p.y + ph, p.x + pw))
            if ov is None:
                continue
            if out is None:
                out = block.copy()
            y0, x0, y1, x1 = ov
            m = p.mask[y0 - p.y : y1 - p.y, x0 - p.x : x1 - p.x]
            dst = out[y0 - rect[0] : y1 - rect[0], x0 - rect[1] : x1 - rect[1]]
            pix = p.pixels[y0 - p.y : y1 - p.y, x0 - p.x : x1 - p.x]
            if pix.ndim == 2:
                pix = pix[:, :, None]
            dst[m] = pix[m]
        return block if out is None else out

    def tiles_in(self, level: int, y0: int, x0: int, y1: int, x1: int) -> Iterator[tuple[int, int]]:
        t = self.tile_size
        for ty in range(y0 // t, -(-y1 // t)):
            for tx in range(x0 // t, -(-x1 // t)):
                yield ty, tx

    def region(
        self, level: int, y0: int, x0: int, y1: int, x1: int, candidate: Candidate | None = None
    ) -> np.ndarray:
        """(y1-y0, x1-x0, 3) uint8 display pixels of ``level`` (in that level's coordinates).

        With ``candidate``, its patches are pasted over the original first. The result may
        be a read-only view when the region lies in one tile.
        """
        lh, lw = self.level_shape(level) if 0 <= level < self.levels else (0, 0)
        if not (0 <= level < self.levels and 0 <= y0 <= y1 <= lh and 0 <= x0 <= x1 <= lw):
            raise ValueError(f"region ({y0}, {x0}, {y1}, {x1}) outside level {level} of size {lh} × {lw}")
        t = self.tile_size
        if y1 > y0 and x1 > x0 and y0 // t == (y1 - 1) // t and x0 // t == (x1 - 1) // t:
            ty, tx = y0 // t, x0 // t
            tile = self.tile(level, ty, tx, candidate)
            return tile[y0 - ty * t : y1 - ty * t, x0 - tx * t : x1 - tx * t]
        out = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        for ty, tx in self.tiles_in(level, y0, x0, y1, x1):
            ty0, tx0, ty1, tx1 = self.tile_rect(level, ty, tx)
            ov = _rect_overlap((y0, x0, y1, x1), (ty0, tx0, ty1, tx1))
            if ov is None:
                continue
            tile = self.tile(level, ty, tx, candidate)
            a0, b0, a1, b1 = ov
            out[a0 - y0 : a1 - y0, b0 - x0 : b1 - x0] = tile[a0 - ty0 : a1 - ty0, b0 - tx0 : b1 - tx0]
        return out


# --------------------------------------------------------------------------------------
# mask overlays
# --------------------------------------------------------------------------------------
GUIDE_KEY = "guide"
GUIDE_COLOR = (0, 215, 230)
#: Drawing order, bottom to top: broad layers first, thin cracks and guide lines on top.
LAYER_ORDER: tuple[str, ...] = tuple(
    f"mask:{c.value}"
    for c in (DamageClass.FADING, DamageClass.STAIN, DamageClass.LOSS, DamageClass.FLAKING, DamageClass.CRACK)
) + (GUIDE_KEY,)
DEFAULT_OPACITY = 0.5


@dataclass(frozen=True)
class LayerStyle:
    """How one mask layer is drawn: colour (RGB), opacity 0..1 (fill mode) and visibility."""

    color: tuple[int, int, int]
    opacity: float = DEFAULT_OPACITY
    visible: bool = True


def default_styles() -> dict[str, LayerStyle]:
    styles = {f"mask:{c.value}": LayerStyle(tuple(STYLES[c].color)) for c in DamageClass}
    styles[GUIDE_KEY] = LayerStyle(GUIDE_COLOR, 0.9)
    return styles


class _OverlayTile:
    __slots__ = ("rgba", "dirty")

    def __init__(self, rgba: np.ndarray | None) -> None:
        self.rgba = rgba  # None: nothing to draw in this tile
        self.dirty: Rect | None = None  # tile-local rectangle to recompute

    @property
    def nbytes(self) -> int:
        return 64 if self.rgba is None else int(self.rgba.nbytes) + 64


class OverlayRenderer:
    """RGBA overlays of the visible mask layers, per display tile, with rectangle invalidation.

    ``layer(key)`` returns the live bool (H, W) array of a layer (e.g. ``Mural.layer_array``).
    Output pixels are straight (not premultiplied) RGBA, or, with ``premultiplied_bgra``,
    B, G, R, A premultiplied bytes (QImage.Format_ARGB32_Premultiplied on little-endian).
    In "fill" mode a layer adds its colour at its opacity; in "outline" mode only the
    boundary pixels of the (pooled) mask are drawn, opaque. Later keys draw over earlier.
    """

    def __init__(
        self,
        layer: Callable[[str], np.ndarray],
        shape: tuple[int, int],
        keys: Sequence[str] = LAYER_ORDER,
        styles: dict[str, LayerStyle] | None = None,
        tile: int = TILE,
        cache_bytes: int = OVERLAY_CACHE_BYTES,
        premultiplied_bgra: bool = False,
    ) -> None:
        self._layer = layer
        self.height, self.width = int(shape[0]), int(shape[1])
        self.keys = tuple(keys)
        self.styles = default_styles()
        if styles:
            self.styles.update(styles)
        self.mode = "fill"
        self.tile_size = int(tile)
        self.levels = levels_for(self.height, self.width)
        self.premultiplied_bgra = premultiplied_bgra
        self.cache = TileCache(cache_bytes)
        self.tiles_computed = 0  # whole tiles made
        self.tiles_updated = 0  # cached tiles brought up to date after an invalidation
        b = OCCUPANCY_BLOCK
        gshape = (-(-self.height // b), -(-self.width // b))
        self._occ: dict[str, np.ndarray] = {k: np.zeros(gshape, bool) for k in self.keys}
        self._known: dict[str, np.ndarray] = {k: np.zeros(gshape, bool) for k in self.keys}

    # -- styles -----------------------------------------------------------------------
    @property
    def recomputed(self) -> int:
        return self.tiles_computed + self.tiles_updated

    def style(self, key: str) -> LayerStyle:
        return self.styles.get(key, LayerStyle((255, 255, 255)))

    def set_style(
        self,
        key: str,
        color: tuple[int, int, int] | None = None,
        opacity: float | None = None,
        visible: bool | None = None,
    ) -> bool:
        """Change how a layer is drawn; True when anything changed (tiles are then redone)."""
        old = self.style(key)
        new = old
        if color is not None:
            new = replace(new, color=tuple(int(v) for v in color))
        if opacity is not None:
            new = replace(new, opacity=float(min(1.0, max(0.0, opacity))))
        if visible is not None:
            new = replace(new, visible=bool(visible))
        if new == old:
            return False
        self.styles[key] = new
        if key in self.keys:
            self.cache.clear()
        return True

    def set_mode(self, mode: str) -> bool:
        if mode not in ("fill", "outline"):
            raise ValueError("mode must be 'fill' or 'outline'")
        if mode == self.mode:
            return False
        self.mode = mode
        self.cache.clear()
        return True

    def shows(self, key: str) -> bool:
        """Whether changes of ``key`` can change what is drawn."""
        if key not in self.keys:
            return False
        st = self.style(key)
        return st.visible and (self.mode == "outline" or st.opacity > 0)

    # -- geometry ---------------------------------------------------------------------
    def level_shape(self, level: int) -> tuple[int, int]:
        return level_shape(self.height, self.width, level)

    def tile_rect(self, level: int, ty: int, tx: int) -> Rect:
        h, w = self.level_shape(level)
        t = self.tile_size
        return (ty * t, tx * t, min(h, (ty + 1) * t), min(w, (tx + 1) * t))

    def level_rect(self, level: int, rect: Rect) -> Rect:
        """The display pixels at ``level`` that a change of source ``rect`` can alter."""
        f = 1 << level
        y0, x0, y1, x1 = rect
        m = 1 if self.mode == "outline" else 0
        h, w = self.level_shape(level)
        return (max(0, y0 // f - m), max(0, x0 // f - m), min(h, -(-y1 // f) + m), min(w, -(-x1 // f) + m))

    # -- invalidation -----------------------------------------------------------------
    def invalidate(self, key: str | None = None, rect: Rect | None = None) -> None:
        """A layer changed in source ``rect`` (None: anywhere; key None: every layer)."""
        keys = self.keys if key is None else (key,)
        b = OCCUPANCY_BLOCK
        for k in keys:
            if k not in self._known:
                continue
            if rect is None:
                self._known[k][:] = False
            else:
                y0, x0, y1, x1 = rect
                self._known[k][y0 // b : -(-y1 // b), x0 // b : -(-x1 // b)] = False
        if not any(self.shows(k) for k in keys):
            return
        if rect is None:
            self.cache.clear()
            return
        t = self.tile_size
        by_level: dict[int, list[tuple[int, int]]] = {}
        for ck in self.cache.keys():
            by_level.setdefault(ck[0], []).append((ck[1], ck[2]))  # type: ignore[index]
        for level, cached in by_level.items():
            ly0, lx0, ly1, lx1 = self.level_rect(level, rect)
            if ly0 >= ly1 or lx0 >= lx1:
                continue
            ty0, ty1, tx0, tx1 = ly0 // t, -(-ly1 // t), lx0 // t, -(-lx1 // t)
            if (ty1 - ty0) * (tx1 - tx0) <= len(cached):
                candidates: Iterable[tuple[int, int]] = (
                    (ty, tx) for ty in range(ty0, ty1) for tx in range(tx0, tx1)
                )
            else:
                candidates = [(ty, tx) for ty, tx in cached if ty0 <= ty < ty1 and tx0 <= tx < tx1]
            for ty, tx in candidates:
                entry = self.cache.peek((level, ty, tx))
                if entry is None:
                    continue
                trect = self.tile_rect(level, ty, tx)
                ov = _rect_overlap((ly0, lx0, ly1, lx1), trect)
                if ov is not None:
                    local = (ov[0] - trect[0], ov[1] - trect[1], ov[2] - trect[0], ov[3] - trect[1])
                    entry.dirty = _union(entry.dirty, local)  # type: ignore[union-attr]

    def clear(self) -> None:
        self.cache.clear()

    # -- occupancy --------------------------------------------------------------------
    def _occupancy(self, key: str, rect: Rect) -> np.ndarray:
        """Which OCCUPANCY_BLOCK blocks under source ``rect`` hold any marked pixel."""
        b = OCCUPANCY_BLOCK
        y0, x0, y1, x1 = rect
        by0, bx0, by1, bx1 = y0 // b, x0 // b, -(-y1 // b), -(-x1 // b)
        known = self._known[key][by0:by1, bx0:bx1]
        if not known.all():
            rows = np.flatnonzero(~known.all(axis=1))
            cols = np.flatnonzero(~known.all(axis=0))
            ry0, ry1 = by0 + rows[0], by0 + rows[-1] + 1
            rx0, rx1 = bx0 + cols[0], bx0 + cols[-1] + 1
            layer = self._layer(key)
            sub = layer[ry0 * b : min(self.height, ry1 * b), rx0 * b : min(self.width, rx1 * b)]
            self._occ[key][ry0:ry1, rx0:rx1] = any_blocks(sub, b)
            self._known[key][ry0:ry1, rx0:rx1] = True
        return self._occ[key][by0:by1, bx0:bx1]

    def pooled(self, key: str, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray | None:
        """Max-pooled mask of ``key`` on a display rectangle at ``level`` (None when empty).

        The rectangle may reach outside the level; pixels there are unmarked.
        """
        f = 1 << level
        lh, lw = self.level_shape(level)
        cy0, cx0, cy1, cx1 = max(0, y0), max(0, x0), min(lh, y1), min(lw, x1)
        if cy0 >= cy1 or cx0 >= cx1:
            return None
        src = (cy0 * f, cx0 * f, min(self.height, cy1 * f), min(self.width, cx1 * f))
        occ = self._occupancy(key, src)
        if not occ.any():
            return None
        layer = self._layer(key)
        out = np.zeros((y1 - y0, x1 - x0), dtype=bool)
        b = OCCUPANCY_BLOCK
        unit = max(b, f)  # rows of source pooled together: whole blocks and whole display pixels
        by0, bx0 = src[0] // b, src[1] // b
        for uy in range(src[0] - src[0] % unit, src[2], unit):
            sy0, sy1 = max(src[0], uy), min(src[2], uy + unit)
            hits = np.flatnonzero(occ[sy0 // b - by0 : -(-sy1 // b) - by0].any(axis=0))
            if hits.size == 0:
                continue
            sx0 = (bx0 + int(hits[0])) * b
            sx0 = max(src[1], sx0 - sx0 % f)
            sx1 = min(src[3], (bx0 + int(hits[-1]) + 1) * b)
            part = any_blocks(layer[sy0:sy1, sx0:sx1], f)
            dy, dx = sy0 // f - y0, sx0 // f - x0
            out[dy : dy + part.shape[0], dx : dx + part.shape[1]] |= part
        return out

    # -- composing --------------------------------------------------------------------
    def compose(self, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray | None:
        """The overlay of a display rectangle computed from the layers (None: nothing shown)."""
        h, w = y1 - y0, x1 - x0
        outline = self.mode == "outline"
        acc_rgb: np.ndarray | None = None
        acc_a: np.ndarray | None = None
        for key in self.keys:
            if not self.shows(key):
                continue
            st = self.style(key)
            if outline:
                m = self.pooled(key, level, y0 - 1, x0 - 1, y1 + 1, x1 + 1)
                if m is None:
                    continue
                inner = m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
                m = m[1:-1, 1:-1] & ~inner
                alpha = 1.0
            else:
                m = self.pooled(key, level, y0, x0, y1, x1)
                alpha = st.opacity
            if m is None or not m.any():
                continue
            if acc_rgb is None:
                acc_rgb = np.zeros((h, w, 3), np.float32)
                acc_a = np.zeros((h, w), np.float32)
            color = np.asarray(st.color, np.float32) * alpha
            acc_rgb[m] = color + acc_rgb[m] * (1.0 - alpha)
            acc_a[m] = alpha + acc_a[m] * (1.0 - alpha)  # type: ignore[index]
        if acc_rgb is None or acc_a is None:
            return None
        a8 = np.rint(acc_a * 255.0).astype(np.uint8)
        out = np.zeros((h, w, 4), np.uint8)
        on = a8 > 0
        straight = np.zeros((h, w, 3), np.float32)
        straight[on] = acc_rgb[on] / acc_a[on][:, None]
        rgb = np.clip(np.rint(straight), 0, 255).astype(np.uint8)
        if self.premultiplied_bgra:
            pm = (rgb.astype(np.uint16) * a8[:, :, None] + 127) // 255
            out[:, :, 0] = pm[:, :, 2]
            out[:, :, 1] = pm[:, :, 1]
            out[:, :, 2] = pm[:, :, 0]
        else:
            out[:, :, :3] = rgb
        out[:, :, 3] = a8
        return out

    # -- tiles ------------------------------------------------------------------------
    def tile(self, level: int, ty: int, tx: int) -> np.ndarray | None:
        """One overlay tile, (th, tw, 4) uint8, or None when it has nothing to draw."""
        key = (level, ty, tx)
        entry: _OverlayTile | None = self.cache.get(key)  # type: ignore[assignment]
        if entry is None:
            y0, x0, y1, x1 = self.tile_rect(level, ty, tx)
            entry = _OverlayTile(self.compose(level, y0, x0, y1, x1))
            self.cache.put(key, entry, entry.nbytes)
            self.tiles_computed += 1
        elif entry.dirty is not None:
            y0, x0, _, _ = self.tile_rect(level, ty, tx)
            d0, d1, d2, d3 = entry.dirty
            entry.dirty = None
            part = self.compose(level, y0 + d0, x0 + d1, y0 + d2, x0 + d3)
            if entry.rgba is None and part is not None:
                ty0, tx0, ty1, tx1 = self.tile_rect(level, ty, tx)
                entry.rgba = np.zeros((ty1 - ty0, tx1 - tx0, 4), np.uint8)
            if entry.rgba is not None:
                entry.rgba[d0:d2, d1:d3] = 0 if part is None else part
                if part is None and not entry.rgba[:, :, 3].any():
                    entry.rgba = None
            self.cache.resize(key, entry.nbytes)
            self.tiles_updated += 1
        return entry.rgba

    def region(
        self, level: int, y0: int, x0: int, y1: int, x1: int, allow_none: bool = False
    ) -> np.ndarray | None:
        """(h, w, 4) uint8 overlay of a display rectangle at ``level``.

        With ``allow_none``, None is returned when nothing in it is drawn.
        """
        lh, lw = self.level_shape(level)
        if not (0 <= level < self.levels and 0 <= y0 <= y1 <= lh and 0 <= x0 <= x1 <= lw):
            raise ValueError(f"region ({y0}, {x0}, {y1}, {x1}) outside level {level} of size {lh} × {lw}")
        out: np.ndarray | None = None
        t = self.tile_size
        for ty in range(y0 // t, -(-y1 // t)):
            for tx in range(x0 // t, -(-x1 // t)):
                rgba = self.tile(level, ty, tx)
                if rgba is None:
                    continue
                trect = self.tile_rect(level, ty, tx)
                ov = _rect_overlap((y0, x0, y1, x1), trect)
                if ov is None:
                    continue
                if out is None:
                    out = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
                a0, b0, a1, b1 = ov
                out[a0 - y0 : a1 - y0, b0 - x0 : b1 - x0] = rgba[a0 - trect[0] : a1 - trect[0], b0 - trect[1] : b1 - trect[1]]
        if out is None and not allow_none:
            out = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        return out

"""The 8-bit display pyramid of a scan, without Qt, made lazily per tile.

Every tile is computed when first asked for and kept in a cache bounded in bytes, so a
100-megapixel 16-bit scan never needs a full-size 8-bit copy and a view only pays for what
it shows. Levels and tiles are described in :mod:`muralstudio.gui.levels`.

Display values (:class:`DisplayPyramid`):
- level 0 maps each source value to 8 bits: 8-bit as is, 16-bit by rounding, (v + 128) // 257;
- level L > 0 is area averaging at 16-bit precision (8-bit sources are first scaled by 257):
  a full 2**L block is reduced by L successive 2 × 2 means, each rounded half up,
  ``(a + b + c + d + 2) >> 2``; a block cut by the right or bottom edge takes the exact mean
  of the pixels it has, rounded half up; then the value is mapped to 8 bits like level 0.
  Each level-L tile is made from the source block under it (in row strips of bounded size),
  never from a full-resolution 8-bit image. The result is within one 8-bit step of the
  exact block mean and equal to it in almost every pixel.
- grey is expanded to RGB.
"""

from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np

from muralstudio.core.candidate import Candidate
from muralstudio.gui.levels import TILE, Rect, level_for_zoom, level_shape, levels_for, rect_overlap
from muralstudio.gui.tilecache import TileCache

PYRAMID_CACHE_BYTES = 256 << 20
STRIP_BYTES = 48 << 20  # source bytes reduced at once when making a coarse tile


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
            ov = rect_overlap(rect, (p.y, p.x, p.y + ph, p.x + pw))
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
            ov = rect_overlap((y0, x0, y1, x1), (ty0, tx0, ty1, tx1))
            if ov is None:
                continue
            tile = self.tile(level, ty, tx, candidate)
            a0, b0, a1, b1 = ov
            out[a0 - y0 : a1 - y0, b0 - x0 : b1 - x0] = tile[a0 - ty0 : a1 - ty0, b0 - tx0 : b1 - tx0]
        return out

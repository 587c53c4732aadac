"""Mask overlays for the canvas, without Qt: RGBA tiles of the visible layers.

A display pixel of a mask at level L is set when any source pixel under it is set
(max-pooling), so a 1-pixel crack stays visible when zoomed out. Tiles are computed when
first asked for, kept in a cache bounded in bytes, and brought up to date only where a
mask changed. Levels and tiles are described in :mod:`muralstudio.gui.levels`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable, Sequence

import numpy as np

from muralstudio.gui.layerstyle import LAYER_ORDER, LayerStyle, default_styles
from muralstudio.gui.levels import TILE, Rect, level_shape, levels_for, rect_overlap
from muralstudio.gui.tilecache import TileCache

OVERLAY_CACHE_BYTES = 96 << 20
OCCUPANCY_BLOCK = 256  # source pixels per side of the blocks whose emptiness is remembered


def _union(a: Rect | None, b: Rect) -> Rect:
    """The smallest rectangle holding ``a`` (None: nothing) and ``b``."""
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


Coat = tuple[np.ndarray, tuple[int, int, int], float]  # bool (h, w) mask, RGB, alpha


def flatten(coats: Sequence[Coat], premultiplied_bgra: bool = False) -> np.ndarray:
    """(h, w, 4) uint8: the coats drawn in turn, each its colour at its alpha over the last.

    A pixel's colour depends only on which coats cover it, so each pixel gets a code (one
    bit per coat), the colours are worked out once per code that occurs, and the tile is
    filled from that table: the cost barely grows with how much of the tile is covered,
    which matters for detection proposals spread over a whole scan.
    """
    h, w = coats[0][0].shape
    wide = len(coats) > 16
    codes = np.zeros((h, w), np.uint32 if wide else np.uint16)
    for i, (m, _, _) in enumerate(coats):
        codes |= np.left_shift(m, i, dtype=codes.dtype)
    if wide:
        present, index = np.unique(codes, return_inverse=True)
    else:
        present = np.flatnonzero(np.bincount(codes.ravel(), minlength=1)).astype(np.uint32)
    n = present.size
    acc_rgb = np.zeros((3, n), np.float32)  # premultiplied colour and alpha per code
    acc_a = np.zeros(n, np.float32)
    for i, (_, rgb, alpha) in enumerate(coats):
        m = ((present >> np.uint32(i)) & 1).astype(bool)
        color = np.asarray(rgb, np.float32) * alpha
        acc_rgb[:, m] = color[:, None] + acc_rgb[:, m] * (1.0 - alpha)
        acc_a[m] = alpha + acc_a[m] * (1.0 - alpha)
    a8 = np.rint(acc_a * 255.0).astype(np.uint8)
    on = a8 > 0
    straight = np.zeros((3, n), np.float32)
    np.divide(acc_rgb, acc_a, out=straight, where=on)
    planes = np.clip(np.rint(straight), 0, 255).astype(np.uint8)  # R, G, B
    if premultiplied_bgra:
        planes = ((planes.astype(np.uint16) * a8 + 127) // 255).astype(np.uint8)[::-1]
    table = np.zeros((n, 4), np.uint8)
    table[:, :3] = planes.T
    table[:, 3] = a8
    if wide:
        return table[index.reshape(h, w)]
    full = np.zeros((1 << len(coats), 4), np.uint8)
    full[present] = table
    return full.view(np.uint32)[:, 0][codes].view(np.uint8).reshape(h, w, 4)


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
    boundary pixels of the (pooled) mask are drawn, opaque. A style with an ``edge`` colour
    (detection proposals) gets both in fill mode: its fill, then its boundary opaque in that
    colour. Later keys draw over earlier.
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
        return st.visible and (self.mode == "outline" or st.opacity > 0 or st.edge is not None)

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
        m = 1 if self._edges() else 0
        h, w = self.level_shape(level)
        return (max(0, y0 // f - m), max(0, x0 // f - m), min(h, -(-y1 // f) + m), min(w, -(-x1 // f) + m))

    def _edges(self) -> bool:
        """Whether any boundary is drawn (a pixel then depends on its neighbours too)."""
        return self.mode == "outline" or any(self.style(k).edge is not None and self.shows(k) for k in self.keys)

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
                ov = rect_overlap((ly0, lx0, ly1, lx1), trect)
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
        outline = self.mode == "outline"
        coats: list[Coat] = []  # drawn in turn: per layer its fill, or its boundary, or both
        for key in self.keys:
            if not self.shows(key):
                continue
            st = self.style(key)
            if outline or st.edge is not None:
                m = self.pooled(key, level, y0 - 1, x0 - 1, y1 + 1, x1 + 1)
                if m is None:
                    continue
                inner = m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
                body = m[1:-1, 1:-1]
                if not outline:
                    coats.append((body, st.color, st.opacity))
                coats.append((body & ~inner, st.color if outline else st.edge, 1.0))  # type: ignore[arg-type]
            else:
                m = self.pooled(key, level, y0, x0, y1, x1)
                if m is None:
                    continue
                coats.append((m, st.color, st.opacity))
        coats = [c for c in coats if c[2] > 0 and c[0].any()]
        if not coats:
            return None
        return flatten(coats, self.premultiplied_bgra)

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
                ov = rect_overlap((y0, x0, y1, x1), trect)
                if ov is None:
                    continue
                if out is None:
                    out = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
                a0, b0, a1, b1 = ov
                out[a0 - y0 : a1 - y0, b0 - x0 : b1 - x0] = rgba[a0 - trect[0] : a1 - trect[0], b0 - trect[1] : b1 - trect[1]]
        if out is None and not allow_none:
            out = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        return out

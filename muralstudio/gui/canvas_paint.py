"""Painting of the canvas from *screen tiles*, cached between paints.

A screen tile is a square of ``SCREEN_TILE`` device pixels of the zoomed image, made from the
display pyramid (:mod:`muralstudio.gui.pyramid`) or the mask overlays
(:mod:`muralstudio.gui.overlay`) with an exact affine resampling (bilinear below 100 %,
nearest from 100 % up so pixels stay crisp) and kept until the zoom changes. Panning only
blits cached tiles; a mask edit drops the overlay tiles under the changed rectangle and
repaints that part of the screen only. On high-DPI screens the tiles are made at device
resolution.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen

from muralstudio.core.candidate import Candidate
from muralstudio.core.document import Mural
from muralstudio.gui.levels import overlay_level_for_zoom
from muralstudio.gui.overlay import OverlayRenderer
from muralstudio.gui.pyramid import DisplayPyramid

SCREEN_TILE = 256
BACKGROUND = QColor(0x2B, 0x2C, 0x30)
IMAGE_EDGE = QColor(0, 0, 0, 110)
MAX_SCREEN_TILES = 400  # per kind; beyond this, tiles off screen are dropped


def _around(rect: QRect, hole: QRect) -> list[QRect]:
    """Parts of ``rect`` outside ``hole`` (at most four rectangles)."""
    inner = rect.intersected(hole)
    if inner.isEmpty():
        return [rect]
    parts = [
        QRect(rect.left(), rect.top(), rect.width(), inner.top() - rect.top()),
        QRect(rect.left(), inner.bottom() + 1, rect.width(), rect.bottom() - inner.bottom()),
        QRect(rect.left(), inner.top(), inner.left() - rect.left(), inner.height()),
        QRect(inner.right() + 1, inner.top(), rect.right() - inner.right(), inner.height()),
    ]
    return [r for r in parts if r.width() > 0 and r.height() > 0]


class ScreenTile:
    """A rendered screen tile: its pixels and a QImage sharing their memory."""

    __slots__ = ("array", "image")

    def __init__(self, array: np.ndarray, fmt: QImage.Format, dpr: float = 1.0) -> None:
        self.array = np.ascontiguousarray(array)  # the QImage below uses this memory
        h, w = self.array.shape[:2]
        self.image = QImage(self.array.data, w, h, self.array.strides[0], fmt)
        if dpr != 1.0:
            self.image.setDevicePixelRatio(dpr)


class CanvasPaintMixin:
    """Screen tiles and ``paintEvent`` of :class:`~muralstudio.gui.canvas.CanvasView`.

    Part of CanvasView (a QAbstractScrollArea); the state below is set up by its ``__init__``.
    """

    _doc: Mural | None
    _pyr: DisplayPyramid | None
    _ov: OverlayRenderer | None
    _cand: Candidate | None
    _base_tiles: dict[tuple[int, int], ScreenTile]
    _ov_tiles: dict[tuple[int, int], ScreenTile | None]
    _tiles_dpr: float
    _decorations: list
    base_tiles_rendered: int
    overlay_tiles_rendered: int
    last_paint_rect: QRect

    # ------------------------------------------------------------------------------
    # invalidation
    # ------------------------------------------------------------------------------
    def layer_change_screen_rect(self, rect: tuple[int, int, int, int]) -> QRect:
        """The viewport rectangle that a mask change in image ``rect`` (y0, x0, y1, x1) can
        alter: what the canvas repaints after such a change."""
        return self._overlay_screen_rect(rect, drop=False)

    def _overlay_screen_rect(self, rect: tuple[int, int, int, int], drop: bool) -> QRect:
        """Viewport rectangle that a mask change in image ``rect`` can alter; optionally
        drops the overlay screen tiles under it."""
        if self._ov is None:
            return QRect()
        dpr = self._dpr()
        zd = self._zoom * dpr
        lo = overlay_level_for_zoom(zd, self._ov.levels - 1)
        so = zd * (1 << lo)
        ly0, lx0, ly1, lx1 = self._ov.level_rect(lo, rect)
        iw, ih = self._device_size()
        X0, X1 = max(0, math.floor(lx0 * so) - 1), min(iw, math.ceil(lx1 * so) + 1)
        Y0, Y1 = max(0, math.floor(ly0 * so) - 1), min(ih, math.ceil(ly1 * so) + 1)
        if X0 >= X1 or Y0 >= Y1:
            return QRect()
        if drop:
            T = SCREEN_TILE
            for i in range(Y0 // T, (Y1 - 1) // T + 1):
                for j in range(X0 // T, (X1 - 1) // T + 1):
                    self._ov_tiles.pop((i, j), None)
        ox, oy = self._origin()
        x0, y0 = ox + math.floor(X0 / dpr), oy + math.floor(Y0 / dpr)
        return QRect(x0, y0, ox + math.ceil(X1 / dpr) - x0, oy + math.ceil(Y1 / dpr) - y0)

    # ------------------------------------------------------------------------------
    # rendering
    # ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw everything from the document (drops the screen tiles)."""
        self._drop_tiles()
        self.viewport().update()

    def _drop_tiles(self) -> None:
        self._base_tiles.clear()
        self._ov_tiles.clear()

    # Screen tiles are in device pixels of the zoomed image: tile (i, j) covers device
    # columns [j·T, (j+1)·T) counted from the image's left edge (T = SCREEN_TILE).
    def _dpr(self) -> float:
        return float(self.viewport().devicePixelRatioF())

    def _device_size(self) -> tuple[int, int]:
        w, h = self._image_size()
        if w == 0:
            return (0, 0)
        zd = self._zoom * self._dpr()
        return (max(1, round(w * zd)), max(1, round(h * zd)))

    def _tile_extent(self, i: int, j: int) -> tuple[int, int, int, int]:
        iw, ih = self._device_size()
        T = SCREEN_TILE
        return (j * T, i * T, min(iw, (j + 1) * T), min(ih, (i + 1) * T))

    @staticmethod
    def _affine(s: float, X0: int, Y0: int, u0: int, v0: int) -> np.ndarray:
        """Destination pixel (X0 + i, Y0 + j) centre -> source index, for warpAffine."""
        return np.array([[1.0 / s, 0.0, (X0 + 0.5) / s - 0.5 - u0], [0.0, 1.0 / s, (Y0 + 0.5) / s - 0.5 - v0]])

    def _render_base(self, i: int, j: int) -> ScreenTile:
        pyr = self._pyr
        assert pyr is not None
        z = self._zoom
        dpr = self._dpr()
        level = pyr.level_for_zoom(z * dpr)
        s = z * dpr * (1 << level)  # device pixels per level pixel
        X0, Y0, X1, Y1 = self._tile_extent(i, j)
        lh, lw = pyr.level_shape(level)
        u0 = min(lw - 1, max(0, math.floor((X0 + 0.5) / s - 0.5) - 1))
        u1 = max(u0 + 1, min(lw, math.floor((X1 - 0.5) / s - 0.5) + 3))
        v0 = min(lh - 1, max(0, math.floor((Y0 + 0.5) / s - 0.5) - 1))
        v1 = max(v0 + 1, min(lh, math.floor((Y1 - 0.5) / s - 0.5) + 3))
        region = pyr.region(level, v0, u0, v1, u1, self._cand)
        # nearest from 100 % up: every image pixel is a crisp square
        flags = (cv2.INTER_NEAREST if z >= 1.0 else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
        # B, G, R, 255 bytes: the 32-bit format screens use, so drawing it is a plain copy;
        # converting before resampling also takes OpenCV's fast 4-channel path
        bgrx = cv2.cvtColor(region, cv2.COLOR_RGB2BGRA)
        out = cv2.warpAffine(
            bgrx, self._affine(s, X0, Y0, u0, v0), (X1 - X0, Y1 - Y0), flags=flags,
            borderMode=cv2.BORDER_REPLICATE,
        )
        self.base_tiles_rendered += 1
        return ScreenTile(out, QImage.Format.Format_RGB32, dpr)

    def _render_overlay(self, i: int, j: int) -> ScreenTile | None:
        ov = self._ov
        assert ov is not None
        dpr = self._dpr()
        zd = self._zoom * dpr
        # a level whose pixels are at least one device pixel wide, sampled nearest: every
        # marked (max-pooled) pixel shows
        level = overlay_level_for_zoom(zd, ov.levels - 1)
        s = zd * (1 << level)
        X0, Y0, X1, Y1 = self._tile_extent(i, j)
        lh, lw = ov.level_shape(level)
        u0 = min(lw - 1, max(0, math.floor((X0 + 0.5) / s) - 1))
        u1 = max(u0 + 1, min(lw, math.floor((X1 - 0.5) / s) + 2))
        v0 = min(lh - 1, max(0, math.floor((Y0 + 0.5) / s) - 1))
        v1 = max(v0 + 1, min(lh, math.floor((Y1 - 0.5) / s) + 2))
        self.overlay_tiles_rendered += 1
        region = ov.region(level, v0, u0, v1, u1, allow_none=True)
        if region is None:
            return None
        out = cv2.warpAffine(
            region, self._affine(s, X0, Y0, u0, v0), (X1 - X0, Y1 - Y0),
            flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
        )
        return ScreenTile(out, QImage.Format.Format_ARGB32_Premultiplied, dpr)

    def _overlay_shown(self) -> bool:
        return self._ov is not None and any(self._ov.shows(k) for k in self._ov.keys)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        rect = event.rect()
        self.last_paint_rect = QRect(rect)
        p = QPainter(self.viewport())
        try:
            if self._doc is not None and self._pyr is not None:
                img = self.image_rect_on_screen()
                # the image is opaque: fill only around it
                for part in _around(rect, img):
                    p.fillRect(part, BACKGROUND)
                self._paint_image(p, rect, img)
            else:
                p.fillRect(rect, BACKGROUND)
            if self._doc is not None:
                for deco in self._decorations:
                    p.save()
                    deco.paint_overlay(p, self)
                    p.restore()
            tool = self._tool
            paint_overlay = getattr(tool, "paint_overlay", None)
            if paint_overlay is not None and self._doc is not None:
                p.save()
                paint_overlay(p, self)
                p.restore()
            self._paint_brush_cursor(p)
        finally:
            p.end()

    def _tile_keys(self, area: QRect, img: QRect) -> list[tuple[int, int]]:
        """Screen tiles under viewport rectangle ``area`` (within the image ``img``)."""
        area = area.intersected(img)
        if area.isEmpty():
            return []
        dpr = self._dpr()
        iw, ih = self._device_size()
        T = SCREEN_TILE
        X0 = max(0, math.floor((area.left() - img.x()) * dpr))
        X1 = min(iw, math.ceil((area.right() + 1 - img.x()) * dpr))
        Y0 = max(0, math.floor((area.top() - img.y()) * dpr))
        Y1 = min(ih, math.ceil((area.bottom() + 1 - img.y()) * dpr))
        if X0 >= X1 or Y0 >= Y1:
            return []
        return [(i, j) for i in range(Y0 // T, (Y1 - 1) // T + 1) for j in range(X0 // T, (X1 - 1) // T + 1)]

    def _paint_image(self, p: QPainter, rect: QRect, img: QRect) -> None:
        p.setPen(QPen(IMAGE_EDGE, 1))
        p.drawRect(img.adjusted(-1, -1, 0, 0))
        dpr = self._dpr()
        if dpr != self._tiles_dpr:
            self._drop_tiles()
            self._tiles_dpr = dpr
        keys = self._tile_keys(rect, img)
        if not keys:
            return
        ox, oy = img.x(), img.y()
        step = SCREEN_TILE / dpr
        whole = dpr == 1.0
        for key in keys:
            tile = self._base_tiles.get(key)
            if tile is None:
                tile = self._base_tiles[key] = self._render_base(*key)
            if whole:
                p.drawImage(QPoint(ox + key[1] * SCREEN_TILE, oy + key[0] * SCREEN_TILE), tile.image)
            else:
                p.drawImage(QPointF(ox + key[1] * step, oy + key[0] * step), tile.image)
        if self._overlay_shown():
            for key in keys:
                if key in self._ov_tiles:
                    ot = self._ov_tiles[key]
                else:
                    ot = self._ov_tiles[key] = self._render_overlay(*key)
                if ot is None:
                    continue
                if whole:
                    p.drawImage(QPoint(ox + key[1] * SCREEN_TILE, oy + key[0] * SCREEN_TILE), ot.image)
                else:
                    p.drawImage(QPointF(ox + key[1] * step, oy + key[0] * step), ot.image)
        self._trim_tiles(keys)

    def _trim_tiles(self, keep: list[tuple[int, int]]) -> None:
        for cache in (self._base_tiles, self._ov_tiles):
            if len(cache) > MAX_SCREEN_TILES:
                vis = set(self._tile_keys(self.viewport().rect(), self.image_rect_on_screen())) | set(keep)
                for k in [k for k in cache if k not in vis]:
                    del cache[k]

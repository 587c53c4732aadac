"""The image canvas: zoom, pan, mask overlays and tool events on very large scans.

The view is drawn from *screen tiles*: squares of ``SCREEN_TILE`` device pixels of the
zoomed image, made from the display pyramid (:mod:`muralstudio.gui.render`) with an exact
affine resampling (bilinear below 100 %, nearest from 100 % up so pixels stay crisp) and
kept until the zoom changes. Panning only blits cached tiles; a mask edit drops the overlay
tiles under the changed rectangle and repaints that part of the screen only. On high-DPI
screens the tiles are made at device resolution.

Coordinates: image pixel (i, j) covers [j, j+1) × [i, i+1). The zoomed image occupies
viewport pixels [ox, ox + round(W·zoom)) horizontally, ox an integer, so screen tiles stay
aligned while panning. Pointer positions are taken at the centre of the screen pixel under
the pointer.

Nothing here converts the whole image: every paint reads only the pyramid tiles under the
part of the view being drawn.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QFrame, QWidget

from muralstudio.core.candidate import Candidate
from muralstudio.core.document import Mural
from muralstudio.gui.render import (
    LAYER_ORDER,
    DisplayPyramid,
    LayerStyle,
    OverlayRenderer,
    default_styles,
    overlay_level_for_zoom,
)

MIN_ZOOM = 1.0 / 64.0
MAX_ZOOM = 32.0
WHEEL_STEP = 1.15  # zoom factor per wheel notch (120 eighths of a degree)
SCREEN_TILE = 256
#: Zoom levels for zoom_in / zoom_out.
ZOOM_STEPS = (
    1 / 64, 1 / 48, 1 / 32, 1 / 24, 1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3,
    1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0,
)
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


class _Listener:
    """Forwards document changes to a canvas without keeping the canvas alive."""

    def __init__(self, canvas: "CanvasView") -> None:
        self._canvas = weakref.ref(canvas)
        self.active = True

    def __call__(self, key: str, rect: Any) -> None:
        canvas = self._canvas()
        if self.active and canvas is not None:
            canvas._document_changed(key, rect)


class _ScreenTile:
    __slots__ = ("array", "image")

    def __init__(self, array: np.ndarray, fmt: QImage.Format, dpr: float = 1.0) -> None:
        self.array = np.ascontiguousarray(array)  # the QImage below uses this memory
        h, w = self.array.shape[:2]
        self.image = QImage(self.array.data, w, h, self.array.strides[0], fmt)
        if dpr != 1.0:
            self.image.setDevicePixelRatio(dpr)


class CanvasView(QAbstractScrollArea):
    """Shows a :class:`Mural` and routes pointer events to the current tool.

    A tool is any object with optional methods ``press(canvas, x, y, event)``,
    ``move(canvas, x, y, event)``, ``release(canvas, x, y, event)``, ``hover(canvas, x, y)``,
    ``paint_overlay(painter, canvas)`` and attributes ``brush_diameter`` (image pixels or
    None) and ``cursor`` (a Qt.CursorShape, a QCursor or None). Coordinates are float image
    coordinates.
    """

    zoomChanged = Signal(float)
    viewChanged = Signal()
    cursorMoved = Signal(object)
    imageChanged = Signal()  # document or displayed candidate changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        vp = self.viewport()
        vp.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        vp.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        vp.setMouseTracking(True)
        self.horizontalScrollBar().setSingleStep(32)
        self.verticalScrollBar().setSingleStep(32)
        self._doc: Mural | None = None
        self._listener: _Listener | None = None
        self._pyr: DisplayPyramid | None = None
        self._ov: OverlayRenderer | None = None
        self._styles: dict[str, LayerStyle] = default_styles()
        self._mode = "fill"
        self._cand: Candidate | None = None
        self._zoom = 1.0
        self._sx = 0.0  # zoomed-image coordinate at the viewport's left edge (when scrolling)
        self._sy = 0.0
        self._fit_mode = False
        self._syncing = False
        self._last_view: tuple | None = None
        self._base_tiles: dict[tuple[int, int], _ScreenTile] = {}
        self._ov_tiles: dict[tuple[int, int], _ScreenTile | None] = {}
        self._tiles_dpr = 1.0
        self._tool: Any = None
        self._stroke = False
        self._pan: tuple[QPointF, float, float, Qt.MouseButton] | None = None
        self._space = False
        self._pointer: QPointF | None = None  # viewport position of the pointer
        self._cursor_rect = QRect()
        # counters, for tests and the benchmark
        self.base_tiles_rendered = 0
        self.overlay_tiles_rendered = 0
        self.last_paint_rect = QRect()

    # ------------------------------------------------------------------------------
    # document
    # ------------------------------------------------------------------------------
    def document(self) -> Mural | None:
        return self._doc

    def pyramid(self) -> DisplayPyramid | None:
        return self._pyr

    def overlay_renderer(self) -> OverlayRenderer | None:
        return self._ov

    def set_document(self, doc: Mural | None) -> None:
        """Show ``doc`` (None: nothing); stops listening to the previous document."""
        if self._listener is not None:
            self._listener.active = False
            old = self._doc
            remove = getattr(old, "remove_listener", None)
            if remove is not None:
                remove(self._listener)
            elif old is not None and self._listener in getattr(old, "_listeners", []):
                old._listeners.remove(self._listener)
            self._listener = None
        self._doc = doc
        self._cand = None
        self._stroke = False
        self._pan = None
        self._drop_tiles()
        if doc is None:
            self._pyr = None
            self._ov = None
        else:
            self._pyr = DisplayPyramid(doc.original.pixels)
            self._ov = OverlayRenderer(doc.layer_array, doc.shape, styles=self._styles, premultiplied_bgra=True)
            self._ov.set_mode(self._mode)
            self._listener = _Listener(self)
            doc.add_listener(self._listener)
        self._sx = self._sy = 0.0
        self._fit_mode = True  # a new document starts fitted to the window
        self._apply_fit()
        self._sync_scrollbars()
        self.viewport().update()
        self.imageChanged.emit()
        self._emit_view_changed(force=True)

    def _document_changed(self, key: str, rect: tuple[int, int, int, int] | None) -> None:
        if key == "candidates":
            self._candidates_changed()
            return
        ov = self._ov
        if ov is None:
            return
        shows = ov.shows(key)
        ov.invalidate(key, rect)
        if not shows:
            return
        if rect is None:
            self._ov_tiles.clear()
            self.viewport().update()
            return
        self.viewport().update(self._overlay_screen_rect(rect, drop=True))

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

    def _candidates_changed(self) -> None:
        doc = self._doc
        if doc is None or self._pyr is None:
            return
        live = {c.id for c in doc.candidates}
        for cid in self._pyr.candidate_ids():
            if cid not in live:
                self._pyr.forget_candidate(cid)
        if self._cand is not None and self._cand.id not in live:
            self._cand = None
            self._base_tiles.clear()
            self.viewport().update()
            self.imageChanged.emit()

    def set_display_candidate(self, candidate_id: str | None) -> None:
        """Show the original with a candidate applied (None: the original alone)."""
        cand = None
        if candidate_id is not None:
            if self._doc is None:
                raise KeyError(candidate_id)
            cand = self._doc.candidate(candidate_id)
        if cand is self._cand:
            return
        self._cand = cand
        self._base_tiles.clear()
        self.viewport().update()
        self.imageChanged.emit()

    def display_candidate(self) -> str | None:
        return None if self._cand is None else self._cand.id

    def display_candidate_object(self) -> Candidate | None:
        return self._cand

    # ------------------------------------------------------------------------------
    # layers
    # ------------------------------------------------------------------------------
    def _restyle(self, key: str, **kw: Any) -> None:
        st = self._styles.get(key, LayerStyle((255, 255, 255)))
        for name, value in kw.items():
            st = LayerStyle(**{**st.__dict__, name: value})
        self._styles[key] = st
        if self._ov is not None and self._ov.set_style(key, **kw):
            self._ov_tiles.clear()
            self.viewport().update()

    def set_layer_visible(self, key: str, visible: bool) -> None:
        self._restyle(key, visible=bool(visible))

    def set_layer_opacity(self, key: str, opacity: float) -> None:
        self._restyle(key, opacity=float(min(1.0, max(0.0, opacity))))

    def set_layer_color(self, key: str, color: tuple[int, int, int]) -> None:
        self._restyle(key, color=tuple(int(c) for c in color))

    def layer_style(self, key: str) -> LayerStyle:
        return self._styles.get(key, LayerStyle((255, 255, 255)))

    def set_outline_mode(self, outline: bool) -> None:
        mode = "outline" if outline else "fill"
        if mode == self._mode:
            return
        self._mode = mode
        if self._ov is not None:
            self._ov.set_mode(mode)
        self._ov_tiles.clear()
        self.viewport().update()

    def outline_mode(self) -> bool:
        return self._mode == "outline"

    def layer_keys(self) -> tuple[str, ...]:
        return LAYER_ORDER

    # ------------------------------------------------------------------------------
    # geometry
    # ------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self._zoom

    def _image_size(self) -> tuple[int, int]:
        return (0, 0) if self._doc is None else (self._doc.shape[1], self._doc.shape[0])

    def _image_screen_size(self, zoom: float | None = None) -> tuple[int, int]:
        w, h = self._image_size()
        z = self._zoom if zoom is None else zoom
        if w == 0:
            return (0, 0)
        return (max(1, round(w * z)), max(1, round(h * z)))

    def _origin(self, size: QSize | None = None) -> tuple[int, int]:
        """Screen position of the image's top-left corner."""
        vs = self.viewport().size() if size is None else size
        iw, ih = self._image_screen_size()
        ox = (vs.width() - iw) // 2 if iw <= vs.width() else -round(self._sx)
        oy = (vs.height() - ih) // 2 if ih <= vs.height() else -round(self._sy)
        return ox, oy

    def map_to_image(self, pos: QPointF) -> QPointF:
        """Image coordinates of a viewport position."""
        ox, oy = self._origin()
        z = self._zoom
        return QPointF((pos.x() - ox) / z, (pos.y() - oy) / z)

    def map_from_image(self, pos: QPointF) -> QPointF:
        """Viewport position of image coordinates."""
        ox, oy = self._origin()
        z = self._zoom
        return QPointF(ox + pos.x() * z, oy + pos.y() * z)

    def image_rect_on_screen(self) -> QRect:
        iw, ih = self._image_screen_size()
        ox, oy = self._origin()
        return QRect(ox, oy, iw, ih)

    def visible_image_rect(self) -> QRectF:
        """The part of the image in view, in image coordinates."""
        w, h = self._image_size()
        if w == 0:
            return QRectF()
        vs = self.viewport().size()
        a = self.map_to_image(QPointF(0, 0))
        b = self.map_to_image(QPointF(vs.width(), vs.height()))
        x0, y0 = max(0.0, a.x()), max(0.0, a.y())
        x1, y1 = min(float(w), b.x()), min(float(h), b.y())
        return QRectF(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))

    def _clamp_scroll(self) -> None:
        iw, ih = self._image_screen_size()
        vs = self.viewport().size()
        self._sx = min(max(0.0, self._sx), float(max(0, iw - vs.width())))
        self._sy = min(max(0.0, self._sy), float(max(0, ih - vs.height())))

    def _sync_scrollbars(self) -> None:
        self._clamp_scroll()
        iw, ih = self._image_screen_size()
        vs = self.viewport().size()
        self._syncing = True
        try:
            for bar, full, page, value in (
                (self.horizontalScrollBar(), iw, vs.width(), self._sx),
                (self.verticalScrollBar(), ih, vs.height(), self._sy),
            ):
                bar.setRange(0, max(0, full - page))
                bar.setPageStep(max(1, page))
                bar.setValue(round(value))
        finally:
            self._syncing = False

    def _emit_view_changed(self, force: bool = False) -> None:
        state = (self._zoom, self._origin(), self.viewport().size().toTuple(), id(self._doc))
        if force or state != self._last_view:
            self._last_view = state
            self.viewChanged.emit()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 (Qt override)
        if self._syncing:
            return
        self._sx = float(self.horizontalScrollBar().value())
        self._sy = float(self.verticalScrollBar().value())
        self._fit_mode = False
        self.viewport().update()
        self._emit_view_changed()

    def _set_scroll(self, sx: float, sy: float) -> None:
        self._sx, self._sy = sx, sy
        self._sync_scrollbars()
        self.viewport().update()
        self._emit_view_changed()

    # ------------------------------------------------------------------------------
    # zoom and pan
    # ------------------------------------------------------------------------------
    def set_zoom(self, zoom: float, anchor: QPointF | QPoint | None = None) -> None:
        """Zoom to ``zoom`` (clamped to [1/64, 32]) keeping the image point under ``anchor``
        (a viewport position; default its centre) where it is."""
        self._fit_mode = False
        self._zoom_to(zoom, anchor)

    def _zoom_to(self, zoom: float, anchor: QPointF | QPoint | None) -> None:
        z = min(MAX_ZOOM, max(MIN_ZOOM, float(zoom)))
        vs = self.viewport().size()
        a = QPointF(vs.width() / 2.0, vs.height() / 2.0) if anchor is None else QPointF(anchor)
        old = self._zoom
        p = self.map_to_image(a)
        self._zoom = z
        self._sx = p.x() * z - a.x()
        self._sy = p.y() * z - a.y()
        self._sync_scrollbars()
        if z != old:
            self._drop_tiles()
        self.viewport().update()
        if z != old:
            self.zoomChanged.emit(z)
        self._emit_view_changed()

    def zoom_in(self) -> None:
        self.set_zoom(next((s for s in ZOOM_STEPS if s > self._zoom * 1.001), MAX_ZOOM))

    def zoom_out(self) -> None:
        self.set_zoom(next((s for s in reversed(ZOOM_STEPS) if s < self._zoom / 1.001), MIN_ZOOM))

    def actual_size(self) -> None:
        """100 %: one image pixel per screen pixel."""
        self.set_zoom(1.0)

    def fit(self) -> None:
        """Zoom so the whole image fits the window, centred; kept fitted while resizing."""
        self._fit_mode = True
        self._apply_fit()

    def is_fitted(self) -> bool:
        return self._fit_mode

    def fit_zoom(self) -> float:
        w, h = self._image_size()
        if w == 0:
            return 1.0
        vs = self.viewport().size()
        z = min(max(1, vs.width()) / w, max(1, vs.height()) / h)
        return min(MAX_ZOOM, max(MIN_ZOOM, z))

    def _apply_fit(self) -> None:
        if self._doc is None:
            return
        self._zoom_to(self.fit_zoom(), None)
        self._sx = self._sy = 0.0
        self._sync_scrollbars()

    def center_on(self, x: float, y: float) -> None:
        """Scroll so image point (x, y) is at the centre of the view (as far as possible)."""
        vs = self.viewport().size()
        self._fit_mode = False
        self._set_scroll(x * self._zoom - vs.width() / 2.0, y * self._zoom - vs.height() / 2.0)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) screen pixels."""
        self._fit_mode = False
        self._set_scroll(self._sx + dx, self._sy + dy)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        old = event.oldSize()
        centre = None
        if self._doc is not None and old.width() > 0 and old.height() > 0:
            ox, oy = self._origin(old)
            centre = ((old.width() / 2.0 - ox) / self._zoom, (old.height() / 2.0 - oy) / self._zoom)
        super().resizeEvent(event)
        if self._fit_mode:
            self._apply_fit()
        elif centre is not None:
            vs = self.viewport().size()
            self._sx = centre[0] * self._zoom - vs.width() / 2.0
            self._sy = centre[1] * self._zoom - vs.height() / 2.0
        self._sync_scrollbars()
        self._emit_view_changed()

    # ------------------------------------------------------------------------------
    # rendering
    # ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw everything from the document (drops the screen tiles)."""
        self._drop_tiles()
        self.viewport().update()

    def update_image_rect(self, rect: QRectF) -> None:
        """Schedule a repaint of the screen area showing image rectangle ``rect``."""
        a = self.map_from_image(rect.topLeft())
        b = self.map_from_image(rect.bottomRight())
        self.viewport().update(QRectF(a, b).toAlignedRect().adjusted(-2, -2, 2, 2))

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

    def _render_base(self, i: int, j: int) -> _ScreenTile:
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
        return _ScreenTile(out, QImage.Format.Format_RGB32, dpr)

    def _render_overlay(self, i: int, j: int) -> _ScreenTile | None:
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
        return _ScreenTile(out, QImage.Format.Format_ARGB32_Premultiplied, dpr)

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

    # -- brush cursor ------------------------------------------------------------------
    def _brush_diameter(self) -> float | None:
        d = getattr(self._tool, "brush_diameter", None)
        return None if d is None else float(d)

    def _cursor_geometry(self) -> tuple[QPointF, float] | None:
        d = self._brush_diameter()
        if d is None or self._pointer is None or self._doc is None or self._pan is not None or self._space:
            return None
        return self._pointer + QPointF(0.5, 0.5), d * self._zoom / 2.0

    def _paint_brush_cursor(self, p: QPainter) -> None:
        geo = self._cursor_geometry()
        if geo is None:
            return
        c, r = geo
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        if r >= 2.0:
            # light on the footprint's edge, dark just outside: visible on any background
            p.setPen(QPen(QColor(0, 0, 0, 220), 1.0))
            p.drawEllipse(c, r + 1.0, r + 1.0)
            p.setPen(QPen(QColor(255, 255, 255, 235), 1.0))
            p.drawEllipse(c, r, r)
        if r < 5.0:  # too small to see: a small cross marks the spot
            for color, off in ((QColor(0, 0, 0, 210), 1.0), (QColor(255, 255, 255, 230), 0.0)):
                p.setPen(QPen(color, 1.0))
                p.drawLine(QPointF(c.x() - 6 + off, c.y() + off), QPointF(c.x() - 2 + off, c.y() + off))
                p.drawLine(QPointF(c.x() + 2 + off, c.y() + off), QPointF(c.x() + 6 + off, c.y() + off))
                p.drawLine(QPointF(c.x() + off, c.y() - 6 + off), QPointF(c.x() + off, c.y() - 2 + off))
                p.drawLine(QPointF(c.x() + off, c.y() + 2 + off), QPointF(c.x() + off, c.y() + 6 + off))

    def _cursor_area(self) -> QRect:
        geo = self._cursor_geometry()
        if geo is None:
            return QRect()
        c, r = geo
        e = max(r, 6.0) + 3.0
        return QRectF(c.x() - e, c.y() - e, 2 * e, 2 * e).toAlignedRect()

    def update_cursor(self) -> None:
        """Redraw the brush cursor, e.g. after the tool's brush size or cursor changed."""
        self._apply_cursor()
        self._refresh_cursor_area()

    def _refresh_cursor_area(self) -> None:
        old = self._cursor_rect
        self._cursor_rect = self._cursor_area()
        if not old.isEmpty():
            self.viewport().update(old)
        if not self._cursor_rect.isEmpty():
            self.viewport().update(self._cursor_rect)

    # ------------------------------------------------------------------------------
    # tools and input
    # ------------------------------------------------------------------------------
    def set_tool(self, tool: Any) -> None:
        self._stroke = False
        self._tool = tool
        self.update_cursor()

    def tool(self) -> Any:
        return self._tool

    def _apply_cursor(self) -> None:
        vp = self.viewport()
        if self._pan is not None:
            vp.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._space:
            vp.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            shape = getattr(self._tool, "cursor", None)
            if shape is None:
                shape = Qt.CursorShape.CrossCursor if self._brush_diameter() is not None else Qt.CursorShape.ArrowCursor
            vp.setCursor(shape if isinstance(shape, QCursor) else QCursor(shape))

    def event_to_image(self, pos: QPointF | QPoint) -> QPointF:
        """Image coordinates that tools receive for a pointer at viewport ``pos``: the centre
        of the screen pixel under the pointer, so a click on a pixel at 100 % lands in the
        middle of that image pixel (a 1-pixel brush then marks exactly that pixel)."""
        return self.map_to_image(QPointF(pos) + QPointF(0.5, 0.5))

    def _image_xy(self, pos: QPointF) -> tuple[float, float]:
        q = self.event_to_image(pos)
        return (q.x(), q.y())

    def _inside(self, x: float, y: float) -> bool:
        w, h = self._image_size()
        return 0.0 <= x < w and 0.0 <= y < h

    def _call_tool(self, name: str, *args: Any) -> None:
        fn = getattr(self._tool, name, None)
        if fn is not None:
            fn(self, *args)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        button = event.button()
        pos = event.position()
        if self._pan is None and (
            button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space)
        ):
            self._pan = (pos, self._sx, self._sy, button)
            self._fit_mode = False
            self._apply_cursor()
            self.update_cursor()
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton and self._pan is None and self._doc is not None:
            if self._tool is not None:
                self._stroke = True
                x, y = self._image_xy(pos)
                self._call_tool("press", x, y, event)
            event.accept()
            return
        event.ignore()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._pan is not None:
            start, sx, sy, _ = self._pan
            d = pos - start
            self._set_scroll(sx - d.x(), sy - d.y())
        elif self._doc is not None:
            x, y = self._image_xy(pos)
            if self._stroke:
                self._call_tool("move", x, y, event)
            elif event.buttons() == Qt.MouseButton.NoButton:
                self._call_tool("hover", x, y)
        self._pointer_moved(pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        button = event.button()
        if self._pan is not None:
            if button == self._pan[3]:
                self._pan = None
                self._apply_cursor()
                self.update_cursor()
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton and self._stroke:
            self._stroke = False
            x, y = self._image_xy(event.position())
            self._call_tool("release", x, y, event)
            event.accept()
            return
        event.ignore()

    def _pointer_moved(self, pos: QPointF | None) -> None:
        self._pointer = None if pos is None else QPointF(pos)
        self._refresh_cursor_area()
        if pos is None or self._doc is None:
            self.cursorMoved.emit(None)
            return
        x, y = self._image_xy(pos)
        self.cursorMoved.emit((x, y) if self._inside(x, y) else None)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self._doc is None:
            event.ignore()
            return
        delta = event.angleDelta().y()
        if delta == 0 and not event.pixelDelta().isNull():
            delta = event.pixelDelta().y()  # some trackpads report pixels only
        if delta:
            self.set_zoom(self._zoom * WHEEL_STEP ** (delta / 120.0), event.position())
            self._pointer_moved(event.position())
        event.accept()

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        t = event.type()
        if t == QEvent.Type.Leave:
            self._pointer_moved(None)
        elif t == QEvent.Type.NativeGesture and self._doc is not None:
            if event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:  # type: ignore[attr-defined]
                self.set_zoom(self._zoom * (1.0 + event.value()), event.position())  # type: ignore[attr-defined]
                return True
        return super().viewportEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat() and not self._space:
                self._space = True
                self._apply_cursor()
                self.update_cursor()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = False
                self._apply_cursor()
                self.update_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event: Any) -> None:  # noqa: N802
        if self._space:
            self._space = False
            self._apply_cursor()
        super().focusOutEvent(event)

    def space_held(self) -> bool:
        return self._space

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, 600)

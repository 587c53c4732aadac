"""View geometry of the canvas: zoom, scrolling, fit, and mapping between screen and image.

Coordinates: image pixel (i, j) covers [j, j+1) × [i, i+1). The zoomed image occupies
viewport pixels [ox, ox + round(W·zoom)) horizontally, ox an integer, so screen tiles stay
aligned while panning; an image smaller than the view is centred in it.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize
from PySide6.QtGui import QResizeEvent

from muralstudio.core.document import Mural

MIN_ZOOM = 1.0 / 64.0
MAX_ZOOM = 32.0
#: Zoom levels for zoom_in / zoom_out.
ZOOM_STEPS = (
    1 / 64, 1 / 48, 1 / 32, 1 / 24, 1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3,
    1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0,
)


class CanvasGeometryMixin:
    """Zoom, scroll position and coordinate mapping of :class:`~muralstudio.gui.canvas.CanvasView`.

    Part of CanvasView (a QAbstractScrollArea); the state below is set up by its ``__init__``.
    """

    _doc: Mural | None
    _zoom: float
    _sx: float  # zoomed-image coordinate at the viewport's left edge (when scrolling)
    _sy: float
    _fit_mode: bool
    _syncing: bool
    _last_view: tuple | None

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

"""Input of the canvas: the current tool, pointer, wheel and keys, and the brush cursor.

Pointer positions are taken at the centre of the screen pixel under the pointer. The middle
button, or the left one with Space held, pans; the left button drives the tool.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QCursor, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent

from muralstudio.core.document import Mural

WHEEL_STEP = 1.15  # zoom factor per wheel notch (120 eighths of a degree)


class CanvasInputMixin:
    """Tools and input events of :class:`~muralstudio.gui.canvas.CanvasView`.

    Part of CanvasView (a QAbstractScrollArea); the state below is set up by its ``__init__``.
    """

    _doc: Mural | None
    _zoom: float
    _sx: float
    _sy: float
    _fit_mode: bool
    _tool: Any
    _stroke: bool
    _pan: tuple[QPointF, float, float, Qt.MouseButton] | None
    _space: bool
    _pointer: QPointF | None  # viewport position of the pointer
    _cursor_rect: QRect

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
        if button == Qt.MouseButton.RightButton and self._pan is None and self._doc is not None \
                and not self._stroke and hasattr(self._tool, "context_press"):
            x, y = self._image_xy(pos)
            self._call_tool("context_press", x, y, event)
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

    def _hold_space(self, held: bool) -> None:
        """Space held turns the left button into panning; show it with the cursor."""
        self._space = held
        self._apply_cursor()
        self.update_cursor()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat() and not self._space:
                self._hold_space(True)
            event.accept()
            return
        key_press = getattr(self._tool, "key_press", None)
        if key_press is not None and self._doc is not None and key_press(self, event):
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._hold_space(False)
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

"""Navigator: an overview of the whole scan with the canvas's view drawn on it.

Click or drag on the overview to centre the canvas there. The overview comes from a coarse
level of the canvas's display pyramid (about ``OVERVIEW_SIDE`` pixels on the long side),
so it costs next to nothing on a 100-megapixel scan.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from muralstudio.gui.canvas import CanvasView

OVERVIEW_SIDE = 256
BACKGROUND = QColor(0x2B, 0x2C, 0x30)


def overview_level(height: int, width: int, side: int = OVERVIEW_SIDE) -> int:
    """The finest level whose long side is at most ``side`` pixels."""
    level = 0
    while max(-(-height // (1 << level)), -(-width // (1 << level))) > side:
        level += 1
    return level


class NavigatorWidget(QWidget):
    """Overview of the canvas's image; the canvas's visible rectangle is outlined on it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._canvas: CanvasView | None = None
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self._scaled: QImage | None = None
        self._dragging = False
        self._stale = False
        self.setMinimumSize(120, 90)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click or drag to move the view")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(OVERVIEW_SIDE, 3 * OVERVIEW_SIDE // 4)

    # -- wiring ------------------------------------------------------------------------
    def canvas(self) -> CanvasView | None:
        return self._canvas

    def set_canvas(self, canvas: CanvasView | None) -> None:
        if self._canvas is not None:
            for signal, slot in self._connections():
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        self._canvas = canvas
        if canvas is not None:
            for signal, slot in self._connections():
                signal.connect(slot)
        self._rebuild()

    def _connections(self) -> list:
        c = self._canvas
        assert c is not None
        return [(c.viewChanged, self.update), (c.imageChanged, self._rebuild)]

    # -- overview image ------------------------------------------------------------------
    def _rebuild(self) -> None:
        """Forget the overview; it is made again when next painted (only if shown)."""
        self._array = None
        self._image = None
        self._scaled = None
        self._stale = True
        self.update()

    def _build(self) -> None:
        self._stale = False
        c = self._canvas
        pyr = None if c is None else c.pyramid()
        if pyr is not None:
            level = min(pyr.max_level, overview_level(pyr.height, pyr.width))
            h, w = pyr.level_shape(level)
            arr = np.ascontiguousarray(pyr.region(level, 0, 0, h, w, c.display_candidate_object()))
            self._array = arr
            self._image = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888)

    def _target_rect(self) -> QRectF:
        """Where the overview is drawn in the widget (aspect kept, centred)."""
        c = self._canvas
        doc = None if c is None else c.document()
        if doc is None:
            return QRectF()
        h, w = doc.shape
        margin = 4.0
        aw, ah = max(1.0, self.width() - 2 * margin), max(1.0, self.height() - 2 * margin)
        s = min(aw / w, ah / h)
        dw, dh = w * s, h * s
        return QRectF((self.width() - dw) / 2.0, (self.height() - dh) / 2.0, dw, dh)

    def _scaled_image(self, target: QRectF) -> QImage | None:
        """The overview resampled to the drawn size (area averaging, cached per size)."""
        if self._stale:
            self._build()
        if self._array is None:
            return None
        size = (max(1, round(target.width())), max(1, round(target.height())))
        if self._scaled is None or (self._scaled.width(), self._scaled.height()) != size:
            h, w = self._array.shape[:2]
            interp = cv2.INTER_AREA if size[0] < w else cv2.INTER_LINEAR
            arr = np.ascontiguousarray(cv2.resize(self._array, size, interpolation=interp))
            self._scaled_array = arr
            self._scaled = QImage(arr.data, size[0], size[1], arr.strides[0], QImage.Format.Format_RGB888)
        return self._scaled

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self._scaled = None
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        target = self._target_rect()
        img = self._scaled_image(target) if not target.isEmpty() else None
        if img is None:
            p.setPen(QColor(160, 160, 160))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No image")
            p.end()
            return
        p.drawImage(target.topLeft(), img)
        view = self._view_rect(target)
        if view is not None:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            # dim what is out of view, then outline the view in dark and light
            shade = QColor(0, 0, 0, 90)
            p.save()
            p.setClipRect(target)
            outside = QRectF(target)
            p.fillRect(QRectF(outside.left(), outside.top(), outside.width(), view.top() - outside.top()), shade)
            p.fillRect(QRectF(outside.left(), view.bottom(), outside.width(), outside.bottom() - view.bottom()), shade)
            p.fillRect(QRectF(outside.left(), view.top(), view.left() - outside.left(), view.height()), shade)
            p.fillRect(QRectF(view.right(), view.top(), outside.right() - view.right(), view.height()), shade)
            p.restore()
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 200), 3.0))
            p.drawRect(view)
            p.setPen(QPen(QColor(255, 80, 60), 1.5))
            p.drawRect(view)
        p.end()

    def _view_rect(self, target: QRectF) -> QRectF | None:
        c = self._canvas
        doc = None if c is None else c.document()
        if doc is None:
            return None
        vis = c.visible_image_rect()
        if vis.isEmpty():
            return None
        h, w = doc.shape
        sx, sy = target.width() / w, target.height() / h
        return QRectF(target.left() + vis.left() * sx, target.top() + vis.top() * sy, vis.width() * sx, vis.height() * sy)

    # -- interaction ---------------------------------------------------------------------
    def map_to_image(self, pos: QPointF) -> QPointF | None:
        """Image coordinates of a point of this widget (None without an image)."""
        target = self._target_rect()
        c = self._canvas
        if target.isEmpty() or c is None or c.document() is None:
            return None
        h, w = c.document().shape
        x = (pos.x() - target.left()) / target.width() * w
        y = (pos.y() - target.top()) / target.height() * h
        return QPointF(min(max(x, 0.0), float(w)), min(max(y, 0.0), float(h)))

    def _centre_at(self, pos: QPointF) -> None:
        q = self.map_to_image(pos)
        if q is not None and self._canvas is not None:
            self._canvas.center_on(q.x(), q.y())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self._centre_at(event.position())
            event.accept()
        else:
            event.ignore()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging:
            self._centre_at(event.position())
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            event.accept()

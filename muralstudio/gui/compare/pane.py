"""One drawing surface of the compare view: a side (or two, split by the swipe divider) at the
shared zoom and centre, with the switched-on maps drawn over it and their legends.

Panes hold no view state of their own: zoom and centre live in :class:`ViewState`, shared
by every pane, so locked zoom and pan are the same numbers, not a synchronisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QLinearGradient, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from muralstudio.gui.compare.mapstore import colourise, legend
from muralstudio.gui.levels import level_for_zoom, overlay_level_for_zoom

if TYPE_CHECKING:
    from muralstudio.gui.compare.view import CompareView

WHEEL_STEP = 1.15
DIVIDER_GRAB = 10  # px either side of the swipe divider that grab it
BACKGROUND = QColor(40, 40, 42)


@dataclass
class ViewState:
    """Zoom (screen px per image px) and the image point at the centre of every pane."""

    zoom: float = 1.0
    cx: float = 0.0
    cy: float = 0.0


def _qimage(arr: np.ndarray, fmt: QImage.Format) -> QImage:
    arr = np.ascontiguousarray(arr)
    img = QImage(arr.data, arr.shape[1], arr.shape[0], arr.strides[0], fmt)
    img.ndarray = arr  # keep the buffer alive as long as the image
    return img


class ComparePane(QWidget):
    """Shows ``sides[0]`` (and in swipe mode ``sides[1]`` right of the divider)."""

    def __init__(self, view: "CompareView", index: int) -> None:
        super().__init__(view)
        self.view = view
        self.index = index  # 0: the A pane, 1: the B pane of side by side
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(160, 120)
        self._drag: tuple[str, QPointF, float, float] | None = None
        self._cache: dict[tuple[Any, ...], QImage] = {}

    # -- geometry -----------------------------------------------------------------------
    def _half(self) -> tuple[float, float]:
        """Half the first pane's size: every pane maps with it, so panes of odd widths that
        differ by a pixel still show each image pixel at the same place."""
        first = self.view.panes[0]
        return first.width() / 2, first.height() / 2

    def map_to_image(self, pos: QPointF) -> QPointF:
        s, (hw, hh) = self.view.state, self._half()
        return QPointF(s.cx + (pos.x() - hw) / s.zoom, s.cy + (pos.y() - hh) / s.zoom)

    def map_from_image(self, pt: QPointF) -> QPointF:
        s, (hw, hh) = self.view.state, self._half()
        return QPointF((pt.x() - s.cx) * s.zoom + hw, (pt.y() - s.cy) * s.zoom + hh)

    def _level_rect(self, level: int) -> tuple[int, int, int, int] | None:
        """The part of ``level`` that the pane shows (level coordinates), None when nothing."""
        s, f = self.view.state, 1 << level
        h, w = self.view.image_shape
        tl = self.map_to_image(QPointF(0, 0))
        x0, y0 = tl.x(), tl.y()
        x1, y1 = x0 + self.width() / s.zoom, y0 + self.height() / s.zoom
        lh, lw = -(-h // f), -(-w // f)
        a0, b0 = max(0, math.floor(y0 / f)), max(0, math.floor(x0 / f))
        a1, b1 = min(lh, math.ceil(y1 / f)), min(lw, math.ceil(x1 / f))
        return None if a0 >= a1 or b0 >= b1 else (a0, b0, a1, b1)

    def _target(self, level: int, rect: tuple[int, int, int, int]) -> QRectF:
        f = 1 << level
        a0, b0, a1, b1 = rect
        tl = self.map_from_image(QPointF(b0 * f, a0 * f))
        h, w = self.view.image_shape
        br = self.map_from_image(QPointF(min(w, b1 * f), min(h, a1 * f)))
        return QRectF(tl, br)

    def visible_box(self) -> tuple[int, int, int, int] | None:
        """The image box (full resolution) the pane shows."""
        return self._level_rect(0)

    # -- painting -----------------------------------------------------------------------
    def _side_image(self, side: str, level: int, rect: tuple[int, int, int, int],
                    target: QRectF) -> tuple[QImage, QRectF]:
        """The side's pixels for ``rect`` of ``level``, and where to draw them.

        Zoomed out, the image is scaled smoothly once to its size on screen and kept, so
        repaints (a moving divider, arriving map tiles) only copy it.
        """
        smooth = self.view.state.zoom < 1
        size = (round(target.width()), round(target.height())) if smooth else None
        key = ("side", self.view.side_key(side), level, rect, size)
        img = self._cache.get(key)
        if img is None:
            arr = self.view.side_region(side, level, rect)
            img = _qimage(arr, QImage.Format.Format_RGB888)
            if size is not None:
                img = img.scaled(max(1, size[0]), max(1, size[1]), Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
            self._cache = {k: v for k, v in self._cache.items() if k[0] != "side" or k[1] != key[1]}
            self._cache[key] = img
        if size is not None:
            target = QRectF(round(target.x()), round(target.y()), img.width(), img.height())
        return img, target

    def _map_image(self, kind: str, level: int, rect: tuple[int, int, int, int]) -> QImage | None:
        store = self.view.store(kind)
        if store is None:
            return None
        key = ("map", kind, id(store), store.tiles_added, level, rect, self.view.opacity)
        img = self._cache.get(key)
        if img is None:
            rgba = colourise(kind, store.region(level, rect), self.view.opacity)
            img = _qimage(rgba, QImage.Format.Format_RGBA8888)
            self._cache = {k: v for k, v in self._cache.items() if k[0] != "map" or k[1] != kind}
            self._cache[key] = img
        return img

    def drop_cache(self) -> None:
        self._cache.clear()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        view = self.view
        if view.doc is None:
            return
        zoom = view.state.zoom
        level = level_for_zoom(zoom, view.pyramid.max_level)
        rect = self._level_rect(level)
        sides = view.pane_sides(self.index)
        if rect is not None:
            target = self._target(level, rect)
            if len(sides) == 2:  # swipe: A left of the divider, B right of it
                split = view.divider * self.width()
                for side, clip in ((sides[0], QRectF(0, 0, split, self.height())),
                                   (sides[1], QRectF(split, 0, self.width() - split, self.height()))):
                    p.save()
                    p.setClipRect(clip)
                    img, at = self._side_image(side, level, rect, target)
                    p.drawImage(at, img)
                    p.restore()
            else:
                img, at = self._side_image(sides[0], level, rect, target)
                p.drawImage(at, img)
            olevel = overlay_level_for_zoom(zoom, view.pyramid.max_level)
            orect = self._level_rect(olevel)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            if orect is not None:
                for kind in view.shown_maps():
                    img = self._map_image(kind, olevel, orect)
                    if img is not None:
                        p.drawImage(self._target(olevel, orect), img)
        if len(sides) == 2:
            self._paint_divider(p)
        self._paint_captions(p, sides)
        self._paint_legends(p)

    def _paint_divider(self, p: QPainter) -> None:
        x = self.view.divider * self.width()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(0, 0, 0, 160), 3))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setPen(QPen(QColor(255, 255, 255), 1))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        c = QPointF(x, self.height() / 2)
        p.setBrush(QColor(255, 255, 255))
        p.setPen(QPen(QColor(0, 0, 0, 200), 1))
        p.drawEllipse(c, 9, 9)
        p.setPen(QPen(QColor(30, 30, 30), 1.5))
        for d in (-1, 1):
            p.drawLine(c + QPointF(d * 2, -4), c + QPointF(d * 6, 0))
            p.drawLine(c + QPointF(d * 6, 0), c + QPointF(d * 2, 4))

    def _label(self, p: QPainter, x: float, y: float, text: str, right: bool = False) -> None:
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
        box = QRectF(x - w if right else x, y, w, h)
        p.fillRect(box, QColor(0, 0, 0, 170))
        p.setPen(QColor(240, 240, 240))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_captions(self, p: QPainter, sides: list[str]) -> None:
        p.setFont(QFont(self.font().family(), max(8, self.font().pointSize())))
        names = [self.view.caption(s) for s in sides]
        if len(sides) == 2:
            self._label(p, 8, 8, "A: " + names[0])
            self._label(p, self.width() - 8, 8, "B: " + names[1], right=True)
        else:
            letter = ("B" if self.view.flipped else "A") if self.view.mode == "flicker" else "AB"[self.index]
            self._label(p, 8, 8, f"{letter}: {names[0]}")

    def _paint_legends(self, p: QPainter) -> None:
        """One box per shown map, bottom left: its title (and progress) and its colours."""
        if self.index != 0 and self.view.mode == "side":
            return  # one legend is enough for both panes
        fm = p.fontMetrics()
        line = fm.height()
        y = float(self.height() - 8)
        for kind in reversed(self.view.shown_maps()):
            lg = legend(kind, self.view.edge_method)
            status = self.view.map_status(kind)
            title = lg.title + (f" — {status}" if status else "")
            if lg.swatches:
                key_w = sum(16 + fm.horizontalAdvance(t) + 14 for _, t in lg.swatches)
            else:
                key_w = fm.horizontalAdvance(lg.ends[0]) + fm.horizontalAdvance(lg.ends[1]) + 130
            box = QRectF(8, y - (2 * line + 14), max(fm.horizontalAdvance(title), key_w) + 16, 2 * line + 14)
            y = box.top() - 6
            p.fillRect(box, QColor(0, 0, 0, 180))
            p.setPen(QColor(240, 240, 240))
            p.drawText(QPointF(16, box.top() + 4 + fm.ascent()), title)
            top = box.top() + line + 8
            x = 16.0
            if lg.swatches:
                for colour, text in lg.swatches:
                    p.fillRect(QRectF(x, top + 2, 12, line - 4), QColor(*colour))
                    p.drawText(QPointF(x + 16, top + fm.ascent()), text)
                    x += 16 + fm.horizontalAdvance(text) + 14
            else:
                p.drawText(QPointF(x, top + fm.ascent()), lg.ends[0])
                bar = QRectF(x + fm.horizontalAdvance(lg.ends[0]) + 6, top + 2, 110, line - 4)
                grad = QLinearGradient(bar.topLeft(), bar.topRight())
                for i, c in enumerate(lg.ramp):
                    grad.setColorAt(i / (len(lg.ramp) - 1), QColor(*c))
                p.fillRect(bar, grad)
                p.drawText(QPointF(bar.right() + 6, top + fm.ascent()), lg.ends[1])

    # -- input --------------------------------------------------------------------------
    def _near_divider(self, pos: QPointF) -> bool:
        return len(self.view.pane_sides(self.index)) == 2 and abs(pos.x() - self.view.divider * self.width()) <= DIVIDER_GRAB

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if event.button() == Qt.MouseButton.LeftButton and self._near_divider(pos):
            self._drag = ("divider", pos, 0.0, 0.0)
        elif event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            s = self.view.state
            self._drag = ("pan", pos, s.cx, s.cy)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._drag is None:
            near = self._near_divider(pos)
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.OpenHandCursor)
            return
        kind, start, cx, cy = self._drag
        if kind == "divider":
            self.view.set_divider(pos.x() / max(1, self.width()))
        else:
            z = self.view.state.zoom
            self.view.set_centre(cx - (pos.x() - start.x()) / z, cy - (pos.y() - start.y()) / z)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.view.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.view.zoom_at(self, event.position(), self.view.state.zoom * WHEEL_STEP ** steps)
        event.accept()

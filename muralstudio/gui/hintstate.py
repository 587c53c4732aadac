"""Colour hints on the canvas: the current hint colour, the selected hint, picking and drawing.

The hints themselves live in the document (``Mural.hints``); this module holds what only
the window needs: the colour the next hint gets and where it came from, which hint is
selected, whether the next click picks a colour from the image, and whether hints are shown.
Hints are drawn as small discs of their colour with a contrasting ring, the same size on
screen at every zoom.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QPainter, QPen, QPixmap

from muralstudio.core.candidate import Candidate
from muralstudio.core.document import Mural
from muralstudio.core.hints import ColourHint
from muralstudio.io.export import DocumentPixels

DISC_RADIUS = 6.0  # screen pixels
HIT_RADIUS = 9.0  # a click this close to a hint's centre (screen pixels) is on the hint
PICK_SIZE = 5  # a pick averages PICK_SIZE × PICK_SIZE image pixels
DEFAULT_RGB = (62 / 255, 146 / 255, 104 / 255)  # malachite
DEFAULT_SOURCE = "pigment: malachite"


class HintState(QObject):
    """The window's colour-hint settings; signals tell the panel and the canvas of changes."""

    colourChanged = Signal()
    selectionChanged = Signal()
    pickModeChanged = Signal(bool)
    visibilityChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rgb: tuple[float, float, float] = DEFAULT_RGB
        self.source = DEFAULT_SOURCE
        self.selected: ColourHint | None = None
        self.pick_mode = False
        self.visible = True

    def set_colour(self, rgb: Sequence[float], source: str) -> None:
        r, g, b = (float(min(1.0, max(0.0, c))) for c in rgb)
        if (r, g, b) == self.rgb and source == self.source:
            return
        self.rgb, self.source = (r, g, b), source
        self.colourChanged.emit()

    def select(self, hint: ColourHint | None) -> None:
        if hint is not self.selected:
            self.selected = hint
            self.selectionChanged.emit()

    def set_pick_mode(self, on: bool) -> None:
        if bool(on) != self.pick_mode:
            self.pick_mode = bool(on)
            self.pickModeChanged.emit(self.pick_mode)

    def set_visible(self, on: bool) -> None:
        if bool(on) != self.visible:
            self.visible = bool(on)
            self.visibilityChanged.emit(self.visible)

    def hint_for(self, x: float, y: float) -> ColourHint:
        """A hint of the current colour at image point (x, y)."""
        return ColourHint(float(y), float(x), self.rgb, self.source)


def sample_colour(doc: Mural, candidate: Candidate | None, x: float, y: float,
                  size: int = PICK_SIZE) -> tuple[float, float, float]:
    """Mean sRGB colour, floats in [0, 1], of ``size`` × ``size`` pixels around (x, y).

    The pixels are those of the original with ``candidate`` applied (None: the original),
    i.e. what the canvas shows; 8- and 16-bit scans are scaled by their own maximum, grey
    gives a grey colour. The square is cut by the image's edges.
    """
    h, w = doc.shape
    cx, cy = int(math.floor(x)), int(math.floor(y))
    half = size // 2
    box = (max(0, cy - half), max(0, cx - half), min(h, cy - half + size), min(w, cx - half + size))
    if box[0] >= box[2] or box[1] >= box[3]:
        raise ValueError(f"x {x:g}, y {y:g} lies outside the image")
    px = DocumentPixels(doc, candidate).composite(box)
    top = float(np.iinfo(px.dtype).max) if px.dtype.kind in "ui" else 1.0
    mean = px.reshape(-1, px.shape[2] if px.ndim == 3 else 1).astype(np.float64).mean(axis=0) / top
    if mean.size == 1:
        mean = np.repeat(mean, 3)
    r, g, b = (float(min(1.0, max(0.0, v))) for v in mean[:3])
    return (r, g, b)


_PICK_CURSOR: list[QCursor] = []


def pick_cursor() -> QCursor:
    """An eyedropper cursor, white with a dark shadow so it shows on any paint."""
    if not _PICK_CURSOR:
        import qtawesome as qta

        pm = QPixmap(26, 26)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.drawPixmap(2, 0, qta.icon("mdi6.eyedropper", color="black").pixmap(24, 24))
        p.drawPixmap(0, 1, qta.icon("mdi6.eyedropper", color="black").pixmap(24, 24))
        p.drawPixmap(1, 0, qta.icon("mdi6.eyedropper", color="white").pixmap(24, 24))
        p.end()
        _PICK_CURSOR.append(QCursor(pm, 2, 23))  # the tip, bottom left
    return _PICK_CURSOR[0]


def hint_at(canvas: Any, hints: Sequence[ColourHint], x: float, y: float) -> ColourHint | None:
    """The hint drawn under image point (x, y) (the nearest, newest first on ties), or None."""
    if not hints:
        return None
    at = canvas.map_from_image(QPointF(x, y))
    best, best_d = None, HIT_RADIUS**2
    for hint in reversed(hints):  # the newest is drawn on top
        c = canvas.map_from_image(QPointF(hint.x, hint.y))
        d = (c.x() - at.x()) ** 2 + (c.y() - at.y()) ** 2
        if d <= best_d:
            best, best_d = hint, d - 1e-9  # strictly nearer ones win
    return best


def contrast_for(rgb: Sequence[float]) -> QColor:
    """Black or white, whichever stands out against ``rgb``."""
    r, g, b = rgb
    luma = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return QColor(20, 20, 20) if luma > 0.5 else QColor(250, 250, 250)


def paint_hints(painter: QPainter, canvas: Any, hints: Sequence[ColourHint], selected: ColourHint | None) -> None:
    """Draw ``hints`` as discs of constant screen size; the selected one with a wider halo."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    r = DISC_RADIUS
    for hint in hints:
        c = canvas.map_from_image(QPointF(hint.x, hint.y))
        fill = QColor.fromRgbF(*hint.rgb)
        ring = contrast_for(hint.rgb)
        other = QColor(20, 20, 20) if ring.lightness() > 128 else QColor(250, 250, 250)
        if hint is selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(other, 4.0))
            painter.drawEllipse(c, r + 5.0, r + 5.0)
            painter.setPen(QPen(ring, 2.0))
            painter.drawEllipse(c, r + 5.0, r + 5.0)
        painter.setPen(QPen(other, 1.0))  # a thin outer edge keeps the ring visible on any ground
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(c, r + 2.0, r + 2.0)
        painter.setPen(QPen(ring, 2.0))
        painter.setBrush(fill)
        painter.drawEllipse(c, r, r)


class HintOverlay:
    """Draws the document's hints over the canvas while they are shown (a canvas decoration)."""

    def __init__(self, state: HintState) -> None:
        self.state = state

    def paint_overlay(self, painter: QPainter, canvas: Any) -> None:
        doc = canvas.document()
        if doc is None or not self.state.visible or not doc.hints:
            return
        selected = self.state.selected
        paint_hints(painter, canvas, doc.hints, selected if selected in doc.hints else None)

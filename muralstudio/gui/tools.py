"""Canvas tools: brush, eraser, polygon lasso and magic wand, all editing the active layer,
the guide pen, which draws on the guide layer, and the colour hint tool, which places
colour hints.

Each tool turns pointer events (image coordinates) into document edits; one stroke, one
lasso, one wand click, one guide line or one hint is one undo step. A tool's ``icon``,
``key`` and ``tip`` make its action in the window's Tools menu and tool bar.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QKeyEvent, QPainter, QPen, QPolygonF

from muralstudio.core.brush import Brush
from muralstudio.core.document import GUIDE, Mural, StrokeSession
from muralstudio.core.polygon import polygon_mask
from muralstudio.gui.hintstate import HintState, hint_at, pick_cursor, sample_colour
from muralstudio.ops.select import magic_wand, to_uint8


class ToolContext:
    """What tools need from the window: the document, the active layer and tool settings."""

    def __init__(self) -> None:
        self.doc: Mural | None = None
        self.layer_key: str = "mask:crack"
        self.brush = Brush(24.0, 1.0)
        self.wand_tolerance = 24
        self.wand_contiguous = True
        self.hints = HintState()
        self._pixels8: tuple[int, np.ndarray] | None = None

    def pixels8(self) -> np.ndarray:
        """8-bit pixels of the original for colour selection, made once per document."""
        assert self.doc is not None
        key = id(self.doc)
        if self._pixels8 is None or self._pixels8[0] != key:
            self._pixels8 = (key, to_uint8(self.doc.original.pixels))
        return self._pixels8[1]


class Tool:
    """Base: no-op handlers; subclasses override what they use."""

    name = ""
    label = ""
    icon = ""  # qtawesome name of the action's icon
    key = ""  # the action's shortcut
    tip = ""  # what the tool is for, when its label does not say it
    cursor: Any = Qt.CursorShape.CrossCursor
    brush_diameter: float | None = None
    options: tuple[str, ...] = ()  # the tool-option controls it uses: "size", "hardness", "tolerance"
    usage = ""  # how to use it, shown in the tool options bar of a tool without options

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx

    def press(self, canvas: Any, x: float, y: float, event: Any) -> None: ...
    def move(self, canvas: Any, x: float, y: float, event: Any) -> None: ...
    def release(self, canvas: Any, x: float, y: float, event: Any) -> None: ...
    def cancel(self) -> None: ...


class BrushTool(Tool):
    name, label, icon, key = "brush", "Brush", "mdi6.brush", "B"
    options = ("size", "hardness")
    erase = False

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self._stroke: StrokeSession | None = None

    @property
    def brush_diameter(self) -> float:  # type: ignore[override]
        return self.ctx.brush.size

    def press(self, canvas: Any, x: float, y: float, event: Any) -> None:
        if self.ctx.doc is None:
            return
        self._stroke = self.ctx.doc.begin_stroke(self.ctx.layer_key, self.ctx.brush, self.erase)
        self._stroke.add_point(x, y)

    def move(self, canvas: Any, x: float, y: float, event: Any) -> None:
        if self._stroke is not None:
            self._stroke.add_point(x, y)

    def release(self, canvas: Any, x: float, y: float, event: Any) -> None:
        if self._stroke is not None:
            self._stroke.add_point(x, y)
            self._stroke.end()
            self._stroke = None

    def cancel(self) -> None:
        if self._stroke is not None:
            self._stroke.end()
            self._stroke = None


class EraserTool(BrushTool):
    name, label, icon, key = "eraser", "Eraser", "mdi6.eraser", "E"
    erase = True


class LassoTool(Tool):
    """Click points (or drag) to outline a polygon; close it by clicking the start point,
    double-clicking or pressing Enter (Esc abandons it).

    Holding Alt while closing subtracts the polygon from the layer instead of adding it.
    """

    name, label, icon, key = "lasso", "Polygon lasso", "mdi6.lasso", "L"
    usage = ("Click the corners (or drag); click the start point, double-click or press Enter to close; "
             "Alt while closing subtracts; Esc abandons.")

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self.points: list[tuple[float, float]] = []
        self._hover: tuple[float, float] | None = None
        self._dragging = False

    def press(self, canvas: Any, x: float, y: float, event: Any) -> None:
        if self.ctx.doc is None:
            return
        if len(self.points) >= 3 and self._near_start(canvas, x, y):
            self.finish(subtract=_alt(event))
        else:
            self.points.append((x, y))
            self._dragging = True
        canvas.viewport().update()

    def move(self, canvas: Any, x: float, y: float, event: Any) -> None:
        self._hover = (x, y)
        if self._dragging and self.points:
            px, py = self.points[-1]
            if (x - px) ** 2 + (y - py) ** 2 > (4.0 / max(canvas.zoom(), 1e-6)) ** 2:
                self.points.append((x, y))  # freehand while dragging
        canvas.viewport().update()

    def hover(self, canvas: Any, x: float, y: float) -> None:
        self._hover = (x, y)
        if self.points:
            canvas.viewport().update()

    def release(self, canvas: Any, x: float, y: float, event: Any) -> None:
        self._dragging = False

    def double_click(self, canvas: Any, x: float, y: float, event: Any) -> None:
        self.finish(subtract=_alt(event))
        canvas.viewport().update()

    def _near_start(self, canvas: Any, x: float, y: float) -> bool:
        sx, sy = self.points[0]
        return (x - sx) ** 2 + (y - sy) ** 2 <= (8.0 / max(canvas.zoom(), 1e-6)) ** 2

    def finish(self, subtract: bool = False) -> bool:
        """Fill (or clear) the polygon on the active layer as one undo step."""
        doc, pts = self.ctx.doc, self.points
        self.points = []
        self._dragging = False
        if doc is None:
            return False
        hit = polygon_mask(pts, doc.shape)
        if hit is None:
            return False
        (y0, x0, y1, x1), inside = hit
        key = self.ctx.layer_key
        with doc.edit("Lasso (subtract)" if subtract else "Lasso") as rec:
            rec.touch(key, y0, x0, y1, x1)
            view = doc.layer_array(key)[y0:y1, x0:x1]
            if subtract:
                view &= ~inside
            else:
                view |= inside
        return True

    def cancel(self) -> None:
        self.points = []
        self._dragging = False

    def paint_overlay(self, painter: QPainter, canvas: Any) -> None:
        if not self.points:
            return
        pts = [canvas.map_from_image(QPointF(x, y)) for x, y in self.points]
        if self._hover is not None:
            pts.append(canvas.map_from_image(QPointF(*self._hover)))
        for color, width in ((QColor(0, 0, 0, 200), 3), (QColor(255, 255, 255, 230), 1)):
            painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine if width == 3 else Qt.PenStyle.DashLine))
            painter.drawPolyline(QPolygonF(pts))


class WandTool(Tool):
    """Click to add the region of similar colour to the layer (Alt: subtract)."""

    name, label, icon, key = "wand", "Magic wand", "mdi6.auto-fix", "W"
    options = ("tolerance",)

    def press(self, canvas: Any, x: float, y: float, event: Any) -> None:
        self.select(int(x), int(y), subtract=_alt(event))

    def select(self, x: int, y: int, subtract: bool = False) -> bool:
        doc = self.ctx.doc
        if doc is None or not (0 <= x < doc.shape[1] and 0 <= y < doc.shape[0]):
            return False
        region = magic_wand(self.ctx.pixels8(), x, y, self.ctx.wand_tolerance, self.ctx.wand_contiguous)
        rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        key = self.ctx.layer_key
        with doc.edit("Magic wand (subtract)" if subtract else "Magic wand") as rec:
            rec.touch(key, y0, x0, y1, x1)
            view = doc.layer_array(key)[y0:y1, x0:x1]
            if subtract:
                view &= ~region[y0:y1, x0:x1]
            else:
                view |= region[y0:y1, x0:x1]
        return True


class HintTool(Tool):
    """Click to place a colour hint of the current colour; click a hint to select it.

    Delete or Backspace removes the selected hint, a right click the one under the pointer.
    Alt+click (or a click in pick mode) takes the current colour from the image instead:
    the mean of 5 × 5 pixels of what the canvas shows.
    """

    name, label, icon, key = "hint", "Colour hint", "mdi6.map-marker-plus-outline", "I"
    usage = ("Click inside the faded region to place a hint of the current colour; Alt+click takes the "
             "colour from the image; Delete removes the selected hint.")

    @property
    def cursor(self) -> Any:  # type: ignore[override]
        return pick_cursor() if self.ctx.hints.pick_mode else Qt.CursorShape.CrossCursor

    def press(self, canvas: Any, x: float, y: float, event: Any) -> None:
        doc, state = self.ctx.doc, self.ctx.hints
        if doc is None or not canvas._inside(x, y):
            return
        if state.pick_mode or _alt(event):
            self.pick(canvas, x, y)
            return
        state.set_visible(True)  # never place hints one cannot see
        hit = hint_at(canvas, doc.hints, x, y)
        if hit is not None:
            state.select(hit)
        else:
            hint = state.hint_for(x, y)
            doc.add_hint(hint)
            state.select(hint)
        canvas.viewport().update()

    def pick(self, canvas: Any, x: float, y: float) -> None:
        """Make the colour under (x, y) the current hint colour and leave pick mode."""
        doc, state = self.ctx.doc, self.ctx.hints
        assert doc is not None
        rgb = sample_colour(doc, canvas.display_candidate_object(), x, y)
        state.set_colour(rgb, f"picked at {int(x)}, {int(y)}")
        state.set_pick_mode(False)
        canvas.update_cursor()

    def context_press(self, canvas: Any, x: float, y: float, event: Any) -> None:
        """A right click removes the hint under the pointer."""
        doc, state = self.ctx.doc, self.ctx.hints
        if doc is None or not state.visible:
            return
        hit = hint_at(canvas, doc.hints, x, y)
        if hit is not None:
            doc.remove_hint(hit)
            canvas.viewport().update()

    def key_press(self, canvas: Any, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            return self.remove_selected()
        return False

    def remove_selected(self) -> bool:
        doc, state = self.ctx.doc, self.ctx.hints
        if doc is None or state.selected is None or state.selected not in doc.hints:
            return False
        doc.remove_hint(state.selected)
        return True

    def cancel(self) -> None:
        self.ctx.hints.set_pick_mode(False)


GUIDE_WIDTH = 3.0  # guide lines are thin and hard-edged, like a pen's


class GuidePenTool(Tool):
    """Draws guide lines on the guide layer, whatever layer is active: drag for a freehand
    line; Shift+click for a straight segment from where the last line ended (Esc or another
    tool forgets that point); Alt+drag erases guide lines, with a wider tip so a thin line
    is easy to hit. Each line is one undo step."""

    name, label, icon, key = "guide", "Guide pen", "mdi6.draw-pen", "G"
    tip = ("Draw guide lines: lines the diffusion restoration should follow across a loss "
           "(Shift+click: straight segment, Alt: erase)")
    usage = "Drag to draw a line the fill should follow; Shift+click draws a straight segment; Alt+drag erases."
    width = GUIDE_WIDTH
    erase_width = 4 * GUIDE_WIDTH

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self._stroke: StrokeSession | None = None
        self.last: tuple[float, float] | None = None  # where the last line ended
        self._hover: tuple[float, float] | None = None
        self._rubber = False  # a Shift+click preview line is on screen

    @property
    def brush_diameter(self) -> float:  # type: ignore[override]
        return self.erase_width if _held(Qt.KeyboardModifier.AltModifier) else self.width

    def press(self, canvas: Any, x: float, y: float, event: Any) -> None:
        doc = self.ctx.doc
        if doc is None:
            return
        erase = _alt(event)
        self._stroke = doc.begin_stroke(GUIDE, Brush(self.erase_width if erase else self.width, 1.0), erase,
                                        "Erase guide line" if erase else "Guide line")
        if self.last is not None and _shift(event):
            self._stroke.add_point(*self.last)  # a straight segment from the last line's end
        self._stroke.add_point(x, y)
        self._hover = None

    def move(self, canvas: Any, x: float, y: float, event: Any) -> None:
        if self._stroke is not None:
            self._stroke.add_point(x, y)

    def release(self, canvas: Any, x: float, y: float, event: Any) -> None:
        if self._stroke is not None:
            self._stroke.add_point(x, y)
            self._stroke.end()
            self._stroke = None
            self.last = (x, y)

    def hover(self, canvas: Any, x: float, y: float) -> None:
        """With Shift held, preview the straight segment a click would draw."""
        self._hover = (x, y)
        rubber = self.last is not None and _held(Qt.KeyboardModifier.ShiftModifier)
        if rubber or self._rubber:
            canvas.viewport().update()

    def paint_overlay(self, painter: QPainter, canvas: Any) -> None:
        self._rubber = self.last is not None and self._hover is not None and self._stroke is None \
            and _held(Qt.KeyboardModifier.ShiftModifier)
        if not self._rubber:
            return
        assert self.last is not None and self._hover is not None
        a, b = canvas.map_from_image(QPointF(*self.last)), canvas.map_from_image(QPointF(*self._hover))
        for color, style in ((QColor(0, 0, 0, 200), Qt.PenStyle.SolidLine), (QColor(255, 255, 255, 230), Qt.PenStyle.DashLine)):
            painter.setPen(QPen(color, 1, style))
            painter.drawLine(a, b)

    def cancel(self) -> None:
        if self._stroke is not None:
            self._stroke.end()
            self._stroke = None
        self.last = None


def _alt(event: Any) -> bool:
    mods: Callable[[], Any] | None = getattr(event, "modifiers", None)
    return bool(mods and mods() & Qt.KeyboardModifier.AltModifier)


def _shift(event: Any) -> bool:
    mods: Callable[[], Any] | None = getattr(event, "modifiers", None)
    return bool(mods and mods() & Qt.KeyboardModifier.ShiftModifier)


def _held(modifier: Qt.KeyboardModifier) -> bool:
    """Whether ``modifier`` is held now (for hover feedback, which gets no event)."""
    return bool(QGuiApplication.keyboardModifiers() & modifier)


TOOLS: tuple[type[Tool], ...] = (BrushTool, EraserTool, LassoTool, WandTool, GuidePenTool, HintTool)

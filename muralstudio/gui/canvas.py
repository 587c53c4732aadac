"""The image canvas: zoom, pan, mask overlays and tool events on very large scans.

:class:`CanvasView` holds the document, the display pyramid and the overlay renderer, and
their styles; its other parts live in mixins, one module each: view geometry, zoom and
scrolling (:mod:`~muralstudio.gui.canvas_geometry`), painting from cached screen tiles
(:mod:`~muralstudio.gui.canvas_paint`), and tools, pointer and keyboard input
(:mod:`~muralstudio.gui.canvas_input`). The pyramid and overlays come from
:mod:`muralstudio.gui.pyramid` and :mod:`muralstudio.gui.overlay`.

Nothing here converts the whole image: every paint reads only the pyramid tiles under the
part of the view being drawn.
"""

from __future__ import annotations

import weakref
from typing import Any, Mapping

import numpy as np

from PySide6.QtCore import QPointF, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import QAbstractScrollArea, QFrame, QWidget

from muralstudio.core.candidate import Candidate
from muralstudio.core.document import Mural
from muralstudio.gui.canvas_geometry import CanvasGeometryMixin
from muralstudio.gui.canvas_input import CanvasInputMixin
from muralstudio.gui.canvas_paint import CanvasPaintMixin, ScreenTile
from muralstudio.gui.layerstyle import LAYER_ORDER, PROPOSAL_ORDER, LayerStyle, default_styles, proposal_key
from muralstudio.gui.overlay import OverlayRenderer
from muralstudio.gui.pyramid import DisplayPyramid


class _Listener:
    """Forwards document changes to a canvas without keeping the canvas alive."""

    def __init__(self, canvas: "CanvasView") -> None:
        self._canvas = weakref.ref(canvas)
        self.active = True

    def __call__(self, key: str, rect: Any) -> None:
        canvas = self._canvas()
        if self.active and canvas is not None:
            canvas._document_changed(key, rect)


class CanvasView(CanvasInputMixin, CanvasPaintMixin, CanvasGeometryMixin, QAbstractScrollArea):
    """Shows a :class:`Mural` and routes pointer events to the current tool.

    A tool is any object with optional methods ``press(canvas, x, y, event)``,
    ``move(canvas, x, y, event)``, ``release(canvas, x, y, event)``, ``hover(canvas, x, y)``,
    ``paint_overlay(painter, canvas)``, ``context_press(canvas, x, y, event)`` (right button),
    ``key_press(canvas, event)`` (True when it used the key) and attributes ``brush_diameter`` (image pixels or
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
        self._proposals: dict[str, np.ndarray] = {}  # proposal layer key -> bool (H, W)
        self._zoom = 1.0
        self._sx = 0.0  # zoomed-image coordinate at the viewport's left edge (when scrolling)
        self._sy = 0.0
        self._fit_mode = False
        self._syncing = False
        self._last_view: tuple | None = None
        self._base_tiles: dict[tuple[int, int], ScreenTile] = {}
        self._ov_tiles: dict[tuple[int, int], ScreenTile | None] = {}
        self._tiles_dpr = 1.0
        self._tool: Any = None
        self._decorations: list[Any] = []  # objects with paint_overlay(painter, canvas), e.g. hints
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

    def add_decoration(self, deco: Any) -> None:
        """Draw ``deco.paint_overlay(painter, canvas)`` over the image whatever the tool."""
        self._decorations.append(deco)
        self.viewport().update()

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
        self._proposals.clear()
        self._drop_tiles()
        if doc is None:
            self._pyr = None
            self._ov = None
        else:
            self._pyr = DisplayPyramid(doc.original.pixels)
            self._ov = OverlayRenderer(self._layer, doc.shape, keys=LAYER_ORDER + PROPOSAL_ORDER,
                                       styles=self._styles, premultiplied_bgra=True)
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
        if key == "ratings":
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

    def layer_style(self, key: str) -> LayerStyle:
        return self._styles.get(key, LayerStyle((255, 255, 255)))

    # ------------------------------------------------------------------------------
    # detection proposals
    # ------------------------------------------------------------------------------
    def _layer(self, key: str) -> np.ndarray:
        """The overlay's view of a layer: a proposal while one is shown, else the document's."""
        prop = self._proposals.get(key)
        if prop is not None:
            return prop
        assert self._doc is not None
        if key in PROPOSAL_ORDER:  # hidden, so never drawn; an empty layer all the same
            return np.zeros(self._doc.shape, bool)
        return self._doc.layer_array(key)

    def set_proposals(self, proposals: Mapping[str, np.ndarray | None] | None) -> None:
        """Show detected damage over the masks: class name -> bool (H, W), None to remove it.

        Only the classes given change (None as a whole removes every proposal). A swapped
        array invalidates its own layer only; the screen is redrawn from the overlay tiles.
        """
        if proposals is None:
            proposals = {k.split(":", 1)[1]: None for k in self._proposals}
        for cls, mask in proposals.items():
            key = proposal_key(cls)
            if mask is not None and (self._doc is None or mask.shape != self._doc.shape):
                raise ValueError(f"a {cls} proposal of shape {mask.shape} does not fit the document shown")
            if mask is None:
                if self._proposals.pop(key, None) is None:
                    continue
            else:
                self._proposals[key] = mask
            if self._ov is None:
                continue
            self._ov.set_style(key, visible=mask is not None)
            self._ov.invalidate(key, None)  # forgets what it knew of the old array
            self._ov_tiles.clear()
            self.viewport().update()

    def proposals(self) -> dict[str, np.ndarray]:
        """The proposals shown, by class name."""
        return {k.split(":", 1)[1]: v for k, v in self._proposals.items()}

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

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, 600)

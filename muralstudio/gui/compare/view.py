"""The compare view: two sides of a document in swipe, side-by-side or flicker mode.

Swipe shows A left of a draggable divider and B right of it; side by side shows two panes
sharing one zoom and centre, so both always show the same pixel at the same place; flicker
shows one side and a key or a timer swaps it for the other at the same place.
Maps (edges, local SSIM, difference, mask outline) come from a :class:`MapSource`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QPointF, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from muralstudio.core.document import Mural
from muralstudio.core.raster import RasterImage
from muralstudio.gui.compare.mapstore import MapStore
from muralstudio.gui.compare.pane import ComparePane, ViewState
from muralstudio.gui.compare.sources import COMPOSITE, ORIGINAL, REFERENCE, side_candidate, side_key, side_label
from muralstudio.gui.pyramid import DisplayPyramid

MODES = ("swipe", "side", "flicker")
MIN_ZOOM, MAX_ZOOM = 1 / 256, 32.0
FLICKER_MS = 600


class MapSource(Protocol):
    """Where the view finds the maps of the current pair (see CompareWindow)."""

    def store(self, kind: str) -> MapStore | None: ...
    def status(self, kind: str) -> str: ...


class CompareView(QWidget):
    """Two sides of ``doc`` at a shared zoom and centre."""

    viewChanged = Signal()  # zoom, centre or size changed
    pairChanged = Signal()  # a side, the mode or the flicker state changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: Mural | None = None
        self.pyramid: DisplayPyramid | None = None
        self.reference: RasterImage | None = None
        self._ref_pyramid: DisplayPyramid | None = None
        self.state = ViewState()
        self.mode = "swipe"
        self.a, self.b = ORIGINAL, COMPOSITE
        self.divider = 0.5
        self.flipped = False  # flicker: showing B
        self.maps: list[str] = []  # switched-on maps, drawn in this order
        self.edge_method = "sobel"
        self.opacity = 0.85
        self.map_source: MapSource | None = None
        self._fitted = True
        self.panes = [ComparePane(self, 0), ComparePane(self, 1)]
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        for pane in self.panes:
            lay.addWidget(pane)
        self.flicker_timer = QTimer(self)
        self.flicker_timer.setInterval(FLICKER_MS)
        self.flicker_timer.timeout.connect(self.flip)
        self._apply_mode()

    # -- what is shown ------------------------------------------------------------------
    @property
    def image_shape(self) -> tuple[int, int]:
        return self.doc.shape if self.doc is not None else (1, 1)

    def set_document(self, doc: Mural | None, pyramid: DisplayPyramid | None = None) -> None:
        self.doc = doc
        self.pyramid = pyramid if pyramid is not None or doc is None else DisplayPyramid(doc.original.pixels)
        self.reference, self._ref_pyramid = None, None
        self.a, self.b = ORIGINAL, COMPOSITE
        self.flipped = False
        self.drop_cache()
        self.fit()
        self.pairChanged.emit()

    def set_sides(self, a: str, b: str) -> None:
        if (a, b) != (self.a, self.b):
            self.a, self.b = a, b
            self.update_panes()
            self.pairChanged.emit()

    def swap(self) -> None:
        self.set_sides(self.b, self.a)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown compare mode {mode!r}")
        if mode != self.mode:
            self.mode = mode
            if mode != "flicker":
                self.flicker_timer.stop()
            self._apply_mode()
            self.pairChanged.emit()

    def _apply_mode(self) -> None:
        self.panes[1].setVisible(self.mode == "side")
        QTimer.singleShot(0, self.refit)  # pane sizes change once the layout has run
        self.update_panes()

    def pane_sides(self, index: int) -> list[str]:
        """The sides pane ``index`` draws: [A, B] for swipe, one otherwise."""
        if self.mode == "swipe":
            return [self.a, self.b]
        if self.mode == "flicker":
            return [self.b if self.flipped else self.a]
        return [self.a if index == 0 else self.b]

    def flip(self) -> None:
        """Flicker: show the other side at the same place."""
        self.flipped = not self.flipped
        self.update_panes()
        self.pairChanged.emit()

    def set_auto_flicker(self, on: bool) -> None:
        if on:
            self.set_mode("flicker")
            self.flicker_timer.start()
        else:
            self.flicker_timer.stop()

    def set_reference(self, image: RasterImage | None) -> None:
        """A reference image (checked to match the scan) that can be shown as a side."""
        self.reference = image
        self._ref_pyramid = DisplayPyramid(image.pixels) if image is not None else None
        self.drop_cache()

    def side_region(self, side: str, level: int, rect: tuple[int, int, int, int]) -> np.ndarray:
        """8-bit RGB display pixels of a side: ``rect`` of ``level``."""
        assert self.doc is not None and self.pyramid is not None
        if side == REFERENCE:
            if self._ref_pyramid is None:
                raise KeyError(REFERENCE)
            return self._ref_pyramid.region(level, *rect)
        return self.pyramid.region(level, *rect, candidate=side_candidate(self.doc, side))

    def side_key(self, side: str) -> str:
        assert self.doc is not None
        return side_key(self.doc, side)

    def caption(self, side: str) -> str:
        assert self.doc is not None
        return side_label(self.doc, side, self.reference)

    # -- maps ---------------------------------------------------------------------------
    def set_maps(self, kinds: list[str]) -> None:
        self.maps = list(kinds)
        self.update_panes()

    def shown_maps(self) -> list[str]:
        return list(self.maps)

    def store(self, kind: str) -> MapStore | None:
        return self.map_source.store(kind) if self.map_source is not None else None

    def map_status(self, kind: str) -> str:
        return self.map_source.status(kind) if self.map_source is not None else ""

    def set_opacity(self, opacity: float) -> None:
        self.opacity = max(0.0, min(1.0, opacity))
        self.update_panes()

    def set_edge_method(self, method: str) -> None:
        self.edge_method = method
        self.pairChanged.emit()

    def drop_cache(self) -> None:
        for pane in self.panes:
            pane.drop_cache()
        self.update_panes()

    def update_panes(self) -> None:
        for pane in self.panes:
            pane.update()

    # -- zoom and pan -------------------------------------------------------------------
    def set_divider(self, fraction: float) -> None:
        self.divider = max(0.0, min(1.0, fraction))
        self.panes[0].update()

    def set_centre(self, cx: float, cy: float) -> None:
        h, w = self.image_shape
        self.state.cx, self.state.cy = max(0.0, min(float(w), cx)), max(0.0, min(float(h), cy))
        self._fitted = False
        self.update_panes()
        self.viewChanged.emit()

    def set_zoom(self, zoom: float) -> None:
        self.state.zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self._fitted = False
        self.update_panes()
        self.viewChanged.emit()

    def zoom_at(self, pane: ComparePane, pos: QPointF, zoom: float) -> None:
        """Zoom keeping the image point under ``pos`` of ``pane`` where it is."""
        before = pane.map_to_image(pos)
        self.set_zoom(zoom)
        after = pane.map_to_image(pos)
        self.set_centre(self.state.cx + before.x() - after.x(), self.state.cy + before.y() - after.y())

    def fit(self) -> None:
        h, w = self.image_shape
        pane = self.panes[0]
        zoom = min(pane.width() / w, pane.height() / h) * 0.98
        self.state.zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self.state.cx, self.state.cy = w / 2, h / 2
        self._fitted = True
        self.update_panes()
        self.viewChanged.emit()

    def refit(self) -> None:
        """Fit again if the view was fitted (after a layout change), else leave it."""
        if self._fitted:
            self.fit()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def resizeEvent(self, event: object) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.refit()
        self.viewChanged.emit()

"""The Compare and assess window: pick two sides, look at them in three ways with maps over
them, read their figures and record a judgement.

It works on the main window's document and display pyramid; maps and figures are computed on
worker threads so the window never waits for them.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import qtawesome as qta
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSlider,
    QToolButton,
    QWidget,
)

from muralstudio.core.document import Mural
from muralstudio.core.progress import Progress
from muralstudio.gui.compare.assess import AssessmentPanel
from muralstudio.gui.compare.maps import MapService
from muralstudio.gui.compare.metrics_panel import MetricsPanel
from muralstudio.core.errors import MuralStudioError
from muralstudio.gui.actions import IMAGE_FILTER
from muralstudio.gui.compare.sources import COMPOSITE, ORIGINAL, REFERENCE, check_reference, side_candidate, sides
from muralstudio.gui.compare.view import CompareView
from muralstudio.gui.pyramid import DisplayPyramid
from muralstudio.gui.worker import JobRunner
from muralstudio.io.export import DocumentPixels
from muralstudio.io.images import read_image
from muralstudio.ops.context import candidate_metrics

REPAINT_MS = 200  # at most one repaint per this while map tiles arrive
MODE_ACTIONS = (("swipe", "mdi6.compare-horizontal", "&Swipe", "S"),
                ("side", "mdi6.view-split-vertical", "Side &by side", "D"),
                ("flicker", "mdi6.swap-horizontal-variant", "&Flicker", "F"))
MAP_ACTIONS = (("edges", "mdi6.vector-line", "&Edges of A and B", "E"),
               ("ssim", "mdi6.blur", "Local &SSIM", "M"),
               ("diff", "mdi6.select-compare", "Absolute &difference", "X"),
               ("outline", "mdi6.vector-square", "Damage mask &outline", "O"))


def measure_candidates(doc: Mural) -> Generator[Progress, None, tuple[dict[str, dict[str, float]], dict[str, Any]]]:
    """Seam, texture and tone of every candidate, and the area each restored per class."""
    yield Progress(0.0, "Measuring the candidates")
    context = candidate_metrics(doc)
    restored: dict[str, Any] = {}
    cands = list(doc.candidates)
    for i, cand in enumerate(cands):
        restored[cand.id] = DocumentPixels(doc, cand).restored_stats()
        yield Progress((i + 1) / len(cands), "Measuring the candidates")
    return context, restored


class CompareWindow(QMainWindow):
    """Compare two sides of a document and rate its candidates."""

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.setWindowTitle("Compare and assess")
        self.settings = settings
        self.doc: Mural | None = None
        self.context: dict[str, dict[str, float]] | None = None
        self.restored: dict[str, Any] | None = None
        self.view = CompareView(self)
        self.maps = MapService(self)
        self.view.map_source = self.maps
        self.maps.focus = lambda: self.view.panes[0].visible_box()
        self.setCentralWidget(self.view)
        self.measurer = JobRunner(self)
        self.measurer.finished.connect(self._measured)
        self.measurer.failed.connect(lambda msg: self.statusBar().showMessage(msg, 10000))
        self._remeasure = False

        self.metrics = MetricsPanel()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.metrics)
        self.assess = AssessmentPanel(settings)
        self.assess.candidateSelected.connect(self._row_picked)
        for title, widget, name in (("Figures", scroll, "figures"), ("Assessment", self.assess, "assessment")):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"compare-{name}")
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self._build_toolbar()
        self.statusBar().showMessage("Pick two sides to compare; maps are switched on in the tool bar.")

        self.view.pairChanged.connect(self._pair_changed)
        # tiles arrive faster than repaints are worth: draw the first at once, then every REPAINT_MS
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self._repaint_due)
        self._repaint_pending = False
        self.maps.tileArrived.connect(self._tile_arrived)
        self.maps.mapFinished.connect(self._map_finished)
        self.maps.failed.connect(lambda msg: self.statusBar().showMessage(msg, 10000))
        self.maps.runner.progress.connect(lambda f, msg, left, prev: self.statusBar().showMessage(msg))
        geometry = settings.value("compare/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            avail = self.screen().availableGeometry()  # most of the screen, never more than it
            self.resize(min(1400, int(avail.width() * 0.95)), min(860, int(avail.height() * 0.9)))

    # -- toolbar ------------------------------------------------------------------------
    def _act(self, icon: str, text: str, key: str, slot: Any, checkable: bool = False) -> QAction:
        act = QAction(qta.icon(icon), text, self)
        act.setShortcut(QKeySequence(key))
        act.setToolTip(f"{text.replace('&', '')} ({key})")
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Compare")
        tb.setObjectName("compare-toolbar")
        self.a_box, self.b_box = QComboBox(), QComboBox()
        for box in (self.a_box, self.b_box):
            box.setMinimumContentsLength(18)
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.activated.connect(self._sides_picked)
        swap = QToolButton()
        swap.setIcon(qta.icon("mdi6.swap-horizontal"))
        swap.setToolTip("Swap A and B")
        swap.clicked.connect(self.view.swap)
        tb.addWidget(QLabel(" A "))
        tb.addWidget(self.a_box)
        tb.addWidget(swap)
        tb.addWidget(QLabel(" B "))
        tb.addWidget(self.b_box)
        tb.addSeparator()
        group = QActionGroup(self)
        self.mode_actions: dict[str, QAction] = {}
        for mode, icon, text, key in MODE_ACTIONS:
            act = self._act(icon, text, key, lambda _=False, m=mode: self.set_mode(m), checkable=True)
            group.addAction(act)
            tb.addAction(act)
            self.mode_actions[mode] = act
        self.mode_actions[self.view.mode].setChecked(True)
        self.flip_act = self._act("mdi6.flip-horizontal", "Flip A/B (flicker)", "Space", self.flip)
        self.auto_act = self._act("mdi6.timer-sync-outline", "Flicker by itself", "Shift+F", self.view.set_auto_flicker,
                                  checkable=True)
        tb.addAction(self.flip_act)
        tb.addAction(self.auto_act)
        tb.addSeparator()
        self.map_actions: dict[str, QAction] = {}
        for kind, icon, text, key in MAP_ACTIONS:
            act = self._act(icon, text, key, self._maps_toggled, checkable=True)
            tb.addAction(act)
            self.map_actions[kind] = act
        self.edge_box = QComboBox()
        self.edge_box.addItem("Sobel", "sobel")
        self.edge_box.addItem("Canny", "canny")
        self.edge_box.setToolTip("How edges are found: Sobel magnitude (strength) or Canny (thin lines)")
        self.edge_box.currentIndexChanged.connect(lambda _: self.view.set_edge_method(self.edge_box.currentData()))
        tb.addWidget(self.edge_box)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(10, 100)
        self.opacity.setValue(round(self.view.opacity * 100))
        self.opacity.setFixedWidth(90)
        self.opacity.setToolTip("Opacity of the maps")
        self.opacity.valueChanged.connect(lambda v: self.view.set_opacity(v / 100))
        tb.addWidget(QLabel(" Opacity "))
        tb.addWidget(self.opacity)
        tb.addSeparator()
        ref = self._act("mdi6.image-check-outline", "Load &reference image…", "Ctrl+Shift+R", self.ask_reference)
        ref.setToolTip("Load the undamaged truth (e.g. the demo's gt/mural.tif) to measure PSNR and SSIM against it")
        tb.addAction(ref)
        tb.addSeparator()
        tb.addAction(self._act("mdi6.fit-to-screen-outline", "Fit", "Ctrl+0", self.view.fit))
        tb.addAction(self._act("mdi6.numeric-1-box-outline", "Actual size", "Ctrl+1", self.view.actual_size))
        self._act("mdi6.magnify-plus-outline", "Zoom in", "Ctrl++", lambda: self.view.set_zoom(self.view.state.zoom * 1.25))
        self._act("mdi6.magnify-minus-outline", "Zoom out", "Ctrl+-", lambda: self.view.set_zoom(self.view.state.zoom / 1.25))

    # -- document -----------------------------------------------------------------------
    def set_document(self, doc: Mural | None, pyramid: DisplayPyramid | None = None) -> None:
        if self.doc is not None and self._listen in getattr(self.doc, "_listeners", []):
            self.doc._listeners.remove(self._listen)
        self.doc = doc
        self.maps.set_document(doc)
        self.assess.set_document(doc)
        self.view.set_document(doc, pyramid)
        if doc is not None:
            doc.add_listener(self._listen)
            name = doc.original.source.name if doc.original.source is not None else "unsaved scan"
            self.setWindowTitle(f"Compare and assess — {name}")
            self._fill_sides()
            chosen = doc.chosen_id or (doc.candidates[-1].id if doc.candidates else None)
            if chosen is not None:
                self.view.set_sides(ORIGINAL, chosen)
        self._measure()
        self._pair_changed()

    def _listen(self, key: str, rect: object) -> None:
        if key == "candidates":
            ids = {c.id for c in self.doc.candidates} if self.doc else set()
            self.maps.forget(lambda k: any(part.startswith("cand:") and part[5:] not in ids for part in k))
            a, b = self.view.a, self.view.b
            valid = {s for s, _ in sides(self.doc, self.view.reference)} if self.doc else set()
            self.view.set_sides(a if a in valid else ORIGINAL, b if b in valid else COMPOSITE)
            self._fill_sides()
            self._measure()
            self._pair_changed()
        elif key == "ratings":
            self.assess.refresh()
        elif key.startswith("mask:"):
            self.maps.forget(lambda k: k[0] in ("outline", "ssim"))
            self._measure()
            self._pair_changed()

    def _fill_sides(self) -> None:
        if self.doc is None:
            return
        for box, current in ((self.a_box, self.view.a), (self.b_box, self.view.b)):
            box.blockSignals(True)
            box.clear()
            for side, label in sides(self.doc, self.view.reference):
                box.addItem(label, side)
            box.setCurrentIndex(max(0, box.findData(current)))
            box.blockSignals(False)

    def ask_reference(self) -> None:
        if self.doc is None:
            return
        start = str(self.settings.value("paths/last_dir", ""))
        path, _ = QFileDialog.getOpenFileName(self, "Load a reference image", start, IMAGE_FILTER)
        if path:
            self.load_reference(Path(path))

    def load_reference(self, path: Path) -> bool:
        """Compare against ``path`` (it must match the scan); on bad input say why and go on."""
        if self.doc is None:
            return False
        try:
            image = read_image(path)
            check_reference(self.doc, image)
        except (MuralStudioError, ValueError) as exc:
            QMessageBox.warning(self, "Reference not loaded", str(exc))
            return False
        self.view.set_reference(image)
        self.maps.set_reference(image)
        self._fill_sides()
        b = self.view.b if self.view.b != REFERENCE else COMPOSITE
        self.view.set_sides(REFERENCE, b)
        self.statusBar().showMessage(f"Reference {path.name} loaded: figures now measure B against it.", 8000)
        return True

    def _sides_picked(self) -> None:
        self.view.set_sides(self.a_box.currentData(), self.b_box.currentData())

    def _row_picked(self, cid: str) -> None:
        if cid != self.view.b:
            self.view.set_sides(self.view.a if self.view.a != cid else ORIGINAL, cid)

    # -- modes and maps -----------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.view.set_mode(mode)
        self.mode_actions[mode].setChecked(True)

    def flip(self) -> None:
        if self.view.mode != "flicker":
            self.set_mode("flicker")
        self.view.flip()

    def set_maps(self, kinds: list[str]) -> None:
        for kind, act in self.map_actions.items():
            act.setChecked(kind in kinds)
        self._maps_toggled()

    def _maps_toggled(self) -> None:
        self.view.set_maps([k for k, act in self.map_actions.items() if act.isChecked()])
        self._want()

    def _want(self) -> None:
        self.maps.want(self.view.shown_maps() + ["ssim"])  # the SSIM pass also gives the figures

    def _pair_changed(self) -> None:
        if self.doc is None:
            self.metrics.show_figures(None, "", "", None, "", None, None)
            return
        self.flip_act.setEnabled(True)
        self.mode_actions[self.view.mode].setChecked(True)
        for box, side in ((self.a_box, self.view.a), (self.b_box, self.view.b)):
            box.blockSignals(True)
            box.setCurrentIndex(max(0, box.findData(side)))
            box.blockSignals(False)
        self.maps.set_pair(self.view.a, self.view.b, self.view.edge_method)
        self._want()
        rated = next((side_candidate(self.doc, s) for s in (self.view.b, self.view.a)
                      if side_candidate(self.doc, s) is not None), None)
        self.assess.set_candidate(rated.id if rated is not None else None)
        self._show_figures()
        self.view.update_panes()

    def _tile_arrived(self, kind: str) -> None:
        if self._repaint.isActive():
            self._repaint_pending = True
            return
        self.view.update_panes()
        self._repaint.start()

    def _repaint_due(self) -> None:
        if self._repaint_pending:
            self._repaint_pending = False
            self.view.update_panes()
            self._repaint.start()

    def _map_finished(self, kind: str) -> None:
        self.view.update_panes()
        if kind == "ssim":
            self._show_figures()
        if not self.maps.is_busy():
            self.statusBar().showMessage("Maps ready", 3000)

    def _show_figures(self) -> None:
        self.metrics.show_figures(self.doc, self.view.a, self.view.b, self.maps.figures(),
                                  self.maps.status("ssim"), self.context, self.restored, self.view.reference)

    # -- candidate figures --------------------------------------------------------------
    def _measure(self) -> None:
        self.context, self.restored = None, None
        if self.doc is None:
            return
        if self.measurer.is_running():
            self._remeasure = True
            return
        doc = self.doc
        self.measurer.start(lambda: measure_candidates(doc))

    def _measured(self, result: object) -> None:
        if self._remeasure:
            self._remeasure = False
            self._measure()
            return
        self.context, self.restored = result  # type: ignore[misc]
        self.assess.set_figures(self.context or {})
        self._show_figures()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.settings.setValue("compare/geometry", self.saveGeometry())
        self.view.set_auto_flicker(False)
        self.maps.shutdown()
        self.measurer.cancel()
        self.measurer.wait()
        event.accept()

    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        QTimer.singleShot(0, self.view.refit)
        if self.doc is not None and self.context is None:  # shown again after a close stopped its jobs
            self._measure()
        self._pair_changed()

"""The main window: canvas in the middle, dockable panels, menus, tool bar and status bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import qtawesome as qta
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QDoubleSpinBox,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSpinBox,
)

from muralstudio.core.brush import Brush
from muralstudio.gui.actions import FileActions, MaskActions
from muralstudio.gui.canvas import CanvasView
from muralstudio.gui.detect import DetectController
from muralstudio.gui.finetune import FinetuneActions
from muralstudio.gui.hintcontrol import HintsController
from muralstudio.gui.navigator import NavigatorWidget
from muralstudio.gui.panels.detect import DetectPanel
from muralstudio.gui.panels.hints import HintsPanel
from muralstudio.gui.panels.history import HistoryPanel
from muralstudio.gui.panels.layers import LAYERS, LayersPanel
from muralstudio.gui.panels.restore import RestorePanel
from muralstudio.gui.restorejob import RestoreJob
from muralstudio.gui.session import Session
from muralstudio.gui.tools import TOOLS, Tool, ToolContext
from muralstudio.gui.worker import JobRunner

AUTOSAVE_MS = 3 * 60 * 1000


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.session: Session | None = None
        self.shown_candidate: str | None = None
        self.compare: Any = None  # the Compare and assess window, made when first asked for
        self.ctx = ToolContext()
        self.tools: dict[str, Tool] = {cls.name: cls(self.ctx) for cls in TOOLS}
        self.runner = JobRunner(self)
        self.setWindowTitle("Mural Studio")
        self.setAcceptDrops(True)
        self.canvas = CanvasView()
        self.setCentralWidget(self.canvas)
        self.layers = LayersPanel()
        self.restore = RestorePanel()
        self.history = HistoryPanel()
        self.detect_panel = DetectPanel()
        self.hints_panel = HintsPanel()
        self.navigator = NavigatorWidget()
        self.navigator.set_canvas(self.canvas)
        for title, widget, area in (
            ("Layers", self.layers, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Restore", self.restore, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Detect", self.detect_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Colour hints", self.hints_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Navigator", self.navigator, Qt.DockWidgetArea.LeftDockWidgetArea),
            ("History", self.history, Qt.DockWidgetArea.LeftDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"{title.lower()}-dock")
            scroll = QScrollArea()  # panels scroll rather than push the window off small screens
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(widget)
            dock.setWidget(scroll)
            self.addDockWidget(area, dock)
        self.files = FileActions(self)
        self.masks = MaskActions(self)
        self.finetune = FinetuneActions(self)
        self.detection = DetectController(self, self.detect_panel)
        self._build_actions()
        self.hint_control = HintsController(self, self.hints_panel)
        self.restore_job = RestoreJob(self, self.restore)
        self._build_status_bar()
        self._connect()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.files.autosave)
        self.autosave_timer.start()
        self._restore_settings()
        self.set_tool("brush")
        self.update_title()

    # -- construction -------------------------------------------------------------------
    def _action(self, menu, icon: str | None, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        act = QAction(qta.icon(icon), text, self) if icon else QAction(text, self)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.setStatusTip(tip or text.replace("&", "").rstrip("…"))
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _build_actions(self) -> None:
        bar = self.menuBar()
        self.files.build_menu(bar.addMenu("&File"))
        edit = bar.addMenu("&Edit")
        self.undo_act = self._action(edit, "mdi6.undo", "&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_act = self._action(edit, "mdi6.redo", "&Redo", self.redo, QKeySequence("Ctrl+Shift+Z"))
        edit.addSeparator()
        self.masks.build_menu(edit)
        view = bar.addMenu("&View")
        self._action(view, "mdi6.magnify-plus-outline", "Zoom &in", self.canvas.zoom_in, QKeySequence("Ctrl++"))
        self._action(view, "mdi6.magnify-minus-outline", "Zoom &out", self.canvas.zoom_out, QKeySequence("Ctrl+-"))
        fit = self._action(view, "mdi6.fit-to-screen-outline", "&Fit to window", self.canvas.fit, QKeySequence("Ctrl+0"))
        self._action(view, "mdi6.numeric-1-box-outline", "&Actual size (100 %)", self.canvas.actual_size, QKeySequence("Ctrl+1"))
        view.addSeparator()
        self.outline_act = self._action(view, "mdi6.vector-square", "Mask &outlines only", self.layers.outline.toggle, QKeySequence("O"))
        self._action(view, "mdi6.eye-off-outline", "&Hide or show all masks", self.toggle_masks, QKeySequence("H"))
        view.addSeparator()
        self._action(view, "mdi6.compare", "&Compare and assess…", self.open_compare, QKeySequence("Ctrl+K"))
        tools_menu = bar.addMenu("&Tools")
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, tool in self.tools.items():
            act = self._action(tools_menu, tool.icon, tool.label, lambda _=False, n=name: self.set_tool(n), QKeySequence(tool.key), tool.tip)
            act.setToolTip(f"{tool.label} ({tool.key})" + (f": {tool.tip}" if tool.tip else ""))
            act.setCheckable(True)
            self.tool_group.addAction(act)
            self.tool_actions[name] = act
        tools_menu.addSeparator()
        self._action(tools_menu, "mdi6.play", "&Run restoration", self.restore.run_button.click, QKeySequence("Ctrl+R"))
        self.finetune.build_menu(tools_menu)
        self.detection.build_menu(tools_menu)
        for i, (key, label, _, _) in enumerate(LAYERS, start=1):
            act = QAction(self)
            act.setShortcut(QKeySequence(str(i)))
            act.triggered.connect(lambda _=False, k=key: self.layers.set_active(k))
            self.addAction(act)
        for seq, slot in (("[", lambda: self.adjust_brush(size=1 / 1.2)), ("]", lambda: self.adjust_brush(size=1.2)),
                          ("Shift+[", lambda: self.adjust_brush(hardness=-0.1)), ("Shift+]", lambda: self.adjust_brush(hardness=0.1)),
                          ("Return", self.finish_lasso), ("Escape", self.cancel_tool)):
            act = QAction(self)
            act.setShortcut(QKeySequence(seq))
            act.triggered.connect(slot)
            self.addAction(act)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "mdi6.information-outline", "&About Mural Studio", self.about)
        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        for act in (self.files.open_act, self.files.save_act, self.undo_act, self.redo_act):
            tb.addAction(act)
        tb.addSeparator()
        for act in self.tool_actions.values():
            tb.addAction(act)
        tb.addSeparator()
        tb.addAction(fit)
        opts = self.addToolBar("Tool options")
        opts.setObjectName("tool-options")
        self.size_spin = QSpinBox(minimum=1, maximum=2000, suffix=" px", value=24)
        self.size_spin.setToolTip("Brush size ( [ and ] )")
        self.hard_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.1, value=1.0)
        self.hard_spin.setToolTip("Brush hardness ( Shift+[ and Shift+] )")
        self.tol_spin = QSpinBox(minimum=0, maximum=255, value=24)
        self.tol_spin.setToolTip("Magic wand colour tolerance (0–255)")
        self.option_actions: list[tuple[str, QAction]] = []  # shown only for the tools that use them
        for key, label, w in (("size", "Size ", self.size_spin), ("hardness", "  Hardness ", self.hard_spin),
                              ("tolerance", "  Wand tolerance ", self.tol_spin)):
            self.option_actions += [(key, opts.addWidget(QLabel(label))), (key, opts.addWidget(w))]
        self.usage_label = QLabel()  # how to use a tool that has no options (the bar is never empty)
        self.usage_label.setObjectName("tool-usage")
        self.usage_label.setStyleSheet("color: palette(placeholder-text); padding-left: 6px;")
        self.usage_action = opts.addWidget(self.usage_label)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.pos_label, self.value_label = QLabel(), QLabel()
        self.size_label, self.zoom_label = QLabel(), QLabel()
        for w in (self.pos_label, self.value_label, self.size_label, self.zoom_label):
            w.setMinimumWidth(90)
            sb.addPermanentWidget(w)

    def _connect(self) -> None:
        self.size_spin.valueChanged.connect(self._brush_changed)
        self.hard_spin.valueChanged.connect(self._brush_changed)
        self.tol_spin.valueChanged.connect(lambda v: setattr(self.ctx, "wand_tolerance", v))
        self.layers.activeChanged.connect(lambda k: setattr(self.ctx, "layer_key", k))
        self.layers.visibilityChanged.connect(self.canvas.set_layer_visible)
        self.layers.opacityChanged.connect(self.canvas.set_layer_opacity)
        self.layers.outlineChanged.connect(self.canvas.set_outline_mode)
        self.layers.importRequested.connect(self.masks.import_mask)
        self.layers.exportRequested.connect(self.masks.export_mask)
        self.layers.clearRequested.connect(self.masks.clear)
        self.history.jumpRequested.connect(self.jump_to)
        self.restore.candidateSelected.connect(self.show_candidate)
        self.restore.chooseRequested.connect(lambda cid: self.session and self.session.doc.choose(cid))
        self.restore.deleteRequested.connect(lambda cid: self.session and self.session.doc.remove_candidate(cid))
        self.canvas.cursorMoved.connect(self._cursor_moved)
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))

    # -- document -----------------------------------------------------------------------
    def set_session(self, session: Session | None) -> None:
        """Show a new document (the caller has already asked about unsaved changes)."""
        for tool in self.tools.values():
            tool.cancel()
        self.session = session
        self.shown_candidate = None
        doc = session.doc if session else None
        self.ctx.doc = doc
        self.canvas.set_document(doc)
        self.canvas.set_display_candidate(None)
        for key, (visible, opacity) in self.layers.state().items():
            self.canvas.set_layer_visible(key, visible)
            self.canvas.set_layer_opacity(key, opacity)
        if doc is not None:
            doc.add_listener(self._doc_changed)
            doc.history.add_listener(self._history_changed)
            img = doc.original
            self.size_label.setText(f"{img.width} × {img.height}, {img.bit_depth}-bit {'grey' if img.channels == 1 else 'RGB'}")
            self.canvas.fit()
            for note in img.notices:
                self.statusBar().showMessage(note, 10000)
        else:
            self.size_label.setText("")
        self._history_changed()
        if doc is not None and doc.chosen_id is not None:
            self.show_candidate(doc.chosen_id)  # a saved project opens on its chosen result
        self.restore.refresh_candidates(doc, self.shown_candidate)
        self.finetune.refresh()
        self.detection.set_document(doc)
        self.hint_control.set_document(doc)
        self.restore_job.set_document(doc)
        if self.compare is not None:
            self.compare.set_document(doc, self.canvas.pyramid())
        self.update_title()

    def open_compare(self) -> None:
        """Show the Compare and assess window on the current document."""
        if self.session is None:
            self.statusBar().showMessage("Open a scan first.", 5000)
            return
        if self.compare is None:
            from muralstudio.gui.compare.window import CompareWindow

            self.compare = CompareWindow(self.settings, self)
            self.compare.set_document(self.session.doc, self.canvas.pyramid())
        self.compare.show()
        self.compare.raise_()
        self.compare.activateWindow()

    def _doc_changed(self, key: str, rect: object) -> None:
        if key == "candidates" and self.session is not None:
            doc = self.session.doc
            if self.shown_candidate is not None and all(c.id != self.shown_candidate for c in doc.candidates):
                self.show_candidate(None)
            self.restore.refresh_candidates(doc, self.shown_candidate)

    def _history_changed(self) -> None:
        hist = self.session.doc.history if self.session else None
        self.history.refresh(hist)
        self.undo_act.setEnabled(bool(hist and hist.can_undo()))
        self.redo_act.setEnabled(bool(hist and hist.can_redo()))
        self.update_title()

    def update_title(self) -> None:
        if self.session is None:
            self.setWindowTitle("Mural Studio")
        else:
            star = "*" if self.session.dirty else ""
            self.setWindowTitle(f"{self.session.title}{star} — Mural Studio")

    def toggle_masks(self) -> None:
        """Hide every mask overlay to judge the paint, or bring back the ones hidden."""
        boxes = self.layers.visible
        shown = [k for k, box in boxes.items() if box.isChecked()]
        if shown:
            self._hidden_masks = shown
            for k in shown:
                boxes[k].setChecked(False)
        else:
            for k in getattr(self, "_hidden_masks", None) or list(boxes):
                boxes[k].setChecked(True)
        self.hint_control.set_visible(not shown)

    def show_candidate(self, cid: str | None) -> None:
        self.shown_candidate = cid
        self.canvas.set_display_candidate(cid)

    def undo(self) -> None:
        if self.session is not None:
            self.session.doc.undo()

    def redo(self) -> None:
        if self.session is not None:
            self.session.doc.redo()

    def jump_to(self, position: int) -> None:
        if self.session is not None:
            self.session.doc.jump_to(position)

    # -- tools --------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        current = getattr(self.canvas, "_tool", None)
        if isinstance(current, Tool):
            current.cancel()
        self.tool_actions[name].setChecked(True)
        self.canvas.set_tool(self.tools[name])
        tool = self.tools[name]
        for key, act in self.option_actions:
            act.setVisible(key in tool.options)
        self.usage_label.setText(tool.usage)
        self.usage_action.setVisible(bool(tool.usage))

    def _brush_changed(self) -> None:
        self.ctx.brush = Brush(float(self.size_spin.value()), float(self.hard_spin.value()))
        self.canvas.viewport().update()

    def adjust_brush(self, size: float | None = None, hardness: float | None = None) -> None:
        if size is not None:
            new = self.size_spin.value() * size
            self.size_spin.setValue(max(1, round(new if size > 1 else min(new, self.size_spin.value() - 1))))
        if hardness is not None:
            self.hard_spin.setValue(min(1.0, max(0.0, self.hard_spin.value() + hardness)))

    def finish_lasso(self) -> None:
        lasso = self.tools["lasso"]
        if getattr(lasso, "points", None):
            lasso.finish()  # type: ignore[attr-defined]
            self.canvas.viewport().update()

    def cancel_tool(self) -> None:
        for tool in self.tools.values():
            tool.cancel()
        self.canvas.viewport().update()

    def _cursor_moved(self, pos: object) -> None:
        if pos is None or self.session is None:
            self.pos_label.setText("")
            self.value_label.setText("")
            return
        x, y = int(pos[0]), int(pos[1])  # type: ignore[index]
        img = self.session.doc.original
        if not (0 <= x < img.width and 0 <= y < img.height):
            self.pos_label.setText("")
            self.value_label.setText("")
            return
        self.pos_label.setText(f"x {x}, y {y}")
        px = img.pixels[y, x]
        names = "RGB" if img.channels == 3 else "V"
        self.value_label.setText(" ".join(f"{n} {int(v)}" for n, v in zip(names, px)))

    # -- jobs ---------------------------------------------------------------------------
    def run_job(self, engine_name: str, params: dict, classes: list[str]) -> None:
        """Restore ``classes`` with an engine on the worker thread (see :class:`RestoreJob`)."""
        self.restore_job.run(engine_name, params, classes)

    # -- window -------------------------------------------------------------------------
    def about(self) -> None:
        from muralstudio.gui.about import show_about

        show_about(self, self.settings)

    def _restore_settings(self) -> None:
        geo = self.settings.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:  # first run: most of the screen, never more than it
            avail = self.screen().availableGeometry()
            self.resize(min(1440, int(avail.width() * 0.95)), min(900, int(avail.height() * 0.92)))
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        self.size_spin.setValue(int(self.settings.value("brush/size", 24)))
        self.hard_spin.setValue(float(self.settings.value("brush/hardness", 1.0)))
        self.tol_spin.setValue(int(self.settings.value("wand/tolerance", 24)))
        self._brush_changed()

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("brush/size", self.size_spin.value())
        self.settings.setValue("brush/hardness", self.hard_spin.value())
        self.settings.setValue("wand/tolerance", self.tol_spin.value())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.confirm_discard():
            event.ignore()
            return
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.wait()
        self.detection.shutdown()
        if self.compare is not None:
            self.compare.close()
        self.save_settings()
        self.files.close_recovery()
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.files.open_file(Path(urls[0]))

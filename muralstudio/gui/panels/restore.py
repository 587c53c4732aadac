"""Restore panel: engine, parameters, damage classes, Run/Cancel, progress, the running
engine's current estimate (engines that yield preview images), candidates."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import qtawesome as qta
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from muralstudio.core.damage import FILL_CLASSES, STYLES, DamageClass
from muralstudio.core.document import Mural
from muralstudio.core.errors import EngineError
from muralstudio.engines import engine_names, get_engine
from muralstudio.engines.base import ParamSpec
from muralstudio.gui.panels.jobcontrols import JobControls
from muralstudio.gui.wheelguard import guard_wheel


DEFAULT_ENGINE = "telea"
PREVIEW_SIZE = 220  # the longest side of the current-estimate preview, in screen pixels


def restores_colour(engine: str) -> bool:
    """Whether ``engine`` restores colour (it takes colour hints) rather than filling missing
    pixels: such engines work on the fading class by default and get the document's hints."""
    try:
        return bool(get_engine(engine).takes_hints)
    except EngineError:
        return False


def takes_guide(engine: str) -> bool:
    """Whether ``engine`` follows the document's guide lines."""
    try:
        return bool(get_engine(engine).takes_guide)
    except EngineError:
        return False


def preview_pixmap(rgb: np.ndarray, size: int = PREVIEW_SIZE) -> QPixmap:
    """An (h, w, 3) uint8 RGB image as a pixmap that fits ``size`` × ``size``."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = arr.shape[:2]
    image = QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # copy: arr is temporary
    return QPixmap.fromImage(image).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation)


def default_classes(engine: str) -> tuple[DamageClass, ...]:
    """The damage classes checked by default for ``engine``."""
    return (DamageClass.FADING,) if restores_colour(engine) else FILL_CLASSES


class PathEdit(QWidget):
    """A line edit with a Browse… button, for "path" parameters (a file or a name).

    With ``recent`` (a callable listing files), a history button inside the line edit
    drops down the default value and those files, e.g. the weights of earlier fine-tunings.
    """

    def __init__(self, text: str, label: str, parent: QWidget | None = None, *,
                 recent: Callable[[], list[str]] | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(text)
        self.edit.setMinimumWidth(150)  # narrow docks wrap the row rather than hide the path
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        self._label, self._default, self._recent = label, text, recent
        self.recent_menu = QMenu(self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        if recent is not None:
            act = self.edit.addAction(qta.icon("mdi6.history"), QLineEdit.ActionPosition.TrailingPosition)
            act.setToolTip(f"Recent {label.lower()}")
            act.triggered.connect(lambda: self.recent_menu.popup(self.edit.mapToGlobal(self.edit.rect().bottomLeft())))

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def recent_actions(self) -> list[QAction]:
        """The drop-down's entries, freshly listed: the default value, then the recent files."""
        self._fill_recent()
        return list(self.recent_menu.actions())

    def _fill_recent(self) -> None:
        menu = self.recent_menu
        menu.clear()
        entries = [(f"Default ({self._default})", self._default)]
        entries += [(Path(p).name, p) for p in (self._recent() if self._recent else [])]
        for title, value in entries:
            act = menu.addAction(title)
            act.setToolTip(value)
            act.triggered.connect(lambda _=False, v=value: self.edit.setText(v))
        if len(entries) == 1:
            menu.addAction("(no recent files)").setEnabled(False)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose {self._label.lower()}", "",
                                              "Weights (*.pt *.pth);;All files (*)")
        if path:
            self.edit.setText(path)


class RestorePanel(QWidget):
    runRequested = Signal(str, dict, list)  # engine, params, damage class names
    cancelRequested = Signal()
    candidateSelected = Signal(object)  # candidate id or None (original)
    chooseRequested = Signal(str)
    deleteRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recent_weights: Callable[[], list[str]] = lambda: []  # set by the window: files a path field offers
        layout = QVBoxLayout(self)
        self.engine = QComboBox()
        for name in engine_names():
            self.engine.addItem(get_engine(name).label, name)
        self.engine.setCurrentIndex(max(0, self.engine.findData(DEFAULT_ENGINE)))
        self.engine.currentIndexChanged.connect(self._rebuild_params)
        guard_wheel(self.engine)
        layout.addWidget(self.engine)
        self.description = QLabel(wordWrap=True)
        layout.addWidget(self.description)
        self.params_box = QGroupBox("Parameters")
        self.params_form = QFormLayout(self.params_box)
        self.params_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.addWidget(self.params_box)
        classes = QGroupBox("Restore these damage classes")
        cl = QVBoxLayout(classes)
        self.class_checks: dict[DamageClass, QCheckBox] = {}
        for cls in DamageClass:
            box = QCheckBox(STYLES[cls].label)
            box.setChecked(cls in FILL_CLASSES)
            cl.addWidget(box)
            self.class_checks[cls] = box
        layout.addWidget(classes)
        self.hints_note = QLabel(wordWrap=True)
        self.hints_note.setToolTip("Place colour hints with the Colour hint tool (I); "
                                   "choose their colour in the Colour hints panel.")
        layout.addWidget(self.hints_note)
        self.guide_note = QLabel(wordWrap=True)
        self.guide_note.setToolTip("Guide lines are lines the diffusion restoration should follow, e.g. a "
                                   "contour or a fold across a loss. Draw them with the Guide pen (G).")
        layout.addWidget(self.guide_note)
        self._hint_count = self._guide_pixels = 0
        self._colour_mode = restores_colour(self.engine_name())
        self._apply_class_defaults()
        self.job = JobControls("mdi6.play", "Run", "Restore the checked damage classes (Ctrl+R)",
                               self._request_run, self.cancelRequested.emit)
        self.run_button, self.cancel_button = self.job.run_button, self.job.cancel_button
        self.progress, self.status = self.job.progress, self.job.status
        layout.addWidget(self.job)
        self.preview_box = QWidget()
        pv = QVBoxLayout(self.preview_box)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addWidget(QLabel("Current estimate"))
        self.preview = QLabel()
        self.preview.setToolTip("What the running engine would paint if it stopped now, at its working size")
        pv.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignHCenter)
        self.preview_box.hide()
        layout.addWidget(self.preview_box)
        cands = QGroupBox("Candidates")
        cv = QVBoxLayout(cands)
        self.candidates = QListWidget()
        self.candidates.setToolTip("Click to show a candidate on the canvas; ★ marks the chosen result")
        self.candidates.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long names keep their seed in view
        self.candidates.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.candidates.currentItemChanged.connect(self._on_current)
        cv.addWidget(self.candidates)
        crow = QHBoxLayout()
        self.choose_button = QPushButton(qta.icon("mdi6.star"), "Use as result")
        self.choose_button.clicked.connect(lambda: self._emit_current(self.chooseRequested))
        self.delete_button = QPushButton(qta.icon("mdi6.delete"), "Delete")
        self.delete_button.clicked.connect(lambda: self._emit_current(self.deleteRequested))
        crow.addWidget(self.choose_button)
        crow.addWidget(self.delete_button)
        cv.addLayout(crow)
        layout.addWidget(cands, 1)
        self._param_widgets: dict[str, QWidget] = {}
        self._rebuild_params()

    # -- parameters ---------------------------------------------------------------------
    def engine_name(self) -> str:
        return str(self.engine.currentData())

    def _rebuild_params(self) -> None:
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self._param_widgets.clear()
        engine = get_engine(self.engine_name())
        self.description.setText(engine.description)
        if restores_colour(self.engine_name()) != self._colour_mode:  # another kind of engine
            self._colour_mode = restores_colour(self.engine_name())
            self._apply_class_defaults()
        self._show_guide_note()
        for spec in engine.params:
            widget = self._widget_for(spec)
            widget.setToolTip(spec.help)
            self.params_form.addRow(spec.label, widget)
            self._param_widgets[spec.name] = widget

    def _widget_for(self, spec: ParamSpec) -> QWidget:
        if spec.kind == "int":
            w: Any = QSpinBox()
            w.setRange(int(spec.minimum if spec.minimum is not None else -10**9), int(spec.maximum if spec.maximum is not None else 10**9))
            w.setValue(int(spec.default))
        elif spec.kind == "float":
            w = QDoubleSpinBox()
            w.setDecimals(3)
            w.setRange(spec.minimum if spec.minimum is not None else -1e9, spec.maximum if spec.maximum is not None else 1e9)
            w.setValue(float(spec.default))
        elif spec.kind == "bool":
            w = QCheckBox()
            w.setChecked(bool(spec.default))
        elif spec.kind == "path":
            w = PathEdit(str(spec.default), spec.label, recent=lambda: self.recent_weights())
        else:
            w = QComboBox()
            w.addItems(list(spec.choices))
            w.setCurrentText(str(spec.default))
        if isinstance(w, (QSpinBox, QDoubleSpinBox, QComboBox)):
            guard_wheel(w)
        return w

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, w in self._param_widgets.items():
            if isinstance(w, (QSpinBox, QDoubleSpinBox)):
                values[name] = w.value()
            elif isinstance(w, QCheckBox):
                values[name] = w.isChecked()
            elif isinstance(w, QComboBox):
                values[name] = w.currentText()
            elif isinstance(w, PathEdit):
                values[name] = w.text()
        return values

    def param_text(self, name: str) -> str | None:
        """The text of the current engine's path parameter ``name``, or None if it has none."""
        w = self._param_widgets.get(name)
        return w.text() if isinstance(w, PathEdit) else None

    def use_weights(self, engine: str, weights: str) -> None:
        """Select ``engine`` and put ``weights`` in its weights field (after a fine-tuning)."""
        index = self.engine.findData(engine)
        if index >= 0:
            self.engine.setCurrentIndex(index)
        w = self._param_widgets.get("weights")
        if isinstance(w, PathEdit):
            w.setText(weights)

    def _apply_class_defaults(self) -> None:
        """Check the classes the engine restores by default (on changing between kinds of engine)."""
        chosen = default_classes(self.engine_name())
        for cls, box in self.class_checks.items():
            box.setChecked(cls in chosen)
        self._show_hint_note()

    def set_hint_count(self, count: int) -> None:
        """How many colour hints the document has (shown while a colour engine is selected)."""
        self._hint_count = count
        self._show_hint_note()

    def _show_hint_note(self) -> None:
        n = self._hint_count
        self.hints_note.setVisible(self._colour_mode)
        self.hints_note.setText(
            f"{n} colour hint{'s' if n != 1 else ''}: the network method uses those inside the "
            "checked regions." if n
            else "No colour hints: the colour comes from the surrounding paint alone. "
                 "Place hints with the Colour hint tool (I)."
        )

    def set_guide_count(self, pixels: int) -> None:
        """How many guide-line pixels the document has (shown while a guided engine is selected)."""
        self._guide_pixels = pixels
        self._show_guide_note()

    def _show_guide_note(self) -> None:
        n = self._guide_pixels
        self.guide_note.setVisible(takes_guide(self.engine_name()))
        self.guide_note.setText(f"{n} guide-line pixel{'s' if n != 1 else ''}: the fill follows them." if n
                                else "No guide lines: draw them with the Guide pen (G) to steer the fill.")

    def classes(self) -> list[str]:
        return [c.value for c, box in self.class_checks.items() if box.isChecked()]

    def _request_run(self) -> None:
        self.runRequested.emit(self.engine_name(), self.params(), self.classes())

    # -- job state ----------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.job.set_running(running, self.engine, self.params_box)
        self.show_preview(None)  # a new run has no estimate yet; a finished one has its candidates

    def show_preview(self, rgb: np.ndarray | None) -> None:
        """Show the running engine's current estimate, an (h, w, 3) uint8 image; None hides it."""
        if rgb is None:
            self.preview_box.hide()
            self.preview.clear()
            return
        self.preview.setPixmap(preview_pixmap(rgb))
        if self.preview_box.isHidden():
            self.preview_box.show()
            QTimer.singleShot(0, self._reveal_preview)  # once laid out

    def _reveal_preview(self) -> None:
        """Scroll the panel's dock so the estimate that just appeared is in view."""
        area = self.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        if area is not None and self.preview_box.isVisible():
            area.ensureWidgetVisible(self.preview_box, 0, 0)

    def set_progress(self, fraction: float, message: str, seconds_left: float | None) -> None:
        self.job.set_progress(fraction, message, seconds_left)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    # -- candidates ---------------------------------------------------------------------
    def refresh_candidates(self, doc: Mural | None, shown: str | None) -> None:
        self.candidates.blockSignals(True)
        self.candidates.clear()
        original = QListWidgetItem(qta.icon("mdi6.image-outline"), "Original scan")
        original.setData(Qt.ItemDataRole.UserRole, None)
        self.candidates.addItem(original)
        current = original
        if doc is not None:
            for cand in doc.candidates:
                star = "★ " if cand.id == doc.chosen_id else ""
                prov = cand.provenance
                item = QListWidgetItem(f"{star}{cand.name}")
                item.setToolTip(
                    f"{cand.name}\nmade {prov.created} in {prov.elapsed_s:.1f} s\n"
                    f"classes: {', '.join(prov.classes) or '-'}\n{cand.restored_area()} pixels restored"
                )
                item.setData(Qt.ItemDataRole.UserRole, cand.id)
                self.candidates.addItem(item)
                if cand.id == shown:
                    current = item
        self.candidates.setCurrentItem(current)
        self.candidates.blockSignals(False)
        self._update_buttons()

    def _current_id(self) -> str | None:
        item = self.candidates.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _on_current(self, *_: Any) -> None:
        self._update_buttons()
        self.candidateSelected.emit(self._current_id())

    def _update_buttons(self) -> None:
        has = self._current_id() is not None
        self.choose_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    def _emit_current(self, signal: Any) -> None:
        cid = self._current_id()
        if cid is not None:
            signal.emit(cid)

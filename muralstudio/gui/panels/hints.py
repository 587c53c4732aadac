"""Colour hints panel: the colour of the next hint, the pigment palette, picking, the hint list.

The panel only shows and asks; :class:`~muralstudio.gui.hintcontrol.HintsController` changes
the document and the hint settings in answer to its signals.
"""

from __future__ import annotations

from typing import Sequence

import qtawesome as qta
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from muralstudio.core.hints import ColourHint
from muralstudio.core.pigments import PIGMENTS

PALETTE_COLUMNS = 8
HAND_SOURCE = "chosen by hand"


def swatch_icon(rgb: Sequence[float], width: int = 16, height: int | None = None) -> QIcon:
    """A rectangle of colour ``rgb`` (floats in [0, 1]) with a grey edge, as an icon."""
    height = width if height is None else height
    pm = QPixmap(width, height)
    pm.fill(QColor.fromRgbF(*rgb))
    p = QPainter(pm)
    p.setPen(QColor(110, 110, 110))
    p.drawRect(0, 0, width - 1, height - 1)
    p.end()
    return QIcon(pm)


def describe_source(source: str) -> str:
    """A hint's source for people: the pigment's full name, or the source as written."""
    if source.startswith("pigment: "):
        key = source.split(": ", 1)[1]
        for pig in PIGMENTS:
            if pig.key == key:
                return pig.name
    return source[:1].upper() + source[1:]


class HintsPanel(QWidget):
    colourChosen = Signal(object, str)  # rgb floats, source
    pickToggled = Signal(bool)
    hintSelected = Signal(int)  # index in the document's hints, -1: none
    removeRequested = Signal(int)
    clearRequested = Signal()
    importRequested = Signal()
    exportRequested = Signal()
    showToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.swatch = QToolButton()
        self.swatch.setIconSize(QSize(36, 24))
        self.swatch.setToolTip("The colour of the next hint; click to choose any colour")
        self.swatch.clicked.connect(self._choose_by_hand)
        self.source_label = QLabel(wordWrap=True)
        top.addWidget(self.swatch)
        top.addWidget(self.source_label, 1)
        layout.addLayout(top)

        layout.addWidget(QLabel("Dunhuang pigments (approximate fresh colours):"))
        grid = QGridLayout()
        grid.setSpacing(2)
        self.pigment_buttons: dict[str, QToolButton] = {}
        for i, pig in enumerate(PIGMENTS):
            b = QToolButton()
            b.setObjectName(f"pigment-{pig.key.replace(' ', '-')}")
            b.setIcon(swatch_icon(pig.unit_rgb, 18))
            b.setIconSize(QSize(18, 18))
            b.setAutoRaise(True)
            b.setToolTip(f"<b>{pig.name}</b><br>{pig.note}<br><i>Approximate colour of the fresh pigment, "
                         f"{pig.hex()}.</i>")
            b.clicked.connect(lambda _=False, p=pig: self.colourChosen.emit(p.unit_rgb, p.source))
            grid.addWidget(b, i // PALETTE_COLUMNS, i % PALETTE_COLUMNS)
            self.pigment_buttons[pig.key] = b
        grid.setColumnStretch(PALETTE_COLUMNS, 1)
        layout.addLayout(grid)

        self.pick_button = QPushButton(qta.icon("mdi6.eyedropper"), "Pick from image")
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip("Then click the image: the mean colour of 5 × 5 pixels there becomes "
                                    "the hint colour (Alt+click with the hint tool does the same)")
        self.pick_button.toggled.connect(self.pickToggled.emit)
        layout.addWidget(self.pick_button)

        self.list = QListWidget()
        self.list.setMaximumHeight(140)
        self.list.setToolTip("The document's colour hints; select one to show it on the canvas")
        self.list.currentRowChanged.connect(self.hintSelected.emit)
        for key in (QKeySequence.StandardKey.Delete, QKeySequence("Backspace")):
            QShortcut(key, self.list, lambda: self._remove_current(), context=Qt.ShortcutContext.WidgetShortcut)
        layout.addWidget(self.list)
        self.count_label = QLabel()
        layout.addWidget(self.count_label)
        buttons = QGridLayout()
        self.remove_button = QPushButton(qta.icon("mdi6.close"), "Remove")
        self.remove_button.setToolTip("Remove the selected hint (Delete on the canvas, or right-click it)")
        self.remove_button.clicked.connect(self._remove_current)
        self.clear_button = QPushButton(qta.icon("mdi6.delete-sweep-outline"), "Clear hints")
        self.clear_button.clicked.connect(self.clearRequested.emit)
        self.import_button = QPushButton(qta.icon("mdi6.file-import-outline"), "Import…")
        self.import_button.setToolTip("Add the hints of a hints file (JSON, as 'muralstudio restore --hints' "
                                      "reads) to this scan's")
        self.import_button.clicked.connect(self.importRequested.emit)
        self.export_button = QPushButton(qta.icon("mdi6.file-export-outline"), "Export…")
        self.export_button.setToolTip("Save this scan's hints as a hints file (JSON), for "
                                      "'muralstudio restore --engine colorize --hints FILE' or another project")
        self.export_button.clicked.connect(self.exportRequested.emit)
        for i, button in enumerate((self.remove_button, self.clear_button, self.import_button, self.export_button)):
            buttons.addWidget(button, i // 2, i % 2)
        layout.addLayout(buttons)
        self.show_box = QCheckBox("Show hints (H hides them with the masks)")
        self.show_box.setChecked(True)
        self.show_box.toggled.connect(self.showToggled.emit)
        layout.addWidget(self.show_box)
        layout.addStretch(1)
        self.set_hints((), None)

    # -- shown state --------------------------------------------------------------------
    def set_colour(self, rgb: Sequence[float], source: str) -> None:
        self._rgb = tuple(rgb)
        self.swatch.setIcon(swatch_icon(rgb, 36, 24))
        hexa = "#" + "".join(f"{round(c * 255):02x}" for c in rgb)
        self.source_label.setText(f"<b>{describe_source(source)}</b><br>{hexa}")

    def set_pick_mode(self, on: bool) -> None:
        self.pick_button.blockSignals(True)
        self.pick_button.setChecked(on)
        self.pick_button.blockSignals(False)

    def set_shown(self, on: bool) -> None:
        self.show_box.blockSignals(True)
        self.show_box.setChecked(on)
        self.show_box.blockSignals(False)

    def set_hints(self, hints: Sequence[ColourHint], selected: int | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for i, h in enumerate(hints, start=1):
            text = f"{i}.  x {h.x:.0f}, y {h.y:.0f}  ·  {describe_source(h.source)}"
            item = QListWidgetItem(swatch_icon(h.rgb), text)
            item.setToolTip(f"{h.hex()} — {h.source}")
            self.list.addItem(item)
        self.list.setCurrentRow(-1 if selected is None else selected)
        self.list.blockSignals(False)
        n = len(hints)
        self.count_label.setText(f"{n} hint{'s' if n != 1 else ''}")
        self.remove_button.setEnabled(selected is not None)
        self.clear_button.setEnabled(n > 0)
        self.export_button.setEnabled(n > 0)

    def _remove_current(self) -> None:
        if self.list.currentRow() >= 0:
            self.removeRequested.emit(self.list.currentRow())

    def _choose_by_hand(self) -> None:
        rgb = getattr(self, "_rgb", (0.5, 0.5, 0.5))
        colour = QColorDialog.getColor(QColor.fromRgbF(*rgb), self, "Hint colour")
        if colour.isValid():
            self.colourChosen.emit((colour.redF(), colour.greenF(), colour.blueF()), HAND_SOURCE)

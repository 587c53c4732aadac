"""Layers panel: one row per damage class and the guide layer.

Each row picks the active layer (radio), shows or hides it, and sets its overlay opacity.
"""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.core.document import GUIDE, mask_key
from muralstudio.gui.layerstyle import GUIDE_COLOR
from muralstudio.gui.wheelguard import guard_wheel

LAYERS: list[tuple[str, str, tuple[int, int, int], str]] = [
    (mask_key(c), STYLES[c].label, STYLES[c].color, STYLES[c].description) for c in DamageClass
] + [(GUIDE, "Guide lines", GUIDE_COLOR, "Lines a restoration should follow.")]


def hex_color(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


class LayersPanel(QWidget):
    activeChanged = Signal(str)
    visibilityChanged = Signal(str, bool)
    opacityChanged = Signal(str, float)
    outlineChanged = Signal(bool)
    importRequested = Signal(str)
    exportRequested = Signal(str)
    clearRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        grid.addWidget(QLabel("<b>Layer</b>"), 0, 0)
        grid.addWidget(QLabel("<b>Show</b>"), 0, 1)
        grid.addWidget(QLabel("<b>Opacity</b>"), 0, 2)
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        self.visible: dict[str, QCheckBox] = {}
        self.opacity: dict[str, QSlider] = {}
        for row, (key, label, color, tip) in enumerate(LAYERS, start=1):
            radio = QRadioButton(f"{row}  {label}")
            radio.setIcon(qta.icon("mdi6.square", color=hex_color(color)))
            radio.setToolTip(f"{tip} Key {row} makes it the active layer.")
            radio.toggled.connect(lambda on, k=key: on and self.activeChanged.emit(k))
            self.group.addButton(radio)
            show = QCheckBox()
            show.setChecked(True)
            show.setToolTip(f"Show or hide the {label.lower()} layer")
            show.toggled.connect(lambda on, k=key: self.visibilityChanged.emit(k, on))
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setValue(55)
            slider.setToolTip("Overlay opacity")
            guard_wheel(slider)
            slider.valueChanged.connect(lambda v, k=key: self.opacityChanged.emit(k, v / 100.0))
            grid.addWidget(radio, row, 0)
            grid.addWidget(show, row, 1, Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(slider, row, 2)
            self.radios[key], self.visible[key], self.opacity[key] = radio, show, slider
        layout.addLayout(grid)
        self.outline = QCheckBox("Outline only")
        self.outline.setToolTip("Draw the masks as outlines so the paint underneath stays visible")
        self.outline.toggled.connect(self.outlineChanged)
        layout.addWidget(self.outline)
        buttons = QHBoxLayout()
        for icon, text, signal in (
            ("mdi6.import", "Import…", self.importRequested),
            ("mdi6.export", "Export…", self.exportRequested),
            ("mdi6.eraser-variant", "Clear", self.clearRequested),
        ):
            btn = QPushButton(qta.icon(icon), text)
            btn.setToolTip(f"{text.rstrip('…')} the active layer's mask (white = damage)")
            btn.clicked.connect(lambda _=False, s=signal: s.emit(self.active_key()))
            buttons.addWidget(btn)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.radios[LAYERS[0][0]].setChecked(True)

    def active_key(self) -> str:
        for key, radio in self.radios.items():
            if radio.isChecked():
                return key
        return LAYERS[0][0]

    def set_active(self, key: str) -> None:
        self.radios[key].setChecked(True)

    def state(self) -> dict[str, tuple[bool, float]]:
        """Visibility and opacity per layer, for the canvas and for settings."""
        return {k: (self.visible[k].isChecked(), self.opacity[k].value() / 100.0) for k in self.radios}

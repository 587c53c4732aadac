"""A 1-to-5 star score that can also be left unscored, driven by mouse or keys."""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from muralstudio.core.assessment import HIGHEST, LOWEST


class StarRating(QWidget):
    """Five star buttons; clicking the current score again clears it (0 = not scored).

    Keys: 1-5 set the score, 0 or Delete clears it, Left/Right step it.
    """

    changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value = 0
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.buttons: list[QToolButton] = []
        for n in range(LOWEST, HIGHEST + 1):
            b = QToolButton(self)
            b.setAutoRaise(True)
            b.setIconSize(QSize(18, 18))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setToolTip(f"{n} of {HIGHEST}")
            b.clicked.connect(lambda _=False, v=n: self.setValue(0 if v == self._value else v))
            lay.addWidget(b)
            self.buttons.append(b)
        lay.addStretch(1)
        self._paint_stars()

    def value(self) -> int:
        return self._value

    def setValue(self, value: int) -> None:  # noqa: N802 (Qt naming)
        value = max(0, min(HIGHEST, int(value)))
        if value != self._value:
            self._value = value
            self._paint_stars()
            self.changed.emit(value)

    def _paint_stars(self) -> None:
        full, empty = qta.icon("mdi6.star", color="#e8a317"), qta.icon("mdi6.star-outline", color="#8a8a8a")
        for n, b in enumerate(self.buttons, start=LOWEST):
            b.setIcon(full if n <= self._value else empty)
        self.setAccessibleDescription(f"{self._value} of {HIGHEST}" if self._value else "not scored")

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key, text = event.key(), event.text()
        if text.isdigit() and 0 <= int(text) <= HIGHEST:
            self.setValue(int(text))
        elif key == Qt.Key.Key_Delete:
            self.setValue(0)
        elif key == Qt.Key.Key_Right:
            self.setValue(min(HIGHEST, self._value + 1))
        elif key == Qt.Key.Key_Left:
            self.setValue(max(0, self._value - 1))
        else:
            super().keyPressEvent(event)

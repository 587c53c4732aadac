"""History panel: the undo steps of the document; clicking one jumps back or forward to it."""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from muralstudio.core.history import History


class HistoryPanel(QWidget):
    jumpRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setToolTip("Click a step to go back (or forward) to it")
        self.list.itemClicked.connect(lambda item: self.jumpRequested.emit(self.list.row(item)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)

    def refresh(self, history: History | None) -> None:
        self.list.clear()
        if history is None:
            return
        labels = ["Opened"] + history.labels
        for i, label in enumerate(labels):
            item = QListWidgetItem(qta.icon("mdi6.file-image" if i == 0 else "mdi6.circle-small"), label)
            if i > history.position:
                font = QFont(item.font())
                font.setItalic(True)
                item.setFont(font)
                item.setForeground(self.palette().placeholderText())
            self.list.addItem(item)
        self.list.setCurrentRow(history.position)

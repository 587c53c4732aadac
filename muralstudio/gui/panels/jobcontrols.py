"""Run and Cancel buttons with a progress bar and a status line, shared by the panels that
start a background job (restore, detect)."""

from __future__ import annotations

from typing import Any, Callable

import qtawesome as qta
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget


def format_left(seconds: float | None) -> str:
    """', about 12 s left' / ', about 3 min left', or '' when unknown."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    return f", about {s} s left" if s < 90 else f", about {s // 60} min left"


class JobControls(QWidget):
    """The controls of one job: ``run_button``, ``cancel_button``, ``progress``, ``status``."""

    def __init__(self, icon: str, label: str, tip: str, on_run: Callable[[], Any], on_cancel: Callable[[], Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.run_button = QPushButton(qta.icon(icon), label)
        self.run_button.setToolTip(tip)
        self.run_button.clicked.connect(lambda: on_run())
        self.cancel_button = QPushButton(qta.icon("mdi6.stop"), "Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(lambda: on_cancel())
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel("Ready", wordWrap=True)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

    def set_running(self, running: bool, *inputs: QWidget) -> None:
        """Run or idle; ``inputs`` (the job's settings) are locked while it runs."""
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in inputs:
            w.setEnabled(not running)
        if running:
            self.progress.setValue(0)
            self.status.setText("Starting…")

    def set_progress(self, fraction: float, message: str, seconds_left: float | None) -> None:
        self.progress.setValue(int(round(fraction * 1000)))
        self.status.setText(f"{message}{format_left(seconds_left)}")

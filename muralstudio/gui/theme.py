"""Light and dark theme that follow the system's colour scheme."""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(35, 35, 38), QColor(48, 48, 52), QColor(225, 225, 225)
    for role, color in (
        (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.ToolTipBase, base),
        (QPalette.ColorRole.ToolTipText, text), (QPalette.ColorRole.Highlight, QColor(200, 130, 60)),
        (QPalette.ColorRole.HighlightedText, QColor(20, 20, 20)), (QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140)),
    ):
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return p


def is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication) -> None:
    """Fusion style with a palette for the system's scheme; icons take the text colour."""
    app.setStyle("Fusion")
    palette = _dark_palette() if is_dark() else app.style().standardPalette()
    app.setPalette(palette)
    qta.set_defaults(color=palette.color(QPalette.ColorRole.WindowText).name(),
                     color_disabled=palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText).name())


def follow_system(app: QApplication) -> None:
    apply_theme(app)
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app))

"""Start the Qt application (kept tiny so the CLI imports Qt only when the GUI is wanted)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

DESKTOP_FILE = "muralstudio"  # packaging/muralstudio.desktop: Wayland and docks match windows to it


def app_icon() -> QIcon:
    """The application icon from ``resources/icons`` (every PNG size, else the SVG)."""
    from PySide6.QtGui import QIcon

    from muralstudio.core.resources import app_icon_files

    files = app_icon_files()
    pngs = [f for f in files if f.suffix == ".png"]
    icon = QIcon()
    for f in pngs or files:
        icon.addFile(str(f))
    return icon


def prepare_app() -> QApplication:
    """The QApplication with the names, version, icon and palette of Mural Studio."""
    from PySide6.QtWidgets import QApplication

    from muralstudio import __version__
    from muralstudio.gui.theme import follow_system

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Mural Studio")
    app.setOrganizationName("Mural Studio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(DESKTOP_FILE)
    app.setWindowIcon(app_icon())
    follow_system(app)
    return app


def launch(file: Path | None = None, masks_dir: Path | None = None) -> int:
    """Run the main window until it closes; returns the exit status.

    After a crash the autosaved session is offered first; otherwise ``file`` is opened
    (with the damage masks of ``masks_dir`` pre-marked, as for the demo).
    """
    from muralstudio.gui.main_window import MainWindow

    app = prepare_app()
    window = MainWindow()
    window.show()
    if not window.files.offer_recovery() and file is not None:
        window.files.open_file(file, masks_dir)
    return app.exec()

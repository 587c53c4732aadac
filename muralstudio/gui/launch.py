"""Start the Qt application (kept tiny so the CLI imports Qt only when the GUI is wanted)."""

from __future__ import annotations

import sys
from pathlib import Path


def launch(file: Path | None = None, masks_dir: Path | None = None) -> int:
    """Run the main window until it closes; returns the exit status.

    After a crash the autosaved session is offered first; otherwise ``file`` is opened
    (with the damage masks of ``masks_dir`` pre-marked, as for the demo).
    """
    from PySide6.QtWidgets import QApplication

    from muralstudio import __version__
    from muralstudio.gui.main_window import MainWindow
    from muralstudio.gui.theme import follow_system

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Mural Studio")
    app.setOrganizationName("Mural Studio")
    app.setApplicationVersion(__version__)
    follow_system(app)
    window = MainWindow()
    window.show()
    if not window.files.offer_recovery() and file is not None:
        window.files.open_file(file, masks_dir)
    return app.exec()

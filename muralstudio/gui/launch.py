"""Start the Qt application (kept tiny so the CLI imports Qt only when the GUI is wanted)."""

from __future__ import annotations

import sys
from pathlib import Path


def launch(file: Path | None = None, masks_dir: Path | None = None) -> int:
    """Run the main window until it closes; returns the exit status."""
    from PySide6.QtWidgets import QApplication

    from muralstudio import __version__
    from muralstudio.gui.viewer import ViewerWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Mural Studio")
    app.setOrganizationName("Mural Studio")
    app.setApplicationVersion(__version__)
    window = ViewerWindow()
    window.show()
    if file is not None:
        window.open_path(file, masks_dir)
    return app.exec()

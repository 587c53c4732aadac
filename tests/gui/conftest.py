"""Fixtures for GUI tests: a main window on a small test scan, settings isolated per test."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def scan(tmp_path):
    """A 16-bit RGB TIFF with a smooth gradient and a dark square (for the magic wand)."""
    from muralstudio.io.images import write_image

    yy, xx = np.mgrid[0:240, 0:320].astype(np.float32)
    img = np.stack([xx / 320, yy / 240, (xx + yy) / 560], axis=2) * 50000 + 5000
    img[60:100, 200:260] = 1000
    path = tmp_path / "wall.tif"
    write_image(path, img.astype(np.uint16))
    return path


@pytest.fixture
def window(qtbot, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    from PySide6.QtWidgets import QMessageBox

    from muralstudio.gui.main_window import MainWindow

    # closing a window with unsaved changes asks; tests that care answer for themselves
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)

    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    if win.runner.is_running():
        win.runner.cancel()
        win.runner.wait()
    win.files.close_recovery()

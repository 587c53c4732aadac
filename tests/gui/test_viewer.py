import numpy as np
import pytest

pytest.importorskip("pytestqt")

from muralstudio.gui.viewer import ViewerWindow  # noqa: E402


def test_viewer_opens_an_image_with_masks(qtbot, tmp_path):
    from muralstudio.io.images import write_image
    from muralstudio.io.masks import write_mask

    img = (np.random.default_rng(0).random((120, 160, 3)) * 65535).astype(np.uint16)
    write_image(tmp_path / "scan.tif", img)
    (tmp_path / "masks").mkdir()
    crack = np.zeros((120, 160), bool)
    crack[50:60, :] = True
    write_mask(tmp_path / "masks" / "crack.png", crack)
    win = ViewerWindow()
    qtbot.addWidget(win)
    assert win.open_path(tmp_path / "scan.tif", tmp_path / "masks")
    assert "160 × 120, 16-bit RGB" in win.info.text()
    assert set(c.value for c in win.overlays) == {"crack"}
    win.checks[next(iter(win.overlays))].setChecked(False)
    assert not next(iter(win.overlays.values())).isVisible()


def test_viewer_reports_bad_files_without_raising(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00garbage")
    win = ViewerWindow()
    qtbot.addWidget(win)
    assert not win.open_path(bad)
    assert shown and "broken.tif" in shown[0]

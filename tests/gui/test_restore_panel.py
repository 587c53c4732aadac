"""The Restore panel builds a form for every engine, path parameters included."""

import pytest

pytest.importorskip("pytestqt")


def test_pconv_engine_listed_with_a_weights_path_field(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    from muralstudio.engines import get_engine
    from muralstudio.gui.panels.restore import PathEdit, RestorePanel

    panel = RestorePanel()
    qtbot.addWidget(panel)
    index = panel.engine.findData("pconv")
    assert index >= 0 and panel.engine.itemText(index) == "PConv U-Net (learned)"
    panel.engine.setCurrentIndex(index)
    edit = panel._param_widgets["weights"]
    assert isinstance(edit, PathEdit)
    assert panel.params() == {"weights": "pconv", "margin": 64, "tile": 1024, "device": "auto"}
    chosen = str(tmp_path / "fine.pt")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen, ""))
    edit.findChild(type(panel.run_button)).click()
    assert panel.params()["weights"] == chosen
    assert get_engine("pconv").resolve_params(panel.params())["weights"] == chosen
    panel.engine.setCurrentIndex(panel.engine.findData("telea"))
    assert "weights" not in panel.params()

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
    assert panel.params() == {"weights": "pconv", "margin": 64, "tile": 1152, "despeckle": True, "device": "auto",
                              "precision": "auto"}
    chosen = str(tmp_path / "fine.pt")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen, ""))
    edit.findChild(type(panel.run_button)).click()
    assert panel.params()["weights"] == chosen
    assert get_engine("pconv").resolve_params(panel.params())["weights"] == chosen
    panel.engine.setCurrentIndex(panel.engine.findData("telea"))
    assert "weights" not in panel.params()


def test_diffusion_form_guide_note_and_preview(qtbot):
    import numpy as np

    from muralstudio.gui.panels.restore import RestorePanel

    panel = RestorePanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.guide_note.isHidden() and panel.preview_box.isHidden()
    panel.engine.setCurrentIndex(panel.engine.findData("diffusion"))
    params = panel.params()
    assert set(params) == {"candidates", "seed", "steps", "scales", "size", "strength", "refine", "anchor", "detail",
                           "guide", "weights", "anchor_weights", "margin", "device", "precision"}
    assert params["candidates"] == 3 and params["guide"] == "drawn" and params["weights"] == "diffusion"
    assert panel.guide_note.isVisible() and "No guide lines" in panel.guide_note.text()
    panel.set_guide_count(1)
    assert panel.guide_note.text() == "1 guide-line pixel: the fill follows them."
    panel.set_guide_count(250)
    assert panel.guide_note.text() == "250 guide-line pixels: the fill follows them."
    panel.show_preview(np.full((64, 32, 3), 200, np.uint8))  # tall: fits 220 high
    assert panel.preview_box.isVisible() and (panel.preview.pixmap().width(), panel.preview.pixmap().height()) == (110, 220)
    panel.set_running(False)
    assert panel.preview_box.isHidden()
    panel.engine.setCurrentIndex(panel.engine.findData("telea"))
    assert panel.guide_note.isHidden()

"""Detect damage in the app: the detector job, proposal overlays, thresholds, apply and undo."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF  # noqa: E402

from tests.gui.test_main_window import open_scan  # noqa: E402

CRACK_ONLY = (0.0, -5.0, -5.0, -5.0, -5.0)  # crack at probability 0.5 everywhere, nothing else


@pytest.fixture
def make_weights(tmp_path):
    """Tiny detector weights whose output is sigmoid(bias) everywhere (head weights zero)."""
    import torch

    from muralstudio.nets.detector import ARCH, DamageUNet, DetectorConfig
    from muralstudio.nets.weights import weights_bytes

    def make(bias=CRACK_ONLY, name="tiny.pt"):
        cfg = DetectorConfig(base=4, depth=2, max_width=8)
        model = DamageUNet(cfg)
        model.head.weight.data.zero_()
        model.head.bias.data[:] = torch.tensor(bias)
        path = tmp_path / name
        path.write_bytes(weights_bytes(ARCH, cfg.to_dict(), model.state_dict(), {}))
        return path

    return make


def run_detection(window, qtbot, weights, signal="finished"):
    ctl = window.detection
    window.detect_panel.weights.setText(str(weights))
    with qtbot.waitSignal(getattr(ctl.runner, signal), timeout=10000):
        window.detect_panel.run_button.click()


def ramp_detection(shape):
    """A Detection whose crack probability rises from 0 to 255 across the image."""
    from muralstudio.engines.detect import CLASSES, Detection

    h, w = shape
    prob = np.zeros((len(CLASSES), h, w), np.uint8)
    prob[0] = np.linspace(0, 255, w).round().astype(np.uint8)[None, :]
    prob[2, h // 4 : h // 2, w // 4 : w // 2] = 240  # a loss in the upper left quarter
    return Detection(prob, CLASSES, "ab" * 32, 0.1, {"weights": "fake.pt", "device": "cpu"})


def fake_detect(monkeypatch, steps=1, delay=0.0):
    """Replace the detector job by one that yields ``steps`` times and returns a ramp."""
    from muralstudio.core.progress import Progress

    def job(request):
        for i in range(steps):
            time.sleep(delay)
            yield Progress((i + 1) / steps, f"tile {i + 1} of {steps}")
        return ramp_detection(request.image.shape[:2])

    monkeypatch.setattr("muralstudio.gui.detect.detect", job)


def screen_pixel(window, x, y):
    pt = window.canvas.map_from_image(QPointF(x, y)).toPoint()
    c = window.canvas.viewport().grab().toImage().pixelColor(pt)
    return np.array([c.red(), c.green(), c.blue()], float)


def test_detection_shows_proposals_and_the_slider_moves_them(window, scan, qtbot, make_weights):
    from muralstudio.gui.layerstyle import default_styles

    open_scan(window, scan)
    doc, panel, canvas = window.session.doc, window.detect_panel, window.canvas
    before = screen_pixel(window, 160, 120)
    run_detection(window, qtbot, make_weights())
    h, w = doc.shape
    assert panel.count("crack") == h * w and panel.count("loss") == 0
    assert "100.0 %" in panel.rows["crack"].count.text()
    assert set(canvas.proposals()) == {"crack"} and canvas.proposals()["crack"].all()
    assert canvas.overlay_renderer().shows("proposal:crack")
    # drawn over the scan in the proposal tint: fill at its opacity over the paint
    st = default_styles()["proposal:crack"]
    expected = np.array(st.color) * st.opacity + before * (1 - st.opacity)
    assert np.abs(screen_pixel(window, 160, 120) - expected).max() <= 4
    assert len(doc.history) == 0 and not doc.union_mask().any()  # detection changes nothing
    # the count follows the slider at once, the overlay after the debounce
    panel.set_threshold("crack", 0.6)
    assert panel.count("crack") == 0 and panel.rows["crack"].count.text().startswith("0 %")
    assert "crack" in canvas.proposals()  # the mask waits for the slider to rest
    qtbot.waitUntil(lambda: "crack" not in canvas.proposals(), timeout=2000)
    assert np.abs(screen_pixel(window, 160, 120) - before).max() <= 2
    assert canvas.overlay_renderer().region(0, 0, 0, h, w, allow_none=True) is None


def test_thresholds_count_exactly_and_unused_classes_are_hidden(window, scan, qtbot, monkeypatch):
    fake_detect(monkeypatch)
    open_scan(window, scan)
    panel, canvas = window.detect_panel, window.canvas
    run_detection(window, qtbot, "")
    det = panel.detection()
    for t in (0.05, 0.3, 0.5, 0.77, 0.95):
        panel.set_threshold("crack", t)
        assert panel.count("crack") == int(det.mask("crack", t).sum())
    panel.flush()
    assert np.array_equal(canvas.proposals()["crack"], det.mask("crack", 0.95))
    panel.set_used("crack", False)
    assert "crack" not in canvas.proposals() and not canvas.overlay_renderer().shows("proposal:crack")
    assert set(panel.selected_masks()) == {"loss"}


def test_apply_is_one_undo_step_that_undo_restores(window, scan, qtbot, monkeypatch):
    from muralstudio.core.damage import DamageClass
    from muralstudio.gui.panels.detect import format_share

    fake_detect(monkeypatch)
    open_scan(window, scan)
    doc, panel = window.session.doc, window.detect_panel
    with doc.edit("premark") as rec:  # a loss marked by hand, partly outside the proposal
        rec.touch("mask:loss", 0, 0, 80, 80)
        doc.layer_array("mask:loss")[0:80, 0:80] = True
    marked = {c: doc.mask(c).copy() for c in DamageClass}
    run_detection(window, qtbot, "")
    panel.set_threshold("crack", 0.8)
    expected_crack = panel.detection().mask("crack", 0.8)
    expected_loss = marked[DamageClass.LOSS] | panel.detection().mask("loss", 0.5)
    total = expected_crack.size
    shares = [format_share(int(expected_crack.sum()), total), format_share(60 * 80, total)]
    panel.apply_button.click()
    assert len(doc.history) == 2 and doc.history.can_undo()
    assert np.array_equal(doc.mask(DamageClass.CRACK), expected_crack)
    assert np.array_equal(doc.mask(DamageClass.LOSS), expected_loss)
    assert not doc.mask(DamageClass.STAIN).any()
    assert panel.detection() is None and window.canvas.proposals() == {}
    msg = window.statusBar().currentMessage()
    assert msg.startswith(f"Applied detected crack {shares[0]}, loss {shares[1]} (detector sha256 abababababab")
    window.undo_act.trigger()
    for c in DamageClass:
        assert np.array_equal(doc.mask(c), marked[c])
    window.redo_act.trigger()
    assert np.array_equal(doc.mask(DamageClass.CRACK), expected_crack)


def test_cancel_and_discard_leave_the_document_unchanged(window, scan, qtbot, monkeypatch):
    fake_detect(monkeypatch, steps=200, delay=0.02)
    open_scan(window, scan)
    doc, panel = window.session.doc, window.detect_panel
    ctl = window.detection
    with qtbot.waitSignal(ctl.runner.cancelled, timeout=10000):
        window.detection.show_and_run()
        qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=5000)
        assert "left" in panel.status.text() or "tile" in panel.status.text()
        panel.cancel_button.click()
    assert panel.detection() is None and panel.run_button.isEnabled()
    assert len(doc.history) == 0 and not doc.union_mask().any()
    fake_detect(monkeypatch)
    run_detection(window, qtbot, "")
    panel.discard_button.click()
    assert panel.detection() is None and window.canvas.proposals() == {}
    assert len(doc.history) == 0 and not doc.union_mask().any()


def test_missing_weights_show_a_message_and_the_app_stays_usable(window, scan, qtbot, monkeypatch, tmp_path, make_weights):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append((a[1], a[2])))
    open_scan(window, scan)
    run_detection(window, qtbot, tmp_path / "missing.pt", signal="failed")
    assert len(shown) == 1 and shown[0][0] == "Detection failed" and "missing.pt" in shown[0][1]
    assert window.detect_panel.run_button.isEnabled() and window.detect_panel.detection() is None
    run_detection(window, qtbot, make_weights())
    assert window.detect_panel.count("crack") == window.session.doc.shape[0] * window.session.doc.shape[1]


def test_opening_another_file_clears_the_proposals(window, scan, qtbot, monkeypatch, tmp_path):
    import shutil

    fake_detect(monkeypatch)
    open_scan(window, scan)
    run_detection(window, qtbot, "")
    assert window.canvas.proposals()
    other = tmp_path / "other.tif"
    shutil.copy(scan, other)
    open_scan(window, other)
    assert window.detect_panel.detection() is None and window.canvas.proposals() == {}
    assert not window.detect_panel.apply_button.isEnabled()
    # a detection running when another file opens is cancelled and never shown
    fake_detect(monkeypatch, steps=200, delay=0.02)
    with qtbot.waitSignal(window.detection.runner.cancelled, timeout=10000):
        window.detection.show_and_run()
        open_scan(window, scan)
    assert window.detect_panel.detection() is None and window.canvas.proposals() == {}


def test_menu_entry_and_settings(window):
    acts = {a.text(): a for top in window.menuBar().actions() if top.menu() for a in top.menu().actions()}
    act = acts["&Detect damage…"]
    assert act.shortcut().toString() == "Ctrl+D"
    act.trigger()  # no document: a message, no job
    assert not window.detection.runner.is_running()
    assert window.detection.dock().isVisible()
    window.detect_panel.set_threshold("stain", 0.7)
    window.detection.save_settings()
    assert float(window.settings.value("detect/threshold/stain")) == pytest.approx(0.7)


def test_chosen_precision_runs_is_named_and_remembered(window, scan, qtbot, make_weights):
    open_scan(window, scan)
    panel = window.detect_panel
    assert panel.precision.currentText() == "auto"
    panel.precision.setCurrentText("float32")
    run_detection(window, qtbot, make_weights())
    assert panel.detection().meta["precision"] == "float32" and ", float32, " in panel.summary.text()
    panel.precision.setCurrentText("bfloat16")
    run_detection(window, qtbot, make_weights())
    assert panel.detection().meta["precision"] == "bfloat16" and ", bfloat16, " in panel.summary.text()
    assert window.settings.value("detect/precision") == "bfloat16"  # saved when run
    window.settings.setValue("detect/precision", "half")  # a value from elsewhere falls back to auto
    window.detection._load_settings(window.settings)
    assert panel.precision.currentText() == "auto"

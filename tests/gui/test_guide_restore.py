"""Guide lines and the diffusion engine in the main window: the guide pen, the guide passed
to guided engines, several candidates per run and the current-estimate preview."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from muralstudio.core.brush import Brush, StrokeRasterizer, apply_coverage
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import GUIDE, mask_key
from muralstudio.engines import base
from muralstudio.gui.tools import GUIDE_WIDTH
from tests.gui.test_main_window import mark_loss, open_scan, run_and_wait, screen

NO_MOD, SHIFT, ALT = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.AltModifier
LEFT = Qt.MouseButton.LeftButton


def drag(window, points, modifier=NO_MOD):
    """A left-button drag through ``points`` (image coordinates) on the canvas."""
    vp = window.canvas.viewport()
    QTest.mousePress(vp, LEFT, modifier, screen(window, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, screen(window, *p))
    QTest.mouseRelease(vp, LEFT, modifier, screen(window, *points[-1]))


def rasterised(window, points, size, shape):
    """What a hard round brush of ``size`` marks along ``points``, at the canvas's positions."""
    out = np.zeros(shape, bool)
    raster = StrokeRasterizer(Brush(size, 1.0), shape)
    for p in points:
        q = window.canvas.event_to_image(QPointF(screen(window, *p)))
        hit = raster.add_point(q.x(), q.y())
        if hit is not None:
            apply_coverage(out, *hit, threshold=0.5)
    return out


def test_guide_pen_draws_thin_lines_on_the_guide_layer_whatever_layer_is_active(window, scan):
    open_scan(window, scan)
    doc = window.session.doc
    window.layers.set_active(mask_key(DamageClass.LOSS))
    window.size_spin.setValue(40)  # the brush size does not matter to the pen
    window.layers.visible[GUIDE].setChecked(False)
    window.tool_actions["guide"].trigger()
    assert window.canvas.tool() is window.tools["guide"]
    assert window.layers.visible[GUIDE].isChecked()  # lines one draws are shown
    act = window.tool_actions["guide"]
    assert act.shortcut().toString() == "G" and "diffusion restoration should follow" in act.toolTip()
    steps = len(doc.history)
    pts = [(40.5, 50.5), (80.5, 52.5), (120.5, 70.5)]
    drag(window, pts)
    assert np.array_equal(doc.guide, rasterised(window, pts, GUIDE_WIDTH, doc.shape))
    assert doc.guide[:, 60].sum() in (3, 4)  # a thin line (3 px wide)
    assert not doc.union_mask().any()  # the active loss layer is untouched
    assert len(doc.history) == steps + 1
    drag(window, [(40.5, 150.5), (90.5, 150.5)])
    assert len(doc.history) == steps + 2
    window.undo_act.trigger()
    assert np.array_equal(doc.guide, rasterised(window, pts, GUIDE_WIDTH, doc.shape))
    window.undo_act.trigger()
    assert not doc.guide.any()


def test_shift_click_draws_a_straight_segment_from_the_last_point(window, scan):
    open_scan(window, scan)
    doc = window.session.doc
    window.set_tool("guide")
    drag(window, [(30.5, 40.5), (60.5, 40.5)])
    first = doc.guide.copy()
    steps = len(doc.history)
    vp = window.canvas.viewport()
    QTest.mouseClick(vp, LEFT, SHIFT, screen(window, 150.5, 120.5))
    segment = rasterised(window, [(60.5, 40.5), (150.5, 120.5)], GUIDE_WIDTH, doc.shape)
    assert np.array_equal(doc.guide, first | segment)
    assert len(doc.history) == steps + 1
    QTest.mouseClick(vp, LEFT, SHIFT, screen(window, 150.5, 200.5))  # and on from there
    assert doc.guide[130:190, 150].all()
    window.cancel_tool()  # Esc forgets the point: a Shift+click is a dot again
    before = doc.guide.copy()
    QTest.mouseClick(vp, LEFT, SHIFT, screen(window, 250.5, 30.5))
    assert (doc.guide & ~before).sum() <= GUIDE_WIDTH ** 2


def test_alt_drag_erases_guide_lines_only(window, scan):
    open_scan(window, scan)
    doc = window.session.doc
    loss = mark_loss(window)  # rows 100:130, columns 20:70
    window.set_tool("guide")
    drag(window, [(10.5, 115.5), (200.5, 115.5)])
    assert doc.guide[115, 10:200].all()
    steps = len(doc.history)
    drag(window, [(50.5, 105.5), (50.5, 125.5)], ALT)
    assert not doc.guide[113:118, 47:54].any() and doc.guide[115, 10:40].all() and doc.guide[115, 60:200].all()
    assert np.array_equal(doc.mask(DamageClass.LOSS), loss)
    assert len(doc.history) == steps + 1


def test_restore_panel_counts_guide_pixels_for_guided_engines(window, scan, qtbot):
    open_scan(window, scan)
    panel = window.restore
    assert panel.guide_note.isHidden()  # telea follows no guide lines
    panel.engine.setCurrentIndex(panel.engine.findData("diffusion"))
    assert not panel.guide_note.isHidden() and "No guide lines" in panel.guide_note.text()
    assert "Guide pen (G)" in panel.guide_note.text()
    window.set_tool("guide")
    drag(window, [(10.5, 20.5), (100.5, 20.5)])
    n = int(window.session.doc.guide.sum())
    qtbot.waitUntil(lambda: panel.guide_note.text().startswith(f"{n} guide-line pixels"), timeout=3000)
    window.undo_act.trigger()
    qtbot.waitUntil(lambda: "No guide lines" in panel.guide_note.text(), timeout=3000)


def record_requests(window, monkeypatch):
    from muralstudio.gui import restorejob

    made = []

    def record(*args, **kwargs):
        made.append(base.InpaintRequest(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(restorejob, "InpaintRequest", record)
    monkeypatch.setattr(window.runner, "start", lambda factory: None)
    return made


def test_run_job_passes_a_copy_of_the_guide_to_guided_engines_only(window, scan, monkeypatch):
    open_scan(window, scan)
    doc = window.session.doc
    mark_loss(window)
    window.set_tool("guide")
    drag(window, [(10.5, 110.5), (90.5, 120.5)])
    made = record_requests(window, monkeypatch)
    window.run_job("diffusion", {"steps": 2}, ["loss"])
    window.restore_job._end()  # the recorded run never started
    window.run_job("telea", {}, ["loss"])
    assert len(made) == 2
    assert made[0].guide is not None and made[0].guide is not doc.guide
    assert np.array_equal(made[0].guide, doc.guide) and made[0].guide.any()
    assert made[1].guide is None


def test_run_job_tells_the_engine_of_the_damage_it_leaves(window, scan, monkeypatch):
    open_scan(window, scan)
    doc = window.session.doc
    loss = mark_loss(window)
    crack = np.zeros(doc.shape, bool)
    crack[90:140, 80] = True
    doc.set_layer(mask_key(DamageClass.CRACK), crack, "mark")
    made = record_requests(window, monkeypatch)
    window.run_job("diffusion", {"steps": 2}, ["loss"])
    assert np.array_equal(made[0].mask, loss)
    assert np.array_equal(made[0].unrestored(), crack)  # not paint to match the fill's detail to


@pytest.fixture
def tiny_diffusion(tmp_path):
    pytest.importorskip("torch")
    from muralstudio.nets.diffusion import ARCH, DenoiserUNet, DiffusionConfig
    from muralstudio.nets.weights import weights_bytes

    cfg = DiffusionConfig(base=8, depth=2, max_width=16, time_dim=16)
    path = tmp_path / "tiny-diffusion.pt"
    path.write_bytes(weights_bytes(ARCH, cfg.to_dict(), DenoiserUNet(cfg).state_dict(), {}))
    return path


def set_param(panel, name, value):
    w = panel._param_widgets[name]
    w.setValue(value) if hasattr(w, "setValue") else w.setCurrentText(value)


def test_a_diffusion_run_adds_every_candidate_and_previews_its_estimate(window, scan, qtbot, tiny_diffusion):
    open_scan(window, scan)
    doc = window.session.doc
    mask = mark_loss(window)
    panel = window.restore
    panel.use_weights("diffusion", str(tiny_diffusion))
    for name, value in (("candidates", 2), ("steps", 2), ("scales", 1), ("size", 64), ("margin", 16), ("device", "cpu")):
        set_param(panel, name, value)
    seen = []
    window.runner.progress.connect(
        lambda *_: seen.append((panel.preview_box.isVisible(), panel.preview.pixmap().width(), panel.preview.pixmap().height())))
    assert panel.preview_box.isHidden()
    with qtbot.waitSignal(window.runner.finished, timeout=60000):
        panel.run_button.click()
    assert len(doc.candidates) == 2
    assert [c.provenance.seed for c in doc.candidates] == [0, 1]
    assert all(c.provenance.engine == "diffusion" and c.provenance.classes == tuple(panel.classes()) for c in doc.candidates)
    assert doc.candidates[0].name != doc.candidates[1].name
    for cand in doc.candidates:
        comp = cand.render(doc.original.pixels)
        assert np.array_equal(comp[~mask], doc.original.pixels[~mask])
    assert window.shown_candidate == doc.candidates[0].id
    assert panel.candidates.count() == 3 and panel.candidates.currentRow() == 1
    assert panel.status.text().startswith("2 candidates in ") and f"{mask.sum()} pixels restored each" in panel.status.text()
    shown = [s for s in seen if s[0]]
    assert shown and all(0 < w <= 220 and 0 < h <= 220 for _, w, h in shown)
    assert panel.preview_box.isHidden() and panel.preview.pixmap().isNull()
    window.undo_act.trigger()
    assert doc.candidates == []  # the run's candidates are one undo step


def test_other_engines_keep_one_candidate_and_no_preview(window, scan, qtbot):
    open_scan(window, scan)
    mark_loss(window)
    seen = []
    window.runner.progress.connect(lambda *_: seen.append(window.restore.preview_box.isVisible()))
    run_and_wait(window, qtbot)  # the slow test engine yields no preview
    doc = window.session.doc
    assert len(doc.candidates) == 1 and window.shown_candidate == doc.candidates[0].id
    assert seen and not any(seen)
    text = window.restore.status.text()
    assert text.startswith("Done in ") and text.endswith(f"{mark_loss(window).sum()} pixels restored.")


def test_only_image_previews_are_shown_and_scrolled_into_view(window, scan, qtbot):
    open_scan(window, scan)
    panel = window.restore
    window.restore_job.active = True
    window.runner.progress.emit(0.5, "working", None, object())
    assert panel.preview_box.isHidden()
    window.runner.progress.emit(0.5, "working", None, np.zeros((10, 30, 3), np.uint8))
    assert not panel.preview_box.isHidden() and panel.preview.pixmap().width() == 220
    qtbot.waitUntil(lambda: not panel.preview_box.visibleRegion().isEmpty(), timeout=2000)  # scrolled into view
    window.restore_job._end()
    assert panel.preview_box.isHidden()

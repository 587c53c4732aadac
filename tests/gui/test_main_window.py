import time

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from muralstudio.core.brush import Brush, StrokeRasterizer, apply_coverage
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import mask_key
from muralstudio.core.errors import EngineError
from muralstudio.engines.base import Engine, InpaintResult, ParamSpec, Progress, register


class SlowEngine(Engine):
    """Test engine: yields 30 progress steps 40 ms apart, then fills the mask with grey."""

    name, label, description = "test-slow", "Slow (test)", "For tests."
    params = (ParamSpec("fail_at", "Fail at", "int", -1, -1, 100),)

    def run(self, request):
        params = self.resolve_params(request.params)
        for i in range(30):
            if i == params["fail_at"]:
                raise EngineError("The test engine failed on purpose.")
            time.sleep(0.04)
            yield Progress(i / 30, f"step {i}")
        from muralstudio.core.candidate import Patch

        px = request.image.copy()
        px[request.mask] = 1234
        return InpaintResult(self.name, [Patch(0, 0, px, request.mask.copy())], params)


register(SlowEngine())


def open_scan(window, scan):
    assert window.files.open_file(scan)
    assert window.session is not None


def screen(window, x, y):
    return window.canvas.map_from_image(QPointF(x, y)).toPoint()


def test_painting_a_stroke_sets_exactly_the_brushed_pixels(window, scan, qtbot):
    open_scan(window, scan)
    window.layers.set_active(mask_key(DamageClass.LOSS))
    window.size_spin.setValue(9)
    vp = window.canvas.viewport()
    pts = [(40.5, 50.5), (80.5, 60.5), (120.5, 90.5)]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(window, *pts[0]))
    for p in pts[1:]:
        QTest.mouseMove(vp, screen(window, *p))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(window, *pts[-1]))
    doc = window.session.doc
    # the same events through the core rasteriser, at the positions the canvas reported
    expected = np.zeros(doc.shape, bool)
    raster = StrokeRasterizer(Brush(9, 1.0), doc.shape)
    for p in pts:
        q = window.canvas.event_to_image(QPointF(screen(window, *p)))
        hit = raster.add_point(q.x(), q.y())
        apply_coverage(expected, *hit, threshold=0.5)
    assert np.array_equal(doc.mask(DamageClass.LOSS), expected)
    assert not doc.mask(DamageClass.CRACK).any()
    assert len(doc.history) == 1
    window.undo_act.trigger()
    assert not doc.mask(DamageClass.LOSS).any()
    window.redo_act.trigger()
    assert np.array_equal(doc.mask(DamageClass.LOSS), expected)


def test_lasso_and_magic_wand(window, scan):
    open_scan(window, scan)
    doc = window.session.doc
    window.layers.set_active(mask_key(DamageClass.STAIN))
    lasso = window.tools["lasso"]
    lasso.points = [(10, 10), (60, 10), (60, 40), (10, 40)]
    assert lasso.finish()
    assert doc.mask(DamageClass.STAIN)[10:40, 10:60].all() and doc.mask(DamageClass.STAIN).sum() == 30 * 50
    window.layers.set_active(mask_key(DamageClass.FLAKING))
    window.tol_spin.setValue(10)
    assert window.tools["wand"].select(230, 80)
    flaking = doc.mask(DamageClass.FLAKING)
    assert flaking[60:100, 200:260].all() and flaking.sum() == 40 * 60
    assert window.history.list.count() == 3  # opened + two steps


def test_tool_options_show_only_what_the_tool_uses(window):
    def shown():
        return {key for key, act in window.option_actions if act.isVisible()}

    window.show()
    assert shown() == {"size", "hardness"} and not window.usage_action.isVisible()  # the brush starts
    for name, expected in (("wand", {"tolerance"}), ("guide", set()), ("lasso", set()),
                           ("hint", set()), ("eraser", {"size", "hardness"})):
        window.set_tool(name)
        assert shown() == expected, name
        # a tool without options says how to use it instead, so the bar is never an empty strip
        usage = window.usage_label.text() if window.usage_action.isVisible() else None
        assert usage == (None if expected else window.tools[name].usage) and usage != "", name


def run_and_wait(window, qtbot, engine="test-slow", params=None, classes=("loss",), signal="finished"):
    with qtbot.waitSignal(getattr(window.runner, signal), timeout=20000):
        window.run_job(engine, params or {}, list(classes))


def mark_loss(window):
    doc = window.session.doc
    m = np.zeros(doc.shape, bool)
    m[100:130, 20:70] = True
    doc.set_layer(mask_key(DamageClass.LOSS), m, "mark")
    return m


def test_job_runs_on_a_worker_while_the_event_loop_keeps_running(window, scan, qtbot):
    open_scan(window, scan)
    mask = mark_loss(window)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    run_and_wait(window, qtbot)
    timer.stop()
    assert len(ticks) >= 20  # the GUI thread kept processing events for the whole run
    doc = window.session.doc
    assert len(doc.candidates) == 1
    cand = doc.candidates[0]
    assert cand.provenance.engine == "test-slow" and cand.provenance.classes == ("loss",)
    assert cand.restored_mask(doc.shape).sum() == mask.sum()
    assert window.restore.candidates.count() == 2


def test_classical_job_adds_a_candidate(window, scan, qtbot):
    open_scan(window, scan)
    mask = mark_loss(window)
    run_and_wait(window, qtbot, engine="telea", params={"radius": 3, "margin": 32, "strategy": "crop"})
    doc = window.session.doc
    comp = doc.candidates[0].render(doc.original.pixels)
    assert np.array_equal(comp[~mask], doc.original.pixels[~mask])


def test_cancel_leaves_the_document_unchanged(window, scan, qtbot):
    open_scan(window, scan)
    mark_loss(window)
    steps = len(window.session.doc.history)
    with qtbot.waitSignal(window.runner.cancelled, timeout=20000):
        window.run_job("test-slow", {}, ["loss"])
        qtbot.wait(150)
        window.restore.cancel_button.click()
    assert window.session.doc.candidates == [] and len(window.session.doc.history) == steps
    assert window.restore.run_button.isEnabled()


def test_failing_job_shows_a_dialog_and_changes_nothing(window, scan, qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    open_scan(window, scan)
    mark_loss(window)
    steps = len(window.session.doc.history)
    run_and_wait(window, qtbot, params={"fail_at": 3}, signal="failed")
    assert shown and "on purpose" in shown[0]
    assert window.session.doc.candidates == [] and len(window.session.doc.history) == steps


def test_save_then_open_reproduces_the_document(window, scan, qtbot, tmp_path, monkeypatch):
    open_scan(window, scan)
    mask = mark_loss(window)
    run_and_wait(window, qtbot, engine="telea")
    doc = window.session.doc
    doc.choose(doc.candidates[0].id)
    doc.notes = "west wall, lower register"
    target = tmp_path / "wall.mural"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert window.files.save_as()
    assert not window.session.dirty and "*" not in window.windowTitle()
    before = scan.read_bytes()
    assert window.files.open_file(target)
    again = window.session.doc
    assert again is not doc
    assert np.array_equal(again.mask(DamageClass.LOSS), mask)
    assert [c.id for c in again.candidates] == [c.id for c in doc.candidates]
    assert again.chosen_id == doc.chosen_id and again.notes == doc.notes
    assert np.array_equal(again.composite(), doc.composite())
    assert scan.read_bytes() == before  # the original scan is never written to


def test_crash_leaves_a_recovery_file_that_the_next_start_offers(window, scan, qtbot, settings, monkeypatch):
    from muralstudio.gui.main_window import MainWindow

    open_scan(window, scan)
    mask = mark_loss(window)
    window.files.autosave(background=False)
    slot = window.files.recovery
    assert slot is not None
    monkeypatch.setattr(slot, "close", lambda: None)  # the process "dies": nothing is cleaned up
    _fake_dead_lock(slot)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    second = MainWindow(settings)
    qtbot.addWidget(second)
    assert second.files.offer_recovery()
    assert asked and "did not close properly" in asked[0]
    assert np.array_equal(second.session.doc.mask(DamageClass.LOSS), mask)
    second.files.close_recovery()


def _fake_dead_lock(slot):
    """Rewrite the slot's lock so it names a process that no longer runs."""
    lock = next(p for p in slot.directory.iterdir() if p.suffix == ".lock")
    text = lock.read_text()
    import os
    lock.write_text(text.replace(str(os.getpid()), "999999"))


def test_corrupt_file_shows_a_message_and_the_app_stays_usable(window, scan, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    bad = tmp_path / "broken.tif"
    bad.write_bytes(scan.read_bytes()[:300])
    assert not window.files.open_file(bad)
    assert shown and "broken.tif" in shown[0]
    assert window.session is None
    open_scan(window, scan)  # still works afterwards


def test_status_bar_shows_pixel_value_in_file_depth(window, scan):
    open_scan(window, scan)
    window._cursor_moved((210.5, 70.5))
    assert window.value_label.text() == "R 1000 G 1000 B 1000"
    assert "16-bit RGB" in window.size_label.text()


def test_settings_persist_between_runs(window, settings, qtbot):
    from muralstudio.gui.main_window import MainWindow

    window.size_spin.setValue(77)
    window.save_settings()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.size_spin.value() == 77


def test_project_opens_on_its_chosen_result_and_masks_can_be_hidden(window, scan, qtbot, tmp_path, monkeypatch):
    open_scan(window, scan)
    mark_loss(window)
    run_and_wait(window, qtbot, engine="telea")
    doc = window.session.doc
    doc.choose(doc.candidates[0].id)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "p.mural"), ""))
    assert window.files.save_as()
    assert window.files.open_file(tmp_path / "p.mural")
    assert window.shown_candidate == window.session.doc.chosen_id is not None
    window.toggle_masks()
    assert not any(box.isChecked() for box in window.layers.visible.values())
    window.toggle_masks()
    assert all(box.isChecked() for box in window.layers.visible.values())


def test_autosave_runs_in_the_background_and_writes_the_recovery_copy(window, scan):
    open_scan(window, scan)
    mark_loss(window)
    window.files.autosave()
    thread = window.files._autosaving
    assert thread is not None and thread.name == "autosave"
    thread.join(30)
    assert window.files.recovery.path.exists()


def test_dropping_a_file_opens_it(window, scan):
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(scan))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.session is not None and window.session.source == scan


def test_archive_export_from_the_file_menu(window, scan, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from muralstudio.gui import export_dialog

    open_scan(window, scan)
    mark_loss(window)
    run_and_wait(window, qtbot, engine="telea")
    window.session.doc.choose(window.session.doc.candidates[0].id)
    target = tmp_path / "archive.ora"
    ora_filter = [f for f in export_dialog.FORMATS if "OpenRaster" in f][0]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ora_filter))
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("none", True))
    runner = export_dialog.run_archive_export(window, window.session.doc, tmp_path / "x", scan)
    with qtbot.waitSignal(runner.finished, timeout=30000):
        pass
    assert target.exists()


def test_report_export_from_the_file_menu(window, scan, qtbot, tmp_path, monkeypatch):
    from muralstudio.gui import export_dialog

    open_scan(window, scan)
    target = tmp_path / "report.html"
    html_filter = [f for f in export_dialog.FORMATS if "report" in f][0]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), html_filter))
    runner = export_dialog.run_archive_export(window, window.session.doc, tmp_path / "x", scan)
    with qtbot.waitSignal(runner.finished, timeout=30000):
        pass
    assert "Intervention report" in target.read_text()

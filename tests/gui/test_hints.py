"""Colour hints in the app: the hint tool, the Colour hints panel, picking, the Restore panel
with a colour engine, and the hints reaching the engine's request."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from muralstudio.core.candidate import Candidate, Patch, Provenance  # noqa: E402
from muralstudio.core.damage import FILL_CLASSES, DamageClass  # noqa: E402
from muralstudio.core.document import Mural, mask_key  # noqa: E402
from muralstudio.core.hints import ColourHint  # noqa: E402
from muralstudio.core.pigments import pigment  # noqa: E402
from muralstudio.core.raster import RasterImage  # noqa: E402
from muralstudio.engines import base  # noqa: E402
from muralstudio.engines.base import Engine, InpaintResult, ParamSpec, Progress  # noqa: E402
from muralstudio.gui.hintcontrol import GREY_TITLE  # noqa: E402
from muralstudio.gui.hintstate import sample_colour  # noqa: E402

LEFT, RIGHT, NOMOD = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier


class FakeColour(Engine):
    """Stands in for the colorize engine: records its request, paints the mask one colour."""

    name, label, description = "colorize", "Colour restoration (test)", "For tests."
    takes_hints = needs_rgb = True
    params = (ParamSpec("method", "Method", "choice", "statistics", choices=("network", "statistics")),)

    def __init__(self) -> None:
        self.requests = []

    def run(self, request):
        self.requests.append(request)
        yield Progress(0.5, "colouring")
        px = request.image.copy()
        px[request.mask] = 777
        return InpaintResult(self.name, [Patch(0, 0, px, request.mask.copy())], self.resolve_params(request.params))


@pytest.fixture
def colour_engine(monkeypatch):
    engine = FakeColour()
    monkeypatch.setitem(base._REGISTRY, "colorize", engine)
    return engine


def open_scan(window, scan):
    assert window.files.open_file(scan)
    return window.session.doc


def screen(window, x, y):
    return window.canvas.map_from_image(QPointF(x, y)).toPoint()


def landed(window, x, y):
    """Image point the canvas reports for a click at image point (x, y)."""
    q = window.canvas.event_to_image(QPointF(screen(window, x, y)))
    return q.x(), q.y()


def click(window, x, y, button=LEFT, mods=NOMOD):
    QTest.mouseClick(window.canvas.viewport(), button, mods, screen(window, x, y))


# -- the tool ---------------------------------------------------------------------------
def test_hint_tool_adds_selects_and_removes_hints(window, scan):
    doc = open_scan(window, scan)
    window.tool_actions["hint"].trigger()
    assert window.canvas.tool() is window.tools["hint"]
    assert window.tool_actions["hint"].shortcut().toString() == "I"
    window.hints_panel.pigment_buttons["azurite"].click()
    click(window, 40, 50)
    click(window, 200, 150)
    assert len(doc.hints) == 2 and len(doc.history) == 2
    first = doc.hints[0]
    assert (first.x, first.y) == pytest.approx(landed(window, 40, 50))
    assert first.rgb == pigment("azurite").unit_rgb and first.source == "pigment: azurite"
    state = window.ctx.hints
    assert state.selected is doc.hints[1]  # a new hint is selected
    assert window.hints_panel.list.count() == 2 and window.hints_panel.list.currentRow() == 1
    # a click near a hint (a few screen pixels off) selects it rather than adding one
    QTest.mouseClick(window.canvas.viewport(), LEFT, NOMOD, screen(window, 40, 50) + QPointF(3, 2).toPoint())
    assert len(doc.hints) == 2 and state.selected is first
    assert window.hints_panel.list.currentRow() == 0
    QTest.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert len(doc.hints) == 1
    assert doc.hints[0] is not first and state.selected is None
    # a right click removes the hint under the pointer; elsewhere it does nothing
    click(window, 10, 10, RIGHT)
    assert len(doc.hints) == 1
    click(window, 200, 150, RIGHT)
    assert doc.hints == () and len(doc.history) == 4
    assert window.hints_panel.count_label.text() == "0 hints"


def test_backspace_removes_the_selected_hint_and_undo_brings_it_back(window, scan):
    doc = open_scan(window, scan)
    window.set_tool("hint")
    click(window, 100, 100)
    hint = doc.hints[0]
    QTest.keyClick(window.canvas, Qt.Key.Key_Backspace)
    assert doc.hints == ()
    window.undo_act.trigger()
    assert doc.hints == (hint,)


def test_undo_removes_an_added_hint_and_redo_restores_it(window, scan):
    doc = open_scan(window, scan)
    window.set_tool("hint")
    click(window, 60, 70)
    assert len(doc.hints) == 1 and window.history.list.count() == 2  # opened + the hint
    window.undo_act.trigger()
    assert doc.hints == () and window.ctx.hints.selected is None
    assert window.hints_panel.list.count() == 0
    window.redo_act.trigger()
    assert len(doc.hints) == 1 and window.hints_panel.list.count() == 1


def test_clear_and_remove_buttons(window, scan):
    doc = open_scan(window, scan)
    for x in (30, 90, 150):
        doc.add_hint(ColourHint(40.0, float(x), (0.5, 0.4, 0.3)))
    panel = window.hints_panel
    assert panel.list.count() == 3 and not panel.remove_button.isEnabled()
    panel.list.setCurrentRow(1)
    assert window.ctx.hints.selected is doc.hints[1] and panel.remove_button.isEnabled()
    panel.remove_button.click()
    assert [h.x for h in doc.hints] == [30, 150]
    panel.list.setCurrentRow(0)
    panel.list.setFocus()
    QTest.keyClick(panel.list, Qt.Key.Key_Delete)
    assert [h.x for h in doc.hints] == [150]
    window.undo_act.trigger()
    panel.clear_button.click()
    assert doc.hints == () and not panel.clear_button.isEnabled()
    window.undo_act.trigger()
    assert len(doc.hints) == 2


def test_hints_are_drawn_at_constant_size_and_hidden_with_the_masks(window, scan):
    doc = open_scan(window, scan)
    doc.add_hint(ColourHint(120.5, 160.5, (1.0, 0.0, 1.0)))  # magenta: not in the scan

    def centre_colour():
        img = window.canvas.viewport().grab().toImage()
        dpr = img.devicePixelRatio()
        p = window.canvas.map_from_image(QPointF(160.5, 120.5))
        return img.pixelColor(int(p.x() * dpr), int(p.y() * dpr)).getRgb()[:3]

    def magenta_width():
        img = window.canvas.viewport().grab().toImage()
        p = window.canvas.map_from_image(QPointF(160.5, 120.5))
        row = [img.pixelColor(x, int(p.y())).getRgb()[:3] for x in range(img.width())]
        return sum(1 for c in row if c[0] > 200 and c[1] < 60 and c[2] > 200)

    assert centre_colour() == (255, 0, 255)
    w1 = magenta_width()
    window.canvas.set_zoom(4.0, window.canvas.map_from_image(QPointF(160.5, 120.5)))
    assert centre_colour() == (255, 0, 255) and abs(magenta_width() - w1) <= 1
    window.toggle_masks()  # H: hides masks and hints
    assert not window.ctx.hints.visible and not window.hints_panel.show_box.isChecked()
    assert centre_colour() != (255, 0, 255)
    window.toggle_masks()
    assert window.ctx.hints.visible and centre_colour() == (255, 0, 255)


# -- colours ----------------------------------------------------------------------------
def test_palette_click_sets_the_current_colour(window, scan):
    open_scan(window, scan)
    panel = window.hints_panel
    panel.pigment_buttons["orpiment"].click()
    state = window.ctx.hints
    assert state.rgb == pigment("orpiment").unit_rgb and state.source == "pigment: orpiment"
    assert "Orpiment" in panel.source_label.text() and pigment("orpiment").hex() in panel.source_label.text()
    tip = panel.pigment_buttons["lapis lazuli"].toolTip()
    assert "Lapis lazuli" in tip and pigment("lapis lazuli").note in tip


def expected_mean(px, x, y):
    cx, cy = int(x), int(y)
    return tuple(px[cy - 2 : cy + 3, cx - 2 : cx + 3].reshape(-1, 3).astype(np.float64).mean(axis=0) / 65535)


def test_pick_from_image_samples_5x5_of_the_16_bit_scan(window, scan):
    doc = open_scan(window, scan)
    panel = window.hints_panel
    window.set_tool("brush")
    panel.pick_button.click()  # switches to the hint tool in pick mode
    assert window.canvas.tool() is window.tools["hint"] and window.ctx.hints.pick_mode
    click(window, 150, 120)
    x, y = landed(window, 150, 120)
    state = window.ctx.hints
    assert state.rgb == pytest.approx(expected_mean(doc.original.pixels, x, y), abs=1e-9)
    assert state.source == f"picked at {int(x)}, {int(y)}"
    assert doc.hints == () and not state.pick_mode and not panel.pick_button.isChecked()
    # the next click places a hint of the picked colour
    click(window, 150, 120)
    assert doc.hints[0].rgb == state.rgb and doc.hints[0].source == state.source


def test_alt_click_picks_and_escape_leaves_pick_mode(window, scan):
    doc = open_scan(window, scan)
    window.set_tool("hint")
    click(window, 80, 40, mods=Qt.KeyboardModifier.AltModifier)
    x, y = landed(window, 80, 40)
    assert window.ctx.hints.rgb == pytest.approx(expected_mean(doc.original.pixels, x, y), abs=1e-9)
    assert doc.hints == ()
    window.hints_panel.pick_button.click()
    assert window.ctx.hints.pick_mode
    window.cancel_tool()  # Esc
    assert not window.ctx.hints.pick_mode and not window.hints_panel.pick_button.isChecked()


def test_pick_reads_the_candidate_shown(window, scan):
    doc = open_scan(window, scan)
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    patch = Patch(100, 100, np.full((20, 20, 3), (65535, 0, 32768), np.uint16), mask)
    cand = Candidate(Provenance("test", {}), [patch])
    doc.add_candidate(cand)
    window.show_candidate(cand.id)
    window.set_tool("hint")
    click(window, 110, 110, mods=Qt.KeyboardModifier.AltModifier)
    assert window.ctx.hints.rgb == pytest.approx((1.0, 0.0, 32768 / 65535))


def test_sample_colour_of_8_bit_grey_and_at_the_edge():
    px = np.zeros((10, 12, 3), np.uint8)
    px[:, :, 0] = 255
    px[0, 0] = (0, 0, 0)
    doc = Mural(RasterImage(px))
    # at the corner only 3 × 3 of the 5 × 5 lie inside
    assert sample_colour(doc, None, 0.5, 0.5) == pytest.approx((8 / 9, 0.0, 0.0))
    grey = Mural(RasterImage(np.full((8, 8, 1), 51, np.uint8)))
    assert sample_colour(grey, None, 4.2, 4.9) == pytest.approx((0.2, 0.2, 0.2))
    with pytest.raises(ValueError):
        sample_colour(doc, None, 20.0, 3.0)


# -- restore panel and runs ------------------------------------------------------------
def test_selecting_colorize_checks_fading_and_back_restores_the_fill_classes(qtbot, colour_engine):
    from muralstudio.gui.panels.restore import RestorePanel

    panel = RestorePanel()
    qtbot.addWidget(panel)
    assert set(panel.classes()) == {c.value for c in FILL_CLASSES}
    assert panel.hints_note.isHidden()
    panel.engine.setCurrentIndex(panel.engine.findData("colorize"))
    assert panel.classes() == ["fading"] and not panel.hints_note.isHidden()
    assert panel.params() == {"method": "statistics"}
    panel.set_hint_count(3)
    assert "3 colour hints" in panel.hints_note.text()
    panel.engine.setCurrentIndex(panel.engine.findData("ns"))
    assert set(panel.classes()) == {c.value for c in FILL_CLASSES} and panel.hints_note.isHidden()
    # a change of the checks is kept while the kind of engine stays the same
    panel.class_checks[DamageClass.STAIN].setChecked(True)
    panel.engine.setCurrentIndex(panel.engine.findData("telea"))
    assert "stain" in panel.classes()


def test_a_colorize_run_passes_the_hints_to_the_request(window, scan, qtbot, colour_engine):
    doc = open_scan(window, scan)
    fading = np.zeros(doc.shape, bool)
    fading[50:90, 40:120] = True
    doc.set_layer(mask_key(DamageClass.FADING), fading, "mark fading")
    hints = [ColourHint(60.0, 50.0, (0.2, 0.6, 0.4), "pigment: malachite"),
             ColourHint(80.0, 100.0, (0.8, 0.3, 0.2), "picked at 100, 80")]
    for h in hints:
        doc.add_hint(h)
    assert "2 colour hints" in window.restore.hints_note.text()
    with qtbot.waitSignal(window.runner.finished, timeout=20000):
        window.run_job("colorize", {"method": "statistics"}, ["fading"])
    request = colour_engine.requests[0]
    assert request.hints == hints and np.array_equal(request.mask, fading)
    assert len(doc.candidates) == 1 and doc.candidates[0].provenance.classes == ("fading",)


def test_other_engines_get_no_hints(window, scan, qtbot, monkeypatch):
    doc = open_scan(window, scan)
    loss = np.zeros(doc.shape, bool)
    loss[10:20, 10:20] = True
    doc.set_layer(mask_key(DamageClass.LOSS), loss, "mark")
    doc.add_hint(ColourHint(15.0, 15.0, (0.2, 0.6, 0.4)))
    from muralstudio.gui import restorejob

    made = []

    def record(*args, **kwargs):
        made.append(base.InpaintRequest(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(restorejob, "InpaintRequest", record)
    monkeypatch.setattr(window.runner, "start", lambda factory: None)
    window.run_job("telea", {}, ["loss"])
    assert len(made) == 1 and made[0].hints == []


def test_colorize_on_a_grey_scan_explains_instead_of_running(window, tmp_path, colour_engine, monkeypatch):
    from muralstudio.io.images import write_image

    path = tmp_path / "grey.tif"
    write_image(path, np.full((64, 80), 30000, np.uint16))
    doc = open_scan(window, path)
    fading = np.zeros(doc.shape, bool)
    fading[10:20, 10:20] = True
    doc.set_layer(mask_key(DamageClass.FADING), fading, "mark")
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: shown.append((a[1], a[2])))
    window.run_job("colorize", {}, ["fading"])
    assert not window.runner.is_running() and colour_engine.requests == []
    assert shown and shown[0][0] == GREY_TITLE
    assert "RGB" in shown[0][1] and "--engine colorize" in shown[0][1]


def test_the_registered_colorize_engine_switches_the_classes(qtbot):
    from muralstudio.engines import engine_names
    from muralstudio.gui.panels.restore import RestorePanel, restores_colour

    if "colorize" not in engine_names():
        pytest.skip("the colorize engine is not registered")
    assert restores_colour("colorize") and not restores_colour("telea") and not restores_colour("no-such")
    panel = RestorePanel()
    qtbot.addWidget(panel)
    panel.engine.setCurrentIndex(panel.engine.findData("colorize"))
    assert panel.classes() == ["fading"]
    assert {"method", "weights", "margin", "work_side", "tile", "device"} <= set(panel.params())


def test_placing_a_hint_shows_hidden_hints_and_the_list_brings_a_hint_into_view(window, scan):
    doc = open_scan(window, scan)
    window.set_tool("hint")
    window.toggle_masks()
    assert not window.ctx.hints.visible
    click(window, 30, 30)
    assert window.ctx.hints.visible and len(doc.hints) == 1
    doc.add_hint(ColourHint(230.0, 310.0, (0.1, 0.2, 0.3)))
    window.canvas.set_zoom(8.0)
    window.canvas.center_on(20, 20)
    assert not window.canvas.visible_image_rect().contains(QPointF(310, 230))
    window.hints_panel.list.setCurrentRow(1)
    assert window.ctx.hints.selected is doc.hints[1]
    assert window.canvas.visible_image_rect().contains(QPointF(310, 230))


def test_hints_export_to_a_file_and_import_adds_them_as_one_step(window, scan, tmp_path, monkeypatch):
    from muralstudio.io.hints import read_hints

    doc = open_scan(window, scan)
    panel, control = window.hints_panel, window.hint_control
    assert not panel.export_button.isEnabled()
    doc.add_hint(ColourHint(40.0, 30.0, pigment("malachite").unit_rgb, pigment("malachite").source))
    doc.add_hint(ColourHint(12.5, 90.25, (0.8, 0.3, 0.2), "picked at 90, 12"))
    assert panel.export_button.isEnabled()
    out = tmp_path / "hints.json"
    assert control.export_hints(out)
    back = read_hints(out, doc.shape)
    assert [(h.x, h.y, h.source) for h in back] == [(h.x, h.y, h.source) for h in doc.hints]
    assert np.allclose([h.rgb for h in back], [h.rgb for h in doc.hints], atol=1e-5)
    doc.clear_hints()
    window.ctx.hints.set_visible(False)
    assert control.import_hints(out)
    assert list(doc.hints) == read_hints(out) and window.ctx.hints.visible
    assert doc.history.labels[-1] == "Import 2 colour hints" and panel.list.count() == 2
    window.undo_act.trigger()
    assert doc.hints == ()


@pytest.mark.parametrize("text, says", [
    ("{not json", "not valid JSON"),
    ('{"hints": []}', "holds no hints"),
    ('{"hints": [{"x": 10, "y": 10, "colour": "#00ff00"}, {"x": 9999, "y": 5, "colour": "#ff0000"}]}',
     "outside the image"),
])
def test_a_bad_hints_file_is_explained_and_adds_nothing(window, scan, tmp_path, monkeypatch, text, says):
    doc = open_scan(window, scan)
    path = tmp_path / "bad.json"
    path.write_text(text)
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append((a[1], a[2])))
    assert not window.hint_control.import_hints(path)
    assert doc.hints == () and doc.history.labels == []
    assert shown and shown[0][0] == "Cannot import hints" and says in shown[0][1]


def test_exporting_into_a_missing_folder_is_explained(window, scan, tmp_path, monkeypatch):
    doc = open_scan(window, scan)
    doc.add_hint(ColourHint(40.0, 30.0, (0.5, 0.4, 0.3)))
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append((a[1], a[2])))
    assert not window.hint_control.export_hints(tmp_path / "no" / "such" / "hints.json")
    assert shown and shown[0][0] == "Cannot export hints"

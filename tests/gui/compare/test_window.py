import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog

from muralstudio.core.assessment import CRITERIA
from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural, mask_key
from muralstudio.core.raster import RasterImage
from muralstudio.gui.compare.mapstore import colourise
from muralstudio.gui.compare.sources import ORIGINAL
from muralstudio.gui.compare.window import CompareWindow
from tests.gui.test_main_window import mark_loss, open_scan, run_and_wait

H, W = 96, 128
SQUARE = (30, 40, 50, 70)  # y0, x0, y1, x1 of the restored square
FILL = (20, 40, 230)


def make_doc(fills=(FILL,)):
    """A textured RGB scan with a marked square and one candidate per fill colour."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:H, 0:W]
    px = np.stack([100 + 60 * np.sin(xx / 5), 120 + 50 * np.cos(yy / 7), 90 + 0 * xx], axis=2)
    px = np.clip(px + rng.normal(0, 4, px.shape), 0, 255).astype(np.uint8)
    doc = Mural(RasterImage(px))
    y0, x0, y1, x1 = SQUARE
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    doc.set_layer(mask_key(DamageClass.LOSS), mask, "mark")
    for i, fill in enumerate(fills):
        patch = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        patch[:] = fill
        doc.add_candidate(Candidate(Provenance("test", {"n": i}), [Patch(y0, x0, patch, np.ones((y1 - y0, x1 - x0), bool))]))
    return doc


@pytest.fixture
def cwin(qtbot, settings):
    w = CompareWindow(settings)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def settle(qtbot, w):
    qtbot.waitUntil(lambda: not w.maps.is_busy() and not w.measurer.is_running(), timeout=15000)
    for _ in range(3):
        QApplication.processEvents()


def pixel(pane, pt):
    img = pane.grab().toImage()
    c = img.pixelColor(pt)
    return np.array([c.red(), c.green(), c.blue()])


def screen_of(pane, x, y):
    return pane.map_from_image(QPointF(x, y)).toPoint()


def test_swipe_divider_follows_the_mouse_and_splits_the_sides(cwin, qtbot):
    doc = make_doc()
    cwin.set_document(doc)
    cwin.set_mode("swipe")
    settle(qtbot, cwin)
    pane = cwin.view.panes[0]
    assert cwin.view.a == ORIGINAL and cwin.view.b == doc.candidates[0].id
    mid = QPoint(pane.width() // 2, pane.height() // 2)
    qtbot.mousePress(pane, Qt.MouseButton.LeftButton, pos=mid)
    target = screen_of(pane, 55, 40)  # the middle of the restored square
    qtbot.mouseMove(pane, target)
    qtbot.mouseRelease(pane, Qt.MouseButton.LeftButton, pos=target)
    assert cwin.view.divider == pytest.approx(target.x() / pane.width(), abs=1e-3)
    left, right = screen_of(pane, 48, 40), screen_of(pane, 62, 40)
    original = doc.original.pixels
    assert np.abs(pixel(pane, left) - original[40, 48]).max() <= 2  # A (the original) left of the divider
    assert np.abs(pixel(pane, right) - FILL).max() <= 2  # B (the candidate) right of it
    # pressing away from the divider pans instead of moving it
    before = cwin.view.divider
    qtbot.mousePress(pane, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    qtbot.mouseMove(pane, QPoint(60, 40))
    qtbot.mouseRelease(pane, Qt.MouseButton.LeftButton, pos=QPoint(60, 40))
    assert cwin.view.divider == before


def test_side_by_side_zoom_and_pan_stay_locked(cwin, qtbot):
    doc = make_doc()
    cwin.set_document(doc)
    cwin.set_mode("side")
    settle(qtbot, cwin)
    p0, p1 = cwin.view.panes
    assert p1.isVisible() and abs(p0.width() - p1.width()) <= 1
    zoom = cwin.view.state.zoom
    pos = QPointF(p1.width() * 0.3, p1.height() * 0.6)
    under = p1.map_to_image(pos)
    wheel = QWheelEvent(pos, p1.mapToGlobal(pos), QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(p1, wheel)
    assert cwin.view.state.zoom == pytest.approx(zoom * 1.15 ** 2)
    after = p1.map_to_image(pos)
    assert (after.x(), after.y()) == pytest.approx((under.x(), under.y()), abs=1e-6)  # zoomed about the pointer
    cx, cy = cwin.view.state.cx, cwin.view.state.cy
    qtbot.mousePress(p0, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(p0, QPoint(160, 130))
    qtbot.mouseRelease(p0, Qt.MouseButton.LeftButton, pos=QPoint(160, 130))
    z = cwin.view.state.zoom
    assert (cwin.view.state.cx, cwin.view.state.cy) == pytest.approx((cx - 60 / z, cy - 30 / z))
    for pt in (QPointF(10, 10), QPointF(123, 77), QPointF(p0.width() - 5, p0.height() - 5)):
        a, b = p0.map_to_image(pt), p1.map_to_image(pt)
        assert (a.x(), a.y()) == (b.x(), b.y())
    # the same screen pixel shows the same image pixel: equal outside the square, A vs B inside it
    outside, inside = screen_of(p0, 20, 80), screen_of(p0, 55, 40)
    assert np.abs(pixel(p0, outside) - pixel(p1, outside)).max() <= 1
    assert np.abs(pixel(p1, inside) - FILL).max() <= 2 and np.abs(pixel(p0, inside) - FILL).max() > 30


def test_flicker_key_swaps_the_side_in_place(cwin, qtbot):
    doc = make_doc()
    cwin.set_document(doc)
    cwin.set_mode("flicker")
    settle(qtbot, cwin)
    pane = cwin.view.panes[0]
    inside = screen_of(pane, 55, 40)
    first = pixel(pane, inside)
    QTest.keyClick(cwin, Qt.Key.Key_Space)
    second = pixel(pane, inside)
    assert np.abs(first - doc.original.pixels[40, 55]).max() <= 2 and np.abs(second - FILL).max() <= 2
    QTest.keyClick(cwin, Qt.Key.Key_Space)
    assert np.array_equal(pixel(pane, inside), first)
    cwin.view.set_auto_flicker(True)
    qtbot.waitUntil(lambda: cwin.view.flipped, timeout=3000)
    cwin.view.set_auto_flicker(False)


def _blend(under, rgba):
    a = rgba[3] / 255.0
    return rgba[:3] * a + under * (1 - a)


def test_overlays_render_with_their_colours(cwin, qtbot):
    doc = make_doc()
    cwin.set_document(doc)
    cwin.set_mode("flicker")  # A (the original) under the maps
    cwin.view.set_opacity(1.0)
    cwin.view.set_zoom(4.0)
    cwin.view.set_centre(55, 40)
    settle(qtbot, cwin)
    pane = cwin.view.panes[0]
    inside, outside = screen_of(pane, 55.5, 40.5), screen_of(pane, 15.5, 80.5)
    bare_in, bare_out = pixel(pane, inside), pixel(pane, outside)

    cwin.set_maps(["diff"])
    settle(qtbot, cwin)
    store = cwin.maps.store("diff")
    assert store.complete
    diff = np.abs(doc.original.pixels[40, 55].astype(int) - np.array(FILL)).max()
    assert store.region(0, (40, 55, 41, 56))[0, 0, 0] == diff
    expected = _blend(bare_in, colourise("diff", np.array([[[diff]]], np.uint8))[0, 0].astype(float))
    assert np.abs(pixel(pane, inside) - expected).max() <= 3  # the snapshot, within a tolerance
    assert np.abs(pixel(pane, outside) - bare_out).max() <= 1  # no difference: nothing drawn

    cwin.set_maps(["ssim"])
    settle(qtbot, cwin)
    value = cwin.maps.store("ssim").region(0, (40, 55, 41, 56))
    expected = _blend(bare_in, colourise("ssim", value)[0, 0].astype(float))
    assert np.abs(pixel(pane, inside) - expected).max() <= 3 and np.abs(expected - bare_in).max() > 20

    cwin.set_maps(["outline"])
    settle(qtbot, cwin)
    edge = screen_of(pane, 40.5, 40.5)  # the square's left column is its outline
    assert np.abs(pixel(pane, edge) - (255, 220, 0)).max() <= 3
    assert np.abs(pixel(pane, inside) - bare_in).max() <= 1

    cwin.set_maps(["edges"])
    settle(qtbot, cwin)
    e = cwin.maps.store("edges").region(0, (30, 40, 50, 70))
    assert e[:, :, 1].max() > e[:, :, 0][2:-2, 2:-2].max()  # B's flat fill has no texture but a border
    legend_area = pane.grab().toImage().copy(0, pane.height() - 60, 200, 60)
    assert not legend_area.isNull()


def test_maps_are_cached_per_pair(cwin, qtbot):
    doc = make_doc(fills=(FILL, (200, 200, 30)))
    first, second = (c.id for c in doc.candidates)
    cwin.set_document(doc)
    cwin.set_maps(["diff"])
    cwin.view.set_sides(ORIGINAL, first)
    settle(qtbot, cwin)
    store = cwin.maps.store("diff")
    cwin.view.set_sides(ORIGINAL, second)
    settle(qtbot, cwin)
    assert cwin.maps.store("diff") is not store
    cwin.view.set_sides(ORIGINAL, first)
    assert cwin.maps.store("diff") is store and store.complete and not cwin.maps.is_busy()
    figures = cwin.maps.figures()
    assert figures is not None and figures.psnr_mask() < figures.psnr()
    assert "PSNR, damaged area" in cwin.metrics.label.text()
    doc.remove_candidate(first)  # its maps go, and the sides fall back to what exists
    assert cwin.view.b != first and all(first not in "".join(k) for k in cwin.maps._cache)


def test_table_sorts_by_rating_and_by_figures(cwin, qtbot):
    doc = make_doc(fills=(FILL, (200, 200, 30), (120, 110, 90)))
    cwin.set_document(doc)
    settle(qtbot, cwin)
    panel = cwin.assess
    panel.rater.setText("Li Wei")
    for cand, score in zip(doc.candidates, (2, 5, 3)):
        panel.set_candidate(cand.id)
        panel.stars["textural detail"].setValue(score)
        panel.save_btn.click()
    assert [r.rater for r in doc.ratings_of(doc.candidates[1].id)] == ["Li Wei"]
    t = panel.table
    t.sortItems(panel.columns.index("Rating"), Qt.SortOrder.DescendingOrder)
    names = [t.item(r, 0).text().lstrip("★ ") for r in range(t.rowCount())]
    assert names == [doc.candidates[i].name for i in (1, 2, 0)]
    seam_col = panel.columns.index(next(c for c in panel.columns if c.startswith("Seam")))
    t.sortItems(seam_col, Qt.SortOrder.AscendingOrder)
    values = [t.item(r, seam_col).value for r in range(t.rowCount())]
    assert values == sorted(values) and all(v is not None for v in values)
    t.selectRow(0)  # picking a row shows that candidate as B
    assert cwin.view.b == t.item(0, 0).data(Qt.ItemDataRole.UserRole)


def test_ratings_made_in_the_window_survive_save_and_open(window, scan, qtbot, tmp_path, monkeypatch):
    open_scan(window, scan)
    mark_loss(window)
    run_and_wait(window, qtbot, engine="telea")
    window.open_compare()
    cw = window.compare
    qtbot.waitUntil(lambda: not cw.maps.is_busy() and not cw.measurer.is_running(), timeout=15000)
    panel = cw.assess
    cid = window.session.doc.candidates[0].id
    assert panel.cid == cid
    panel.rater.setText("Ana Restorer")
    for c, v in zip(CRITERIA, (4, 3, 5, 2)):
        panel.stars[c].setValue(v)
    panel.note.setPlainText("seam visible at lower left")
    panel.save_btn.click()
    target = tmp_path / "rated.mural"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert window.files.save_as()
    assert window.files.open_file(target)
    assert cw.doc is window.session.doc  # the open window follows the new document
    qtbot.waitUntil(lambda: not cw.maps.is_busy() and not cw.measurer.is_running(), timeout=15000)
    (rating,) = window.session.doc.ratings_of(cid)
    assert rating.rater == "Ana Restorer" and rating.note == "seam visible at lower left"
    assert [panel.stars[c].value() for c in CRITERIA] == [4, 3, 5, 2]
    assert panel.table.item(0, 1).text() == "3.50"


def test_reference_image_gives_quality_figures_and_bad_ones_are_refused(cwin, qtbot, tmp_path, monkeypatch):
    from muralstudio.gui.compare.sources import REFERENCE
    from muralstudio.io.images import write_image

    doc = make_doc(fills=(FILL, (200, 200, 30)))
    right, wrong = doc.candidates
    cwin.set_document(doc)
    truth = right.render(doc.original.pixels)  # this candidate happens to restore the truth exactly
    write_image(tmp_path / "truth.png", truth)
    write_image(tmp_path / "small.png", truth[:50])
    shown = []
    monkeypatch.setattr("muralstudio.gui.compare.window.QMessageBox.warning", lambda *a: shown.append(a[2]))
    assert not cwin.load_reference(tmp_path / "small.png") and "must match" in shown[0]
    assert not cwin.load_reference(tmp_path / "missing.png") and len(shown) == 2
    assert cwin.load_reference(tmp_path / "truth.png")
    assert cwin.view.a == REFERENCE and cwin.a_box.currentData() == REFERENCE
    cwin.view.set_sides(REFERENCE, right.id)
    settle(qtbot, cwin)
    text = cwin.metrics.label.text()
    assert "identical" in text and "against the reference" in text
    assert cwin.maps.figures().ssim() == pytest.approx(1.0)
    cwin.view.set_sides(REFERENCE, wrong.id)
    settle(qtbot, cwin)
    figures = cwin.maps.figures()
    assert figures.psnr_mask() < 15 < figures.psnr() and figures.ssim_mask() < 0.5
    cwin.set_mode("side")
    settle(qtbot, cwin)
    left = cwin.view.panes[0]
    assert np.abs(pixel(left, screen_of(left, 55, 40)) - FILL).max() <= 2  # the reference drawn as side A


def test_closing_stops_the_jobs_and_showing_again_resumes_them(cwin, qtbot):
    doc = make_doc()
    cwin.set_document(doc)
    cwin.set_maps(["edges"])
    cwin.close()
    qtbot.waitUntil(lambda: not cwin.maps.is_busy(), timeout=2000)
    cwin.show()
    settle(qtbot, cwin)
    assert cwin.maps.store("edges").complete and cwin.maps.figures() is not None

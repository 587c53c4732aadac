"""The canvas and navigator, offscreen: what the viewport shows, zoom, pan, tools, repaints."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from muralstudio.core.brush import Brush  # noqa: E402
from muralstudio.core.candidate import Candidate, Patch, Provenance  # noqa: E402
from muralstudio.core.damage import STYLES, DamageClass  # noqa: E402
from muralstudio.core.document import Mural  # noqa: E402
from muralstudio.core.raster import RasterImage  # noqa: E402
from muralstudio.gui.canvas import CanvasView  # noqa: E402
from muralstudio.gui.canvas_geometry import MAX_ZOOM, MIN_ZOOM  # noqa: E402
from muralstudio.gui.canvas_input import WHEEL_STEP  # noqa: E402
from muralstudio.gui.canvas_paint import SCREEN_TILE  # noqa: E402
from muralstudio.gui.navigator import NavigatorWidget  # noqa: E402

CRACK = "mask:crack"


# -- helpers ------------------------------------------------------------------------------
def quadrant_image(h: int, w: int) -> np.ndarray:
    """16-bit RGB with four flat quadrants of known colours."""
    px = np.zeros((h, w, 3), np.uint16)
    colours = [(65535, 0, 0), (0, 65535, 0), (0, 0, 65535), (65535, 65535, 0)]
    px[: h // 2, : w // 2] = colours[0]
    px[: h // 2, w // 2 :] = colours[1]
    px[h // 2 :, : w // 2] = colours[2]
    px[h // 2 :, w // 2 :] = colours[3]
    return px


def gradient_image(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 7) % 256, (y * 5) % 256, (x + y) % 256], axis=2).astype(np.uint8)


@pytest.fixture
def canvas(qtbot):
    c = CanvasView()
    qtbot.addWidget(c)
    c.resize(400, 300)
    c.show()
    qtbot.waitExposed(c)
    return c


def make_doc(px: np.ndarray) -> Mural:
    return Mural(RasterImage(px))


def grab(c: CanvasView):
    return c.viewport().grab().toImage()


def rgb_at(img, x: int, y: int) -> tuple[int, int, int]:
    col = img.pixelColor(x, y)
    return (col.red(), col.green(), col.blue())


def screen_of(c: CanvasView, x: float, y: float) -> QPoint:
    p = c.map_from_image(QPointF(x, y))
    return QPoint(int(np.floor(p.x())), int(np.floor(p.y())))


def send_mouse(widget, kind, pos, button=Qt.MouseButton.LeftButton, buttons=None):
    if buttons is None:
        buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    gpos = QPointF(widget.mapToGlobal(QPointF(pos)))
    ev = QMouseEvent(kind, QPointF(pos), gpos, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


class FakeTool:
    def __init__(self, diameter=None):
        self.events = []
        self.brush_diameter = diameter
        self.cursor = None

    def press(self, canvas, x, y, event):
        self.events.append(("press", x, y))

    def move(self, canvas, x, y, event):
        self.events.append(("move", x, y))

    def release(self, canvas, x, y, event):
        self.events.append(("release", x, y))

    def hover(self, canvas, x, y):
        self.events.append(("hover", x, y))


# -- showing the image ----------------------------------------------------------------------
def test_set_document_shows_the_image_at_100_percent_and_at_fit(canvas):
    px = gradient_image(500, 700)
    canvas.set_document(make_doc(px))
    assert canvas.is_fitted()
    img = grab(canvas)
    # fitted: the whole image is in view, and flat areas show their colour
    canvas.set_document(make_doc(quadrant_image(500, 700)))
    img = grab(canvas)
    for (x, y), colour in [((175, 125), (255, 0, 0)), ((525, 125), (0, 255, 0)),
                           ((175, 375), (0, 0, 255)), ((525, 375), (255, 255, 0))]:
        s = screen_of(canvas, x, y)
        assert rgb_at(img, s.x(), s.y()) == colour
    # 100 %: every screen pixel is exactly the image pixel under it
    canvas.set_document(make_doc(px))
    canvas.actual_size()
    assert canvas.zoom() == 1.0
    img = grab(canvas)
    for x, y in [(350, 250), (201, 151), (420, 330), (300, 140)]:
        s = screen_of(canvas, x + 0.5, y + 0.5)
        assert rgb_at(img, s.x(), s.y()) == tuple(int(v) for v in px[y, x])


def test_16_bit_grey_is_shown_mapped_to_8_bit(canvas):
    px = np.full((50, 60, 1), 40000, np.uint16)
    canvas.set_document(make_doc(px))
    canvas.actual_size()
    img = grab(canvas)
    s = screen_of(canvas, 30, 25)
    v = (40000 + 128) // 257
    assert rgb_at(img, s.x(), s.y()) == (v, v, v)


def test_background_around_a_small_image(canvas):
    canvas.set_document(make_doc(gradient_image(20, 30)))
    canvas.actual_size()
    img = grab(canvas)
    r = canvas.image_rect_on_screen()
    assert r.width() == 30 and r.height() == 20
    assert rgb_at(img, 2, 2) == rgb_at(img, 397, 297)  # neutral background in the corners
    assert rgb_at(img, 2, 2) not in {tuple(int(v) for v in p) for p in gradient_image(20, 30).reshape(-1, 3)}


def test_crisp_pixels_at_800_percent(canvas):
    px = np.array([[[0, 0, 0], [255, 255, 255]], [[255, 255, 255], [0, 0, 0]]], np.uint8)
    canvas.set_document(make_doc(px))
    canvas.set_zoom(8.0)
    img = grab(canvas)
    r = canvas.image_rect_on_screen()
    assert (r.width(), r.height()) == (16, 16)
    for sy in range(16):
        for sx in range(16):
            expected = tuple(int(v) for v in px[sy // 8, sx // 8])
            assert rgb_at(img, r.x() + sx, r.y() + sy) == expected, (sx, sy)


def test_high_dpi_screens_get_crisp_device_pixels(tmp_path):
    """At a device pixel ratio of 2, 800 % is 16 × 16 device pixels per image pixel."""
    import os
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "dpr.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from PySide6.QtWidgets import QApplication
        from muralstudio.core.document import Mural
        from muralstudio.core.raster import RasterImage
        from muralstudio.gui.canvas import CanvasView
        app = QApplication([])
        c = CanvasView(); c.resize(200, 150); c.show(); app.processEvents()
        px = np.array([[[0, 0, 0], [255, 255, 255]], [[255, 255, 255], [0, 0, 0]]], np.uint8)
        c.set_document(Mural(RasterImage(px))); c.set_zoom(8.0)
        img = c.viewport().grab().toImage()
        r = c.image_rect_on_screen()
        bad = sum(img.pixelColor(2 * r.x() + sx, 2 * r.y() + sy).red() != px[sy // 16, sx // 16, 0]
                  for sy in range(32) for sx in range(32))
        print(c.viewport().devicePixelRatioF(), img.width(), bad)
    """))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2")
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split()[:3] == ["2.0", "400", "0"], out.stdout + out.stderr


# -- zoom and pan --------------------------------------------------------------------------
def test_zoom_around_anchor_keeps_the_point_fixed(canvas):
    canvas.set_document(make_doc(gradient_image(900, 1200)))
    canvas.actual_size()
    anchor = QPointF(123.0, 77.0)
    before = canvas.map_to_image(anchor)
    for z in (2.0, 3.7, 8.0, 1.3):
        canvas.set_zoom(z, anchor)
        after = canvas.map_to_image(anchor)
        assert abs(after.x() - before.x()) <= 0.5 / z + 1e-9
        assert abs(after.y() - before.y()) <= 0.5 / z + 1e-9


def test_wheel_zooms_around_the_pointer(canvas, qtbot):
    canvas.set_document(make_doc(gradient_image(900, 1200)))
    canvas.actual_size()
    zooms = []
    canvas.zoomChanged.connect(zooms.append)
    pos = QPointF(250.0, 100.0)
    before = canvas.map_to_image(pos)
    ev = QWheelEvent(pos, QPointF(canvas.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), ev)
    assert canvas.zoom() == pytest.approx(WHEEL_STEP)
    assert zooms == [pytest.approx(WHEEL_STEP)]
    after = canvas.map_to_image(pos)
    assert abs(after.x() - before.x()) < 0.5 and abs(after.y() - before.y()) < 0.5
    # a trackpad's small pixel steps zoom by a fraction of a notch
    ev = QWheelEvent(pos, QPointF(canvas.viewport().mapToGlobal(pos)), QPoint(0, -30), QPoint(0, 0),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.ScrollUpdate, False)
    QApplication.sendEvent(canvas.viewport(), ev)
    assert canvas.zoom() == pytest.approx(WHEEL_STEP * WHEEL_STEP ** -0.25)


def test_zoom_is_clamped_and_steps(canvas):
    canvas.set_document(make_doc(gradient_image(100, 100)))
    canvas.set_zoom(1000)
    assert canvas.zoom() == MAX_ZOOM
    canvas.set_zoom(1e-6)
    assert canvas.zoom() == MIN_ZOOM
    canvas.actual_size()
    canvas.zoom_in()
    assert canvas.zoom() == 1.5
    canvas.zoom_out()
    canvas.zoom_out()
    assert canvas.zoom() == pytest.approx(2 / 3)


def test_fit_shows_the_whole_image(canvas):
    canvas.set_document(make_doc(gradient_image(900, 1200)))
    canvas.set_zoom(4.0)
    canvas.fit()
    r = canvas.visible_image_rect()
    assert (r.x(), r.y(), r.width(), r.height()) == (0, 0, 1200, 900)
    assert canvas.zoom() == pytest.approx(min(400 / 1200, 300 / 900))
    on_screen = canvas.image_rect_on_screen()
    assert canvas.viewport().rect().contains(on_screen)
    # stays fitted when the window is resized
    canvas.resize(800, 300)
    QApplication.processEvents()
    assert canvas.zoom() == pytest.approx(min(800 / 1200, 300 / 900))


def test_scrolling_and_centre_on_move_the_visible_rect(canvas):
    canvas.set_document(make_doc(gradient_image(900, 1200)))
    canvas.set_zoom(2.0)
    views = []
    canvas.viewChanged.connect(lambda: views.append(canvas.visible_image_rect()))
    r0 = canvas.visible_image_rect()
    canvas.horizontalScrollBar().setValue(canvas.horizontalScrollBar().value() + 100)
    r1 = canvas.visible_image_rect()
    assert r1.x() == pytest.approx(r0.x() + 50)
    assert views and views[-1] == r1
    canvas.verticalScrollBar().setValue(0)
    assert canvas.visible_image_rect().y() == 0
    canvas.center_on(600, 450)
    c = canvas.visible_image_rect().center()
    assert abs(c.x() - 600) <= 0.5 and abs(c.y() - 450) <= 0.5
    assert canvas.horizontalScrollBar().maximum() == 2400 - canvas.viewport().width()


def test_mapping_round_trip(canvas):
    canvas.set_document(make_doc(gradient_image(900, 1200)))
    for z in (0.1, 0.77, 1.0, 5.5):
        canvas.set_zoom(z, QPointF(31, 47))
        for pt in (QPointF(0, 0), QPointF(10.25, 33.5), QPointF(399, 299)):
            back = canvas.map_from_image(canvas.map_to_image(pt))
            assert back.x() == pytest.approx(pt.x()) and back.y() == pytest.approx(pt.y())


def test_middle_drag_pans(canvas):
    canvas.set_document(make_doc(gradient_image(900, 1200)))
    canvas.actual_size()
    r0 = canvas.visible_image_rect()
    vp = canvas.viewport()
    mid = Qt.MouseButton.MiddleButton
    send_mouse(vp, QEvent.Type.MouseButtonPress, QPointF(200, 150), mid)
    send_mouse(vp, QEvent.Type.MouseMove, QPointF(170, 130), Qt.MouseButton.NoButton, mid)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, QPointF(170, 130), mid)
    r1 = canvas.visible_image_rect()
    assert (r1.x() - r0.x(), r1.y() - r0.y()) == (30, 20)


# -- tools ---------------------------------------------------------------------------------
def test_tool_receives_press_move_release_in_image_coordinates(canvas):
    canvas.set_document(make_doc(gradient_image(900, 1200)))
    canvas.set_zoom(2.0)
    tool = FakeTool()
    canvas.set_tool(tool)
    vp = canvas.viewport()
    send_mouse(vp, QEvent.Type.MouseMove, QPointF(10, 10), Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    send_mouse(vp, QEvent.Type.MouseButtonPress, QPointF(100, 80))
    send_mouse(vp, QEvent.Type.MouseMove, QPointF(140, 90), Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, QPointF(150, 95))
    kinds = [e[0] for e in tool.events]
    assert kinds == ["hover", "press", "move", "release"]
    for (_, x, y), (sx, sy) in zip(tool.events, [(10, 10), (100, 80), (140, 90), (150, 95)]):
        expected = canvas.map_to_image(QPointF(sx + 0.5, sy + 0.5))  # the pixel's centre
        assert (x, y) == pytest.approx((expected.x(), expected.y()))
        same = canvas.event_to_image(QPointF(sx, sy))
        assert (x, y) == pytest.approx((same.x(), same.y()))
    # at 2x, screen pixels 0.5 image pixels apart
    assert tool.events[2][1] - tool.events[1][1] == pytest.approx(20.0)


def test_cursor_moved_reports_image_coordinates_or_none(canvas):
    canvas.set_document(make_doc(gradient_image(20, 30)))
    canvas.actual_size()
    seen = []
    canvas.cursorMoved.connect(seen.append)
    r = canvas.image_rect_on_screen()
    send_mouse(canvas.viewport(), QEvent.Type.MouseMove, QPointF(r.x() + 3, r.y() + 4), Qt.MouseButton.NoButton,
               Qt.MouseButton.NoButton)
    send_mouse(canvas.viewport(), QEvent.Type.MouseMove, QPointF(1, 1), Qt.MouseButton.NoButton,
               Qt.MouseButton.NoButton)
    assert seen[0] == pytest.approx((3.5, 4.5))
    assert seen[1] is None


def test_space_drag_pans_and_does_not_reach_the_tool(canvas, qtbot):
    canvas.set_document(make_doc(gradient_image(900, 1200)))
    canvas.actual_size()
    tool = FakeTool()
    canvas.set_tool(tool)
    canvas.setFocus()
    r0 = canvas.visible_image_rect()
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    assert canvas.space_held()
    vp = canvas.viewport()
    send_mouse(vp, QEvent.Type.MouseButtonPress, QPointF(200, 150))
    send_mouse(vp, QEvent.Type.MouseMove, QPointF(150, 100), Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, QPointF(150, 100))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert not canvas.space_held()
    r1 = canvas.visible_image_rect()
    assert (r1.x() - r0.x(), r1.y() - r0.y()) == (50, 50)
    assert [e for e in tool.events if e[0] != "hover"] == []
    # without Space the tool gets the button again
    send_mouse(vp, QEvent.Type.MouseButtonPress, QPointF(200, 150))
    send_mouse(vp, QEvent.Type.MouseButtonRelease, QPointF(200, 150))
    assert [e[0] for e in tool.events if e[0] != "hover"] == ["press", "release"]


def test_brush_cursor_is_drawn_at_the_pointer(canvas):
    px = np.full((300, 400, 3), 128, np.uint8)
    canvas.set_document(make_doc(px))
    canvas.set_zoom(2.0)
    canvas.set_tool(FakeTool(diameter=20))  # 40 screen pixels at 200 %
    send_mouse(canvas.viewport(), QEvent.Type.MouseMove, QPointF(200, 150), Qt.MouseButton.NoButton,
               Qt.MouseButton.NoButton)
    img = grab(canvas)
    ring = [rgb_at(img, 200 + dx, 150) for dx in range(15, 26)]
    assert any(c[0] < 60 for c in ring) and any(c[0] > 200 for c in ring)  # dark and light
    assert rgb_at(img, 200, 150) == (128, 128, 128)  # the inside is not covered
    canvas.set_tool(None)
    img = grab(canvas)
    assert all(rgb_at(img, 200 + dx, 150) == (128, 128, 128) for dx in range(15, 26))


# -- overlays and repaints ----------------------------------------------------------------------
def test_overlay_colours_appear_where_the_mask_is_set(canvas):
    px = np.full((300, 400, 3), 100 * 257, np.uint16)
    doc = make_doc(px)
    canvas.set_document(doc)
    canvas.actual_size()
    with doc.edit("mark") as rec:
        rec.touch(CRACK, 100, 100, 120, 140)
        doc.layer_array(CRACK)[100:120, 100:140] = True
    canvas.set_layer_opacity(CRACK, 1.0)
    img = grab(canvas)
    inside = screen_of(canvas, 120.5, 110.5)
    outside = screen_of(canvas, 160.5, 110.5)
    assert rgb_at(img, inside.x(), inside.y()) == STYLES[DamageClass.CRACK].color
    assert rgb_at(img, outside.x(), outside.y()) == (100, 100, 100)
    canvas.set_layer_opacity(CRACK, 0.5)
    img = grab(canvas)
    got = np.array(rgb_at(img, inside.x(), inside.y()))
    expected = (np.array(STYLES[DamageClass.CRACK].color) + 100) / 2
    assert np.abs(got - expected).max() <= 2
    canvas.set_layer_visible(CRACK, False)
    img = grab(canvas)
    assert rgb_at(img, inside.x(), inside.y()) == (100, 100, 100)
    # outline mode: the edge is coloured, the inside is not
    canvas.set_layer_visible(CRACK, True)
    canvas.set_outline_mode(True)
    img = grab(canvas)
    edge = screen_of(canvas, 100.5, 110.5)
    assert rgb_at(img, edge.x(), edge.y()) == STYLES[DamageClass.CRACK].color
    assert rgb_at(img, inside.x(), inside.y()) == (100, 100, 100)


def test_thin_crack_stays_visible_when_zoomed_out(canvas):
    px = np.full((2000, 3000, 3), 200, np.uint8)
    doc = make_doc(px)
    with doc.edit("crack") as rec:
        rec.touch(CRACK, 0, 1501, 2000, 1502)
        doc.layer_array(CRACK)[:, 1501] = True
    canvas.set_document(doc)
    canvas.set_layer_opacity(CRACK, 1.0)
    assert canvas.zoom() < 0.2
    img = grab(canvas)
    y = screen_of(canvas, 0, 1000).y()
    row = [rgb_at(img, x, y) for x in range(img.width())]
    assert STYLES[DamageClass.CRACK].color in row


def test_brush_event_repaints_only_the_changed_region(canvas, qtbot):
    px = np.full((2000, 3000, 3), 90, np.uint8)
    doc = make_doc(px)
    canvas.set_document(doc)
    canvas.actual_size()
    canvas.center_on(1500, 1000)
    grab(canvas)  # every visible tile is made
    qtbot.wait(50)  # and pending repaints are done
    ov = canvas.overlay_renderer()
    base_before = canvas.base_tiles_rendered
    ov_before = canvas.overlay_tiles_rendered
    made, updated = ov.tiles_computed, ov.tiles_updated
    canvas.last_paint_rect = QRect()
    stroke = doc.begin_stroke(CRACK, Brush(10), False)
    stroke.add_point(1500.5, 1000.5)
    expected = canvas.map_from_image(QPointF(1500.5, 1000.5))
    qtbot.waitUntil(lambda: canvas.last_paint_rect.contains(expected.toPoint()), timeout=2000)
    stroke.end()
    r = canvas.last_paint_rect
    assert r.width() <= 20 and r.height() <= 20
    assert canvas.base_tiles_rendered == base_before  # the scan is not redrawn
    assert canvas.overlay_tiles_rendered - ov_before <= 4  # one screen tile, four at a corner
    assert ov.tiles_computed == made
    assert 1 <= ov.tiles_updated - updated <= 4
    img = grab(canvas)
    s = screen_of(canvas, 1500.5, 1000.5)
    assert rgb_at(img, s.x(), s.y()) != (90, 90, 90)


def test_switching_documents_stops_listening_to_the_old_one(canvas):
    old = make_doc(np.zeros((50, 50, 3), np.uint8))
    canvas.set_document(old)
    canvas.set_document(make_doc(np.zeros((60, 60, 3), np.uint8)))
    assert old._listeners == []
    canvas.set_document(None)
    assert canvas.visible_image_rect().isEmpty()
    grab(canvas)  # paints the empty view


def test_display_candidate_shows_its_patches(canvas):
    px = np.full((100, 120, 3), 50, np.uint8)
    doc = make_doc(px)
    mask = np.ones((10, 10), bool)
    cand = Candidate(Provenance("test", {}), [Patch(20, 30, np.full((10, 10, 3), 250, np.uint8), mask)])
    doc.add_candidate(cand)
    canvas.set_document(doc)
    canvas.actual_size()
    s = screen_of(canvas, 35.5, 25.5)
    assert rgb_at(grab(canvas), s.x(), s.y()) == (50, 50, 50)
    canvas.set_display_candidate(cand.id)
    assert rgb_at(grab(canvas), s.x(), s.y()) == (250, 250, 250)
    doc.remove_candidate(cand.id)  # shown candidate gone: back to the original
    assert canvas.display_candidate() is None
    assert rgb_at(grab(canvas), s.x(), s.y()) == (50, 50, 50)


def test_screen_tiles_are_reused_while_panning(canvas):
    canvas.set_document(make_doc(gradient_image(2000, 3000)))
    canvas.actual_size()
    grab(canvas)
    made = canvas.base_tiles_rendered
    canvas.pan_by(3, 2)
    grab(canvas)
    # a small pan needs at most the row and column of tiles it uncovers
    assert canvas.base_tiles_rendered - made <= (400 // SCREEN_TILE + 2) + (300 // SCREEN_TILE + 2)


# -- navigator ------------------------------------------------------------------------------
def test_navigator_click_centres_the_canvas(canvas, qtbot):
    canvas.set_document(make_doc(quadrant_image(900, 1200)))
    canvas.set_zoom(2.0)
    nav = NavigatorWidget()
    qtbot.addWidget(nav)
    nav.resize(240, 180)
    nav.set_canvas(canvas)
    nav.show()
    qtbot.waitExposed(nav)
    target = nav.map_to_image(QPointF(60, 45))
    assert target is not None
    qtbot.mouseClick(nav, Qt.MouseButton.LeftButton, pos=QPoint(60, 45))
    c = canvas.visible_image_rect().center()
    assert abs(c.x() - target.x()) <= 1 and abs(c.y() - target.y()) <= 1
    # the overview shows the image, and a grab paints the view rectangle without error
    img = nav.grab().toImage()
    p = QPointF(200, 140)
    q = nav.map_to_image(p)
    assert q.x() > 600 and q.y() > 450
    col = img.pixelColor(int(p.x()), int(p.y()))
    assert col.red() > 100 and col.green() > 100 and col.blue() < 80  # the yellow quadrant

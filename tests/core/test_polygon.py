import numpy as np

from muralstudio.core.polygon import polygon_mask


def test_rectangle_polygon_marks_pixel_centres_inside():
    rect, m = polygon_mask([(2, 3), (10, 3), (10, 7), (2, 7)], (20, 20))
    full = np.zeros((20, 20), bool)
    y0, x0, y1, x1 = rect
    full[y0:y1, x0:x1] = m
    ref = np.zeros((20, 20), bool)
    ref[3:7, 2:10] = True
    assert np.array_equal(full, ref)


def test_triangle_area_and_self_intersecting_even_odd():
    rect, m = polygon_mask([(0, 0), (100, 0), (0, 100)], (200, 200))
    assert abs(int(m.sum()) - 5000) < 120
    _, bow = polygon_mask([(0, 0), (40, 40), (40, 0), (0, 40)], (50, 50))  # bow tie
    assert bow[20, 5] and bow[20, 35] and not bow[5, 20] and not bow[35, 20]


def test_degenerate_and_outside():
    assert polygon_mask([(1, 1), (5, 5)], (10, 10)) is None
    assert polygon_mask([(-20, -20), (-10, -20), (-10, -10)], (10, 10)) is None
    rect, m = polygon_mask([(-5, -5), (50, -5), (50, 50), (-5, 50)], (10, 10))
    assert rect == (0, 0, 10, 10) and m.all()

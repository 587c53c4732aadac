"""Stray dots in a fill: found and refilled; lines, the rim of the hole and known pixels kept."""

import cv2
import numpy as np

from muralstudio.ops.specks import find_specks, remove_specks


def scene():
    """A light ochre fill with a dark dot and a bright dot deep in a hole, and a thin dark line."""
    img = np.zeros((120, 160, 3), np.float32) + (0.75, 0.62, 0.45)
    cv2.circle(img, (40, 60), 3, (0.1, 0.08, 0.06), -1)
    cv2.circle(img, (80, 40), 2, (1.0, 1.0, 1.0), -1)
    cv2.line(img, (100, 30), (140, 90), (0.15, 0.1, 0.1), 2)
    hole = np.zeros((120, 160), bool)
    hole[10:110, 10:150] = True
    return img, hole


def test_dots_are_found_and_the_line_is_not():
    img, hole = scene()
    found = find_specks(img, hole)
    assert found[60, 40] and found[40, 80]
    line = np.zeros(hole.shape, np.uint8)
    cv2.line(line, (100, 30), (140, 90), 1, 2)
    assert not (found & line.astype(bool)).any()


def test_removal_refills_dots_from_their_surroundings_inside_the_hole_only():
    img, hole = scene()
    img[0:5, 0:5] = 0.0  # a dark corner outside the hole stays as it is
    out, changed = remove_specks(img, hole)
    assert changed > 0
    assert np.allclose(out[60, 40], (0.75, 0.62, 0.45), atol=0.03)
    assert np.allclose(out[40, 80], (0.75, 0.62, 0.45), atol=0.03)
    assert np.array_equal(out[~hole], img[~hole])
    assert out[60, 120].max() < 0.3  # on the line: unchanged
    assert out.dtype == img.dtype


def test_dots_near_the_intact_paint_and_clean_fills_are_left_alone():
    img, hole = scene()
    edge = np.zeros_like(hole)
    edge[55:66, 36:150] = True  # the dark dot now sits 2 px from the hole's edge
    assert not find_specks(img, edge)[60, 40]
    flat = np.full((64, 64, 3), 0.5, np.float32)
    out, changed = remove_specks(flat, np.ones((64, 64), bool))
    assert changed == 0 and out is flat
    assert not find_specks(img, np.zeros_like(hole)).any()


def test_grey_fills_work_too():
    img, hole = scene()
    out, changed = remove_specks(img[..., :1].copy(), hole)
    assert changed > 0 and out.shape == (120, 160, 1)

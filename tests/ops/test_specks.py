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



def test_dots_hidden_beside_others_go_in_later_rounds_and_leave_no_edge():
    """Ten dots of three shades, some touching: a part too large to be a dot in the first
    round becomes one once its neighbour is refilled."""
    rng = np.random.default_rng(45)
    img = np.zeros((120, 160, 3), np.float32) + (0.6, 0.55, 0.5)
    for _ in range(10):
        x, y, r = int(rng.integers(25, 135)), int(rng.integers(25, 95)), int(rng.integers(2, 8))
        v = float(rng.choice([0.0, 0.45, 1.0]))
        cv2.circle(img, (x, y), r, (v, v, v), -1)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    hole = np.zeros((120, 160), bool)
    hole[10:110, 10:150] = True
    once, _ = remove_specks(img, hole, passes=1)
    assert find_specks(once, hole).sum() > 100  # one round leaves dots
    out, changed = remove_specks(img, hole)
    assert changed > 0 and not find_specks(out, hole).any()
    # the refills fade into the fill: no step between neighbouring hole pixels at their edges
    inner = hole & np.roll(hole, 1, axis=1)
    assert np.abs(np.diff(out, axis=1)).max(axis=2)[inner[:, 1:]].max() < 0.08


def test_without_a_rim_only_the_dots_change():
    img, hole = scene()
    out, changed = remove_specks(img, hole, rim=0)
    found = find_specks(img, hole)
    assert changed == found.sum() > 0
    assert np.array_equal(out[~found], img[~found])

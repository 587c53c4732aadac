"""Guide lines: edge maps, shrinking lines, guides found around damage."""

import numpy as np

from muralstudio.ops.guides import auto_guide, edge_map, near_hole, shrink_lines


def step_image(h=64, w=64):
    img = np.full((h, w, 3), 0.2, np.float32)
    img[h // 2 :, :] = 0.8
    return img


def test_edge_map_finds_a_step_edge_only_where_it_is():
    edges = edge_map(step_image())
    rows = np.nonzero(edges.any(axis=1))[0]
    assert edges.any() and rows.min() >= 28 and rows.max() <= 35


def test_shrunk_line_stays_connected_and_thin():
    lines = np.zeros((512, 512), bool)
    rr = np.arange(512)
    lines[rr, rr] = True  # a one-pixel diagonal
    small = shrink_lines(lines, (64, 64))
    assert small[np.arange(64), np.arange(64)].all()
    assert small.sum() < 64 * 4
    assert shrink_lines(lines, (512, 512)).sum() == 512
    big = shrink_lines(small, (128, 128))
    assert big.sum() < 128 * 6


def test_auto_guide_carries_an_edge_across_a_hole_and_stays_near_it():
    img = step_image()
    hole = np.zeros((64, 64), bool)
    hole[20:44, 24:40] = True
    damaged = img.copy()
    damaged[hole] = 0.0
    guide = auto_guide(damaged, hole)
    assert guide[28:36, 26:38].any()  # the step continues through the hole
    assert not (guide & ~near_hole(hole)).any()

"""Pyramid levels: which level a zoom reads, for images and for mask overlays."""

from __future__ import annotations

import numpy as np

from muralstudio.gui.levels import level_for_zoom, overlay_level_for_zoom
from muralstudio.gui.pyramid import DisplayPyramid


def test_level_for_zoom():
    assert level_for_zoom(8.0) == 0
    assert level_for_zoom(1.0) == 0
    assert level_for_zoom(0.9) == 0
    assert level_for_zoom(0.5) == 1
    assert level_for_zoom(0.49) == 1
    assert level_for_zoom(0.25) == 2
    assert level_for_zoom(0.122) == 3
    assert level_for_zoom(1 / 64) == 6
    assert level_for_zoom(1 / 64, max_level=4) == 4
    assert overlay_level_for_zoom(1.0) == 0
    assert overlay_level_for_zoom(0.9) == 1
    assert overlay_level_for_zoom(0.5) == 1
    assert overlay_level_for_zoom(0.122) == 4
    pyr = DisplayPyramid(np.zeros((100, 300, 3), np.uint8))
    assert pyr.level_shape(pyr.max_level) == (1, 1)
    assert pyr.level_for_zoom(1e-6) == pyr.max_level

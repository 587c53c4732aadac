"""Colour hints as network input and as a direct correction of a result."""

import numpy as np

from muralstudio.ops.hints import HINT_RADIUS, hint_maps, spread_hints


def test_hint_maps_draw_discs_of_the_hint_colour():
    ab, where = hint_maps((20, 30), [(5, 7, 12.0, -4.0)])
    assert where[5, 7] == 1 and where[5, 7 + HINT_RADIUS] == 1 and where[5, 7 + HINT_RADIUS + 1] == 0
    assert tuple(ab[5, 7]) == (12.0, -4.0) and not ab[15, 20].any()


def flat(h=60, w=80, lightness=50.0):
    return np.zeros((h, w, 2), np.float32), np.full((h, w), lightness, np.float32), np.ones((h, w), bool)


def test_no_hints_changes_nothing():
    ab, light, region = flat()
    ab[..., 0] = 3.0
    assert np.array_equal(spread_hints(ab, light, region, []), ab)


def test_a_hint_pulls_nearby_colour_and_fades_with_distance():
    ab, light, region = flat()
    out = spread_hints(ab, light, region, [(30, 10, 20.0, -10.0)], sigma=10)
    near, far = out[30, 10], out[30, 70]
    assert near[0] > 8 and near[1] < -4  # about half way at the hint (floor 1, weight 1)
    assert np.abs(far).max() < 0.01
    assert np.all(np.diff(out[30, 10:40, 0]) <= 0)  # falls off along the row
    assert np.allclose(out[..., 0] * -0.5, out[..., 1], atol=1e-5)  # the hint's own direction


def test_lightness_and_region_limit_the_pull():
    ab, light, region = flat()
    light[:, 40:] = 80.0  # a bright area right beside the hint
    region[:, 60:] = False
    out = spread_hints(ab, light, region, [(30, 38, 20.0, 0.0)], sigma=10)
    assert out[30, 36, 0] > 5 * out[30, 42, 0]  # same distance, other lightness: far less
    assert not out[:, 60:].any()  # outside the region nothing changes


def test_the_correction_is_relative_to_what_is_there():
    ab, light, region = flat()
    ab[...] = (20.0, -10.0)  # already the hint's colour
    out = spread_hints(ab, light, region, [(30, 30, 20.0, -10.0)])
    assert np.allclose(out, ab)
    out = spread_hints(ab, light, region, [(-5, 30, 0.0, 0.0), (30, 200, 0.0, 0.0)])  # off the image
    assert np.array_equal(out, ab)

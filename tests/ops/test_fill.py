"""Smooth push-pull fill of holes."""

import numpy as np

from muralstudio.ops.fill import smooth_fill


def test_known_pixels_unchanged_and_hole_values_between_the_surroundings():
    rng = np.random.default_rng(0)
    img = rng.random((40, 50, 3)).astype(np.float32)
    hole = np.zeros((40, 50), bool)
    hole[10:30, 15:35] = True
    out = smooth_fill(img, hole)
    assert np.array_equal(out[~hole], img[~hole])
    assert out[hole].min() >= img[~hole].min() - 1e-6 and out[hole].max() <= img[~hole].max() + 1e-6


def test_constant_surroundings_fill_with_that_constant_and_a_ramp_stays_a_ramp():
    img = np.full((33, 33, 1), 0.3, np.float32)
    hole = np.zeros((33, 33), bool)
    hole[5:28, 5:28] = True
    img[hole] = 0.9  # garbage under the hole is never looked at
    assert np.allclose(smooth_fill(img, hole)[hole], 0.3, atol=1e-5)
    ramp = np.repeat(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], 64, axis=0)
    hole = np.zeros((64, 64), bool)
    hole[:, 28:36] = True
    out = smooth_fill(ramp, hole)[32, 26:38, 0]
    assert (np.diff(out) > 0).all()


def test_all_hole_is_mid_grey():
    out = smooth_fill(np.zeros((8, 8, 3), np.float32), np.ones((8, 8), bool))
    assert np.allclose(out, 0.5)

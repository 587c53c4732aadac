"""The guided filter: edges of the guide kept, constants kept, shapes and dtypes."""

import cv2
import numpy as np
import pytest

from muralstudio.ops.guided import box_mean, guided_filter


def step_guide(h=40, w=60, at=30):
    g = np.zeros((h, w), np.float32)
    g[:, at:] = 1.0
    return g


@pytest.mark.parametrize("subsample", [1, 2])
def test_blurred_step_comes_back_as_a_step_where_the_guide_has_an_edge(subsample):
    guide = step_guide()
    truth = np.stack([guide * 10.0, guide * -4.0], -1)  # a two-channel step like a chroma change
    blurred = cv2.GaussianBlur(truth, (0, 0), 3).reshape(truth.shape)
    out = guided_filter(guide, blurred, radius=8, eps=1e-3, subsample=subsample)
    assert out.shape == truth.shape and out.dtype == np.float32
    # most of the change now happens between the two columns either side of the edge ...
    jump = out[:, 30] - out[:, 29]
    assert np.all(jump[:, 0] > 5.0) and np.all(jump[:, 1] < -2.0)
    assert np.all(jump[:, 0] > 4 * (blurred[:, 30, 0] - blurred[:, 29, 0]))
    # ... so less colour lies on the wrong side of it
    assert np.abs(out - truth)[:, 24:36].mean() < 0.7 * np.abs(blurred - truth)[:, 24:36].mean()


def test_constant_src_stays_constant_and_flat_guide_smooths():
    rng = np.random.default_rng(0)
    guide = rng.random((33, 47)).astype(np.float32)
    const = np.full((33, 47, 3), 2.5, np.float32)
    np.testing.assert_allclose(guided_filter(guide, const, 4, 1e-3), 2.5, atol=1e-4)
    np.testing.assert_allclose(guided_filter(guide, const, 4, 1e-3, subsample=2), 2.5, atol=1e-4)
    noise = rng.normal(0, 1, (33, 47)).astype(np.float32)
    out = guided_filter(np.zeros((33, 47), np.float32), noise, 3, 1e-3)  # no edges: a box blur
    assert out.shape == noise.shape and out.std() < noise.std() / 3


def test_small_images_large_radius_and_shape_checks():
    g = np.random.default_rng(1).random((3, 5)).astype(np.float32)
    s = np.ones((3, 5, 1), np.float32)
    np.testing.assert_allclose(guided_filter(g, s, 20, 1e-2), 1.0, atol=1e-4)
    assert box_mean(np.ones((1, 1, 2), np.float32), 5).shape == (1, 1, 2)
    assert np.array_equal(guided_filter(g, s, 0, 1e-3), s)
    with pytest.raises(ValueError):
        guided_filter(g, np.ones((4, 5)), 2, 1e-3)

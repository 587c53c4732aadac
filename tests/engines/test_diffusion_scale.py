"""Coarse-to-fine plans, padding and frequency fusion of the diffusion engine."""

import numpy as np

from muralstudio.engines.diffusion_scale import Scale, fuse, pad_to, plan_scales, scale_inputs


def test_small_region_is_one_scale_at_its_own_size():
    assert plan_scales(200, 180, 256, 3, 20, 0.5) == [Scale(200, 180, 20, 1.0)]


def test_large_region_doubles_from_the_coarse_size_up_to_the_scale_count():
    plan = plan_scales(1000, 500, 256, 2, 20, 0.5)
    assert plan == [Scale(256, 128, 20, 1.0), Scale(512, 256, 10, 0.5)]
    assert plan_scales(600, 600, 256, 5, 20, 0.4)[-1] == Scale(600, 600, 8, 0.4)


def test_pad_to_multiple():
    arr, size = pad_to(np.zeros((13, 17, 3)), 8)
    assert arr.shape == (16, 24, 3) and size == (13, 17)


def test_scale_inputs_mark_any_covered_pixel_as_hole():
    img = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    hole = np.zeros((64, 64), bool)
    hole[10, 10] = True
    _, small, guide = scale_inputs(img, hole, np.zeros_like(hole), Scale(16, 16, 4, 1.0))
    assert small[2, 2] and small.sum() == 1 and not guide.any()


def test_fuse_takes_low_frequencies_from_coarse_and_detail_from_fine():
    rng = np.random.default_rng(1)
    coarse = np.full((64, 64, 3), 0.3, np.float32)
    fine = (0.7 + 0.1 * rng.standard_normal((64, 64, 3))).astype(np.float32)
    hole = np.zeros((64, 64), bool)
    hole[16:48, 16:48] = True
    out = fuse(coarse, fine, hole, 2.0)
    assert np.array_equal(out[~hole], fine[~hole])
    assert abs(out[24:40, 24:40].mean() - 0.3) < 0.05
    assert out[24:40, 24:40].std() > 0.05

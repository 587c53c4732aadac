"""Detail balancing of a fill against the intact ring around its hole."""

import cv2
import numpy as np

from muralstudio.ops.metrics import hole_sharpness
from muralstudio.ops.texture import balance_detail, band_stack, ring_of


def _textured(seed: int = 0, size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0.3, 0.7, size, dtype=np.float32)[None, :, None] * np.ones((size, 1, 3), np.float32)
    return np.clip(base + 0.08 * rng.standard_normal((size, size, 3)).astype(np.float32), 0, 1)


def _hole(size: int = 96) -> np.ndarray:
    hole = np.zeros((size, size), bool)
    hole[30:66, 30:66] = True
    return hole


def test_bands_and_rest_sum_to_the_image():
    img = _textured()
    bands, rest = band_stack(img)
    assert np.allclose(sum(bands) + rest, img, atol=1e-5)


def test_ring_is_intact_pixels_near_the_hole_only():
    hole = _hole()
    ring = ring_of(hole, 4)
    assert not (ring & hole).any()
    assert ring[28, 40] and not ring[20, 40]


def test_a_smooth_fill_gets_the_texture_energy_of_its_surroundings_and_known_pixels_stay():
    truth, hole = _textured(), _hole()
    smooth = truth.copy()
    blurred = cv2.GaussianBlur(truth, (0, 0), 2.0)
    smooth[hole] = blurred[hole]  # a fill with the right colours but too little detail
    noisy = np.random.default_rng(1).standard_normal(truth.shape).astype(np.float32) * 0.04
    smooth[hole] += noisy[hole]  # a little grain for the bands to scale
    before = hole_sharpness(smooth, truth, hole)
    out = balance_detail(smooth, hole)
    after = hole_sharpness(out, truth, hole)
    assert before < 0.6 and 0.8 < after < 1.25
    assert np.array_equal(out[~hole], smooth[~hole])


def test_amount_zero_and_a_hole_without_surroundings_leave_the_image():
    img, hole = _textured(), _hole()
    assert np.array_equal(balance_detail(img, hole, amount=0.0), img)
    everything = np.ones(hole.shape, bool)
    assert np.array_equal(balance_detail(img, everything), img)


def test_a_harsh_fill_is_calmed_down():
    truth, hole = _textured(), _hole()
    harsh = truth.copy()
    harsh[hole] = np.clip(0.5 + 0.3 * np.random.default_rng(2).standard_normal((hole.sum(), 3)), 0, 1)
    out = balance_detail(harsh, hole)
    assert hole_sharpness(out, truth, hole) < hole_sharpness(harsh, truth, hole)


def test_unrestored_damage_in_the_ring_is_not_taken_as_the_paints_texture():
    truth, hole = _textured(), _hole()
    smooth = truth.copy()
    smooth[hole] = cv2.GaussianBlur(truth, (0, 0), 2.0)[hole]
    smooth[hole] += np.random.default_rng(1).standard_normal((hole.sum(), 3)).astype(np.float32) * 0.04
    cracks = np.zeros(hole.shape, bool)
    cracks[20:76:4, 20:76] = True  # dark lines all through the ring, left for another engine
    cracks &= ~hole
    cracked = smooth.copy()
    cracked[cracks] = 0.0
    plain = balance_detail(smooth, hole)
    fooled = balance_detail(cracked, hole)
    told = balance_detail(cracked, hole, unrestored=cracks)
    energy = [float(np.abs(np.diff(x[hole].reshape(36, 36, 3), axis=1)).mean()) for x in (plain, fooled, told)]
    assert energy[1] > 1.15 * energy[0]  # the cracks' edges read as grain the fill should have
    assert abs(energy[2] - energy[0]) < 0.1 * energy[0]
    assert np.array_equal(told[~hole], cracked[~hole])

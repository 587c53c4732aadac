"""Lab conversion, CIEDE2000, gamut fitting and the colour-statistics baseline."""

import numpy as np
import pytest

from muralstudio.ops.colour import (
    ciede2000,
    grey_lightness,
    lab_to_linear,
    lab_to_rgb_in_gamut,
    linear_to_rgb,
    lightness_prior,
    match_surroundings,
    prior_ab,
    region_depth,
    rgb_to_lab,
)

# Pairs and differences from Sharma, Wu and Dalal (2005), the CIEDE2000 test data.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0009), 7.1792),
    ((50.0, 2.5000, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA)
def test_ciede2000_matches_published_pairs(lab1, lab2, expected):
    assert float(ciede2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)
    assert float(ciede2000(np.array(lab2), np.array(lab1))) == pytest.approx(expected, abs=1e-4)


def test_lab_agrees_with_scikit_image_and_round_trips():
    color = pytest.importorskip("skimage.color")
    rgb = np.random.default_rng(0).random((40, 50, 3)).astype(np.float32)
    lab = rgb_to_lab(rgb)
    assert np.abs(lab - color.rgb2lab(rgb)).max() < 0.01
    assert np.abs(linear_to_rgb(lab_to_linear(lab)) - rgb).max() < 1e-4
    other = rgb_to_lab(np.random.default_rng(1).random((40, 50, 3)).astype(np.float32))
    assert np.abs(ciede2000(lab, other) - color.deltaE_ciede2000(lab, other)).max() < 1e-3


def test_integer_and_grey_inputs():
    rgb8 = np.array([[[255, 0, 0], [128, 128, 128]]], np.uint8)
    assert np.allclose(rgb_to_lab(rgb8), rgb_to_lab(rgb8.astype(np.float32) / 255), atol=1e-4)
    grey = np.array([[[0.0], [0.5], [1.0]]], np.float32)
    lab = rgb_to_lab(grey)
    assert np.allclose(lab[..., 1:], 0) and np.allclose(lab[..., 0], [[0, 53.389, 100]], atol=0.01)
    assert np.allclose(grey_lightness(grey[..., 0]), lab[..., 0])


def test_gamut_fitting_keeps_lightness_and_hue():
    lab = rgb_to_lab(np.random.default_rng(2).random((30, 30, 3)).astype(np.float32))
    lab[..., 1:] *= 3  # far outside sRGB
    rgb = lab_to_rgb_in_gamut(lab)
    assert rgb.min() >= 0 and rgb.max() <= 1
    back = rgb_to_lab(rgb)
    assert np.abs(back[..., 0] - lab[..., 0]).max() < 0.05
    hue = lambda x: np.angle(x[..., 1] + 1j * x[..., 2])  # noqa: E731
    chroma = np.hypot(back[..., 1], back[..., 2])
    diff = np.abs(np.angle(np.exp(1j * (hue(back) - hue(lab)))))
    assert diff[chroma > 5].max() < 0.05


def test_match_surroundings_takes_the_ring_colour_and_keeps_lightness():
    lab = np.zeros((80, 80, 3), np.float32)
    lab[..., 0] = np.linspace(30, 70, 80)[None]
    lab[..., 1], lab[..., 2] = 20.0, -10.0
    mask = np.zeros((80, 80), bool)
    mask[30:50, 30:50] = True
    lab[mask, 1:] = 0  # a grey patch in red-blue paint
    out = match_surroundings(lab, mask, ring=8)
    assert np.allclose(out[mask, 1:], [20.0, -10.0]) and np.array_equal(out[..., 0], lab[..., 0])
    assert np.array_equal(out[~mask], lab[~mask])
    everything = np.ones((80, 80), bool)
    assert np.array_equal(match_surroundings(lab, everything), lab)  # nothing around: unchanged
    prior = np.stack([np.linspace(-5, 5, 50), np.full(50, 9.0)], 1).astype(np.float32)
    guessed = match_surroundings(lab, everything, prior=prior)  # ... or the prior's colour per lightness
    assert np.array_equal(guessed[..., 0], lab[..., 0])
    np.testing.assert_array_equal(guessed[..., 1:], prior_ab(lab[..., 0], prior))


def test_lightness_prior_is_the_mean_colour_per_lightness():
    lab = np.zeros((10, 20, 3), np.float32)
    lab[:, :10] = (25.0, 30.0, 10.0)  # dark red paint
    lab[:, 10:] = (81.0, -4.0, 20.0)  # light ochre ground
    lab[0, 0] = (25.5, 10.0, 0.0)
    prior = lightness_prior([lab, lab], bins=50)
    assert prior.shape == (50, 2) and prior.dtype == np.float32
    np.testing.assert_allclose(prior[12], [(99 * 30 + 10) / 100, 99 * 10 / 100], rtol=1e-5)  # L 24–26
    np.testing.assert_allclose(prior[40], [-4.0, 20.0])
    assert not prior[[0, 20, 49]].any()  # no paint of that lightness: neutral
    np.testing.assert_array_equal(prior_ab(np.array([25.0, 81.0, 150.0]), prior), prior[[12, 40, 49]])


def test_region_depth_is_relative_per_region_and_absolute_in_units():
    mask = np.zeros((80, 120), bool)
    mask[10:30, 10:110] = True  # 20 px thick: deepest about 10 px from the edge
    mask[40:76, 10:46] = True  # 36 px square: deepest about 18 px
    depth = region_depth(mask, unit=10.0)
    assert depth.shape == (80, 120, 2) and depth.dtype == np.float32
    assert not depth[~mask].any()
    assert depth[20, 60, 0] == pytest.approx(1.0) and depth[58, 28, 0] == pytest.approx(1.0)
    assert depth[10, 60, 0] < 0.15 and depth[40, 28, 0] < 0.1  # at each region's edge
    assert depth[20, 60, 1] == pytest.approx(1.0, abs=0.1)  # 10 px deep in units of 10
    assert depth[58, 28, 1] == pytest.approx(1.8, abs=0.1)
    whole = region_depth(np.ones((20, 20), bool))  # a grey photograph has no edge inside
    assert (whole[..., 0] == 1).all() and (whole[..., 1] == 3).all()
    assert not region_depth(np.zeros((5, 5), bool)).any()

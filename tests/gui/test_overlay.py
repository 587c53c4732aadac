"""Mask overlays (Qt-free), checked against direct computations."""

from __future__ import annotations

import numpy as np

from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.gui.overlay import OverlayRenderer, any_blocks


# -- references ---------------------------------------------------------------------------
def ref_pool(mask: np.ndarray, level: int) -> np.ndarray:
    f = 1 << level
    h, w = mask.shape
    gh, gw = -(-h // f), -(-w // f)
    out = np.zeros((gh, gw), bool)
    for i in range(gh):
        for j in range(gw):
            out[i, j] = mask[i * f : (i + 1) * f, j * f : (j + 1) * f].any()
    return out


# -- overlays ------------------------------------------------------------------------------
CRACK = "mask:crack"
LOSS = "mask:loss"


def make_layers(shape):
    layers = {k: np.zeros(shape, bool) for k in ("mask:crack", "mask:flaking", "mask:loss", "mask:stain", "mask:fading", "guide")}
    return layers


def test_any_blocks_matches_reference():
    rng = np.random.default_rng(5)
    for shape in [(37, 53), (64, 64), (3, 129), (1, 1)]:
        m = rng.random(shape) < 0.02
        for level in range(5):
            np.testing.assert_array_equal(any_blocks(m, 1 << level), ref_pool(m, level))


def test_fill_overlay_colour_and_opacity():
    layers = make_layers((20, 30))
    layers[CRACK][5, 7] = True
    layers[LOSS][10:12, 10:14] = True
    ov = OverlayRenderer(layers.__getitem__, (20, 30), tile=8)
    ov.set_style(CRACK, opacity=0.4)
    ov.set_style(LOSS, opacity=1.0)
    out = ov.region(0, 0, 0, 20, 30)
    assert out.shape == (20, 30, 4)
    assert tuple(out[5, 7]) == (*STYLES[DamageClass.CRACK].color, round(0.4 * 255))
    assert tuple(out[10, 13]) == (*STYLES[DamageClass.LOSS].color, 255)
    assert out[0, 0, 3] == 0 and out[5, 8, 3] == 0
    assert int((out[:, :, 3] > 0).sum()) == 1 + 8
    # hidden layers are not drawn
    ov.set_style(LOSS, visible=False)
    out = ov.region(0, 0, 0, 20, 30)
    assert out[10, 13, 3] == 0 and out[5, 7, 3] > 0


def test_later_layer_draws_over_earlier():
    layers = make_layers((4, 4))
    layers[LOSS][1, 1] = True
    layers[CRACK][1, 1] = True
    ov = OverlayRenderer(layers.__getitem__, (4, 4))
    ov.set_style(CRACK, opacity=1.0)
    assert tuple(ov.region(0, 0, 0, 4, 4)[1, 1, :3]) == STYLES[DamageClass.CRACK].color
    ov.set_style(CRACK, opacity=0.5)
    ov.set_style(LOSS, opacity=0.5)
    px = ov.region(0, 0, 0, 4, 4)[1, 1]
    assert px[3] == round(0.75 * 255)
    crack, loss = np.array(STYLES[DamageClass.CRACK].color), np.array(STYLES[DamageClass.LOSS].color)
    expected = (crack * 0.5 + loss * 0.25) / 0.75
    assert np.abs(px[:3].astype(int) - np.rint(expected)).max() <= 1


def test_premultiplied_bgra_output():
    layers = make_layers((3, 3))
    layers[CRACK][1, 1] = True
    ov = OverlayRenderer(layers.__getitem__, (3, 3), premultiplied_bgra=True)
    ov.set_style(CRACK, color=(200, 100, 50), opacity=0.5)
    b, g, r, a = ov.region(0, 0, 0, 3, 3)[1, 1]
    assert a == 128
    assert (r, g, b) == tuple((v * 128 + 127) // 255 for v in (200, 100, 50))


def test_outline_draws_only_the_boundary_opaque():
    layers = make_layers((12, 12))
    layers[LOSS][2:8, 3:10] = True
    ov = OverlayRenderer(layers.__getitem__, (12, 12), tile=5)
    ov.set_style(LOSS, opacity=0.3)
    ov.set_mode("outline")
    a = ov.region(0, 0, 0, 12, 12)[:, :, 3]
    expected = np.zeros((12, 12), bool)
    expected[2:8, 3:10] = True
    expected[3:7, 4:9] = False
    np.testing.assert_array_equal(a > 0, expected)
    assert set(np.unique(a)) == {0, 255}
    # a mask touching the image edge is outlined along the edge too
    layers[CRACK][:, 0:2] = True
    ov.invalidate(CRACK, (0, 0, 12, 2))
    a = ov.region(0, 0, 0, 12, 12)[:, :, 3]
    assert a[5, 0] == 255 and a[5, 1] == 255 and a[0, 0] == 255


def test_zoomed_out_overlay_keeps_thin_cracks():
    layers = make_layers((64, 64))
    layers[CRACK][:, 37] = True  # a 1-pixel vertical crack
    layers[CRACK][50, 3] = True  # and a single pixel
    ov = OverlayRenderer(layers.__getitem__, (64, 64), tile=4)
    for level in range(4):
        a = ov.region(level, 0, 0, *ov.level_shape(level))[:, :, 3] > 0
        np.testing.assert_array_equal(a, ref_pool(layers[CRACK], level))


def test_invalidation_recomputes_only_touched_tiles():
    shape = (600, 700)
    layers = make_layers(shape)
    ov = OverlayRenderer(layers.__getitem__, shape, tile=64)
    for level in range(3):
        h, w = ov.level_shape(level)
        assert ov.region(level, 0, 0, h, w, allow_none=True) is None
    made = ov.tiles_computed
    assert made == sum(-(-ov.level_shape(L)[0] // 64) * -(-ov.level_shape(L)[1] // 64) for L in range(3))
    # a brush dab inside one tile at every level
    layers[CRACK][70:80, 70:80] = True
    ov.invalidate(CRACK, (70, 70, 80, 80))
    for level in range(3):
        h, w = ov.level_shape(level)
        out = ov.region(level, 0, 0, h, w)
        np.testing.assert_array_equal(out[:, :, 3] > 0, ref_pool(layers[CRACK], level))
    assert ov.tiles_computed == made
    assert ov.tiles_updated == 3
    # a dab across a tile corner touches four tiles at level 0 only there
    layers[CRACK][126:130, 126:130] = True
    ov.invalidate(CRACK, (126, 126, 130, 130))
    ov.region(0, 0, 0, *ov.level_shape(0))
    assert ov.tiles_updated == 3 + 4
    # erasing brings the tile back to empty
    layers[CRACK][:] = False
    ov.invalidate(CRACK, (0, 0, 600, 700))
    assert ov.region(0, 0, 0, *ov.level_shape(0), allow_none=True) is None
    # changes to a hidden layer redo nothing
    ov.set_style(LOSS, visible=False)
    ov.region(0, 0, 0, *ov.level_shape(0))
    before = ov.recomputed
    layers[LOSS][5:9, 5:9] = True
    ov.invalidate(LOSS, (5, 5, 9, 9))
    ov.region(0, 0, 0, *ov.level_shape(0))
    assert ov.recomputed == before


def test_overlay_cache_bound():
    shape = (256, 256)
    layers = make_layers(shape)
    layers[CRACK][::7, :] = True
    ov = OverlayRenderer(layers.__getitem__, shape, tile=32, cache_bytes=4 * (32 * 32 * 4 + 64))
    ov.region(0, 0, 0, 256, 256)
    assert ov.cache.nbytes <= ov.cache.max_bytes

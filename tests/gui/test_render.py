"""Display pyramid and mask overlays (Qt-free), checked against direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.gui.render import (
    DisplayPyramid,
    OverlayRenderer,
    TileCache,
    any_blocks,
    level_for_zoom,
    overlay_level_for_zoom,
)


# -- references ---------------------------------------------------------------------------
def ref_level(pixels: np.ndarray, level: int) -> np.ndarray:
    """The documented rule, pixel by pixel: a full block by successive 2 × 2 means at 16 bits
    rounded half up, a block cut by the edge by its exact mean rounded half up."""
    x = pixels if pixels.ndim == 3 else pixels[:, :, None]
    x = x.astype(np.int64) * (257 if pixels.dtype == np.uint8 else 1)
    f = 1 << level
    h, w, c = x.shape
    gh, gw = -(-h // f), -(-w // f)
    v16 = np.zeros((gh, gw, c), np.int64)
    for i in range(gh):
        for j in range(gw):
            b = x[i * f : (i + 1) * f, j * f : (j + 1) * f]
            if b.shape[:2] == (f, f):
                while b.shape[0] > 1:
                    b = (b[0::2, 0::2] + b[1::2, 0::2] + b[0::2, 1::2] + b[1::2, 1::2] + 2) >> 2
                v16[i, j] = b[0, 0]
            else:
                n = b.shape[0] * b.shape[1]
                v16[i, j] = (2 * b.reshape(n, c).sum(axis=0) + n) // (2 * n)
    out = ((v16 + 128) // 257).astype(np.uint8)
    return np.repeat(out, 3, axis=2) if c == 1 else out


def exact_mean8(pixels: np.ndarray, level: int) -> np.ndarray:
    """Exact block means mapped to 8 bits (for a closeness check)."""
    x = pixels if pixels.ndim == 3 else pixels[:, :, None]
    f = 1 << level
    h, w, c = x.shape
    gh, gw = -(-h // f), -(-w // f)
    out = np.zeros((gh, gw, c))
    scale = 1.0 if pixels.dtype == np.uint16 else 257.0
    for i in range(gh):
        for j in range(gw):
            out[i, j] = x[i * f : (i + 1) * f, j * f : (j + 1) * f].reshape(-1, c).mean(axis=0) * scale
    out = np.floor(out / 257 + 0.5).astype(np.uint8)
    return np.repeat(out, 3, axis=2) if c == 1 else out


def ref_pool(mask: np.ndarray, level: int) -> np.ndarray:
    f = 1 << level
    h, w = mask.shape
    gh, gw = -(-h // f), -(-w // f)
    out = np.zeros((gh, gw), bool)
    for i in range(gh):
        for j in range(gw):
            out[i, j] = mask[i * f : (i + 1) * f, j * f : (j + 1) * f].any()
    return out


def rand_image(rng, h, w, c, dtype):
    hi = 256 if dtype == np.uint8 else 65536
    px = rng.integers(0, hi, (h, w, c)).astype(dtype)
    return px[:, :, 0] if c == 0 else px


# -- pyramid ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("shape", [(37, 53), (64, 64), (5, 131), (1, 1), (130, 3)])
def test_region_equals_direct_computation(dtype, channels, shape):
    rng = np.random.default_rng(hash((shape, channels)) % 2**32)
    px = rng.integers(0, 256 if dtype == np.uint8 else 65536, shape + (channels,)).astype(dtype)
    pyr = DisplayPyramid(px, tile=16)
    for level in range(min(pyr.levels, 4)):
        ref = ref_level(px, level)
        h, w = pyr.level_shape(level)
        assert ref.shape == (h, w, 3)
        whole = pyr.region(level, 0, 0, h, w)
        assert whole.dtype == np.uint8
        np.testing.assert_array_equal(whole, ref)
        # an arbitrary window across tile borders
        y0, x0 = h // 3, w // 4
        y1, x1 = max(y0, h - h // 5), max(x0, w - 1)
        np.testing.assert_array_equal(pyr.region(level, y0, x0, y1, x1), ref[y0:y1, x0:x1])
        # within one 8-bit step of the exact area mean, and equal almost everywhere
        exact = exact_mean8(px, level)
        diff = np.abs(ref.astype(int) - exact.astype(int))
        assert diff.max() <= 1
        assert (diff > 0).mean() < 0.02


def test_level_zero_maps_16_bit_by_rounding():
    v = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    pyr = DisplayPyramid(v)
    out = pyr.region(0, 0, 0, 256, 256)
    expected = ((v.astype(np.uint32) + 128) // 257).astype(np.uint8)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], expected)


def test_grey_1_channel_2d_input_is_accepted():
    px = np.full((10, 12), 40000, np.uint16)
    pyr = DisplayPyramid(px)
    assert pyr.region(1, 0, 0, 5, 6).shape == (5, 6, 3)
    assert (pyr.region(1, 0, 0, 5, 6) == (40000 + 128) // 257).all()


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


def test_cache_is_bounded_in_bytes():
    rng = np.random.default_rng(3)
    px = rng.integers(0, 65536, (300, 400, 3)).astype(np.uint16)
    bound = 5 * 32 * 32 * 3
    pyr = DisplayPyramid(px, tile=32, cache_bytes=bound)
    for level in range(3):
        h, w = pyr.level_shape(level)
        pyr.region(level, 0, 0, h, w)
        assert pyr.cache.nbytes <= bound
        assert len(pyr.cache) >= 1
    # and the values stay right while tiles come and go
    np.testing.assert_array_equal(pyr.region(0, 0, 0, 300, 400), ref_level(px, 0))


def test_tiles_are_made_once_and_coarse_tiles_read_only_their_block():
    px = np.random.default_rng(1).integers(0, 65536, (512, 512, 3)).astype(np.uint16)
    pyr = DisplayPyramid(px, tile=64)
    pyr.region(2, 0, 0, 128, 128)
    assert pyr.tiles_computed == 4
    assert all(k[1] == 2 for k in pyr.cache.keys())  # no finer level was made on the way
    pyr.region(2, 10, 10, 100, 100)
    assert pyr.tiles_computed == 4


def test_8_bit_rgb_level_zero_is_read_from_the_source():
    px = np.random.default_rng(2).integers(0, 256, (70, 90, 3)).astype(np.uint8)
    pyr = DisplayPyramid(px, tile=32)
    np.testing.assert_array_equal(pyr.region(0, 3, 4, 60, 80), px[3:60, 4:80])
    assert pyr.tiles_computed == 0


def test_region_outside_level_is_refused():
    pyr = DisplayPyramid(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        pyr.region(1, 0, 0, 6, 5)


def _candidate(px: np.ndarray, rng) -> Candidate:
    h, w = px.shape[:2]
    patches = []
    for y, x, ph, pw in [(5, 7, 20, 30), (40, 60, 25, 15), (0, 0, 3, 3), (h - 10, w - 12, 10, 12)]:
        mask = rng.random((ph, pw)) < 0.6
        pix = rng.integers(0, 65536, (ph, pw, px.shape[2])).astype(px.dtype)
        patches.append(Patch(y, x, pix, mask))
    return Candidate(Provenance("test", {}), patches)


@pytest.mark.parametrize("level", [0, 1, 2])
def test_candidate_region_equals_rendered_candidate(level):
    rng = np.random.default_rng(7)
    px = rng.integers(0, 65536, (97, 113, 3)).astype(np.uint16)
    cand = _candidate(px, rng)
    pyr = DisplayPyramid(px, tile=16)
    full = cand.render(px)
    h, w = pyr.level_shape(level)
    got = pyr.region(level, 0, 0, h, w, candidate=cand)
    np.testing.assert_array_equal(got, ref_level(full, level))
    if level == 0:
        expected = ((full.astype(np.uint32) + 128) // 257).astype(np.uint8)
        np.testing.assert_array_equal(pyr.region(0, 4, 6, 50, 99, candidate=cand), expected[4:50, 6:99])
    # the original is unchanged and tiles without patches are shared with it
    np.testing.assert_array_equal(pyr.region(level, 0, 0, h, w), ref_level(px, level))
    assert all(k[0] in (None, cand.id) for k in pyr.cache.keys())
    pyr.forget_candidate(cand.id)
    assert all(k[0] is None for k in pyr.cache.keys())


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


def test_tile_cache_lru_order():
    c = TileCache(30)
    c.put("a", 1, 10)
    c.put("b", 2, 10)
    c.put("c", 3, 10)
    assert c.get("a") == 1  # a is now the most recent
    c.put("d", 4, 10)
    assert "b" not in c and "a" in c and c.nbytes == 30

"""Display pyramid (Qt-free), checked against direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.gui.pyramid import DisplayPyramid


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

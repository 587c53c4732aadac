"""Tiled comparison maps for the compare view: tiles must assemble to the whole-image maps."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from muralstudio.core.progress import Progress
from muralstudio.ops import metrics as M
from muralstudio.ops.compare import (
    SOBEL_FULL_SCALE,
    MapTile,
    PairSums,
    map_tiles,
    mask_outline,
    order_tiles,
    ssim_map32,
    tile_boxes,
)


def _pair(h: int = 97, w: int = 130, c: int | None = 3, depth: str = "u8", seed: int = 3):
    """A textured image (smooth structure, painted lines, grain) and a degraded copy of it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 120 + 50 * np.sin(xx / 6.0) * np.cos(yy / 9.0)
    base[:, (np.arange(w) % 23) < 2] -= 70  # dark lines
    shape = (h, w) if c is None else (h, w, c)
    a = np.clip((base[..., None] if c else base) + rng.normal(0, 12, shape), 0, 255)
    b = cv2.GaussianBlur(a, (0, 0), 1.2) + rng.normal(0, 6, shape)
    b[h // 3 : h // 2, w // 4 : w // 2] = 200  # a flat wrong patch
    b = np.clip(b, 0, 255)
    if depth == "u16":
        return (a * 257).round().astype(np.uint16), (b * 257).round().astype(np.uint16)
    return a.round().astype(np.uint8), b.round().astype(np.uint8)


def _getter(img: np.ndarray):
    return lambda box: img[box[0] : box[2], box[1] : box[3]]


def _assemble(kind: str, a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, **kw):
    """Run map_tiles to the end; return the assembled map, the tiles and the returned sums."""
    gen = map_tiles(kind, _getter(a), _getter(b), a.shape[:2],
                    mask=None if mask is None else _getter(mask), **kw)
    tiles: list[MapTile] = []
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            total = stop.value
            break
        assert isinstance(p, Progress) and isinstance(p.preview, MapTile)
        tiles.append(p.preview)
    out = None
    for t in tiles:
        if out is None:
            out = np.zeros(a.shape[:2] + t.data.shape[2:], t.data.dtype)
        y0, x0, y1, x1 = t.box
        assert t.data.shape[:2] == (y1 - y0, x1 - x0) and t.data.dtype == np.uint8
        out[y0:y1, x0:x1] = t.data
    assert p.fraction == pytest.approx(1.0)
    return out, tiles, total


def _quantise(smap: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(smap, 0, 1) * 255).astype(np.uint8)


def _skimage_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    fa, fb = M.to_float255(a, np.float64), M.to_float255(b, np.float64)
    _, full = structural_similarity(fa, fb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                    data_range=255, full=True, channel_axis=None if a.ndim == 2 else 2)
    return full if full.ndim == 2 else full.mean(axis=2)


# ---------------------------------------------------------------- SSIM


@pytest.mark.parametrize("c,depth", [(None, "u8"), (3, "u8"), (None, "u16"), (3, "u16")])
def test_ssim_map_agrees_with_a_reference_implementation(c, depth):
    a, b = _pair(c=c, depth=depth)
    ref = _skimage_map(a, b)
    assert np.abs(M.ssim_map(a, b) - ref).max() < 1e-3
    assert np.abs(ssim_map32(a, b) - ref).max() < 1e-3
    assert np.abs(ssim_map32(a, b) - M.ssim_map(a, b)).max() < 1e-4


@pytest.mark.parametrize("c,depth", [(None, "u8"), (3, "u8"), (3, "u16")])
def test_ssim_tiles_assemble_to_the_whole_image_map(c, depth):
    a, b = _pair(c=c, depth=depth)
    whole = _quantise(M.ssim_map(a, b))
    got, tiles, _ = _assemble("ssim", a, b, tile=40)  # 40 divides neither 97 nor 130
    assert len(tiles) == 3 * 4
    diff = np.abs(got.astype(int) - whole)
    assert diff.max() <= 1 and (diff == 0).mean() > 0.999
    assert np.abs(got.astype(int) - _quantise(_skimage_map(a, b))).max() <= 1


def test_pair_sums_give_the_whole_image_figures():
    a, b = _pair()
    mask = np.zeros(a.shape[:2], bool)
    mask[20:60, 30:90] = True
    _, tiles, total = _assemble("ssim", a, b, mask, tile=32)
    summed = sum((t.stats for t in tiles), PairSums())
    assert summed == total
    assert total.psnr() == pytest.approx(M.psnr(a, b), rel=1e-9)
    assert total.ssim() == pytest.approx(M.ssim(a, b), abs=1e-6)
    assert total.psnr_mask() == pytest.approx(M.psnr(a, b, mask), rel=1e-9)
    assert total.ssim_mask() == pytest.approx(M.ssim(a, b, mask), abs=1e-6)
    assert total.n == a.size and total.n_mask == mask.sum() * 3


def test_pair_sums_edge_cases():
    a, _ = _pair(c=None)
    _, _, same = _assemble("diff", a, a.copy(), np.zeros(a.shape, bool), tile=50)
    assert same.psnr() == math.inf
    assert math.isnan(same.ssim())  # SSIM sums come only with kind "ssim"
    assert same.psnr_mask() is None and same.ssim_mask() is None  # empty mask
    assert math.isnan(PairSums().psnr()) and PairSums().psnr_mask() is None


# ---------------------------------------------------------------- diff and edges


@pytest.mark.parametrize("c,depth", [(None, "u8"), (3, "u16")])
def test_diff_tiles_equal_the_whole_image_difference(c, depth):
    a, b = _pair(c=c, depth=depth)
    d = np.abs(M.to_float255(a, np.float64) - M.to_float255(b, np.float64))
    want = np.rint(d if d.ndim == 2 else d.max(axis=2)).astype(np.uint8)
    got, _, total = _assemble("diff", a, b, tile=33)
    assert np.abs(got.astype(int) - want).max() <= (0 if depth == "u8" else 1)
    assert total.psnr() == pytest.approx(M.psnr(a, b), rel=1e-6)


def test_float_images_are_on_the_same_scale():
    a, b = _pair()
    got8, _, _ = _assemble("diff", a, b)
    gotf, _, _ = _assemble("diff", a / 255.0, b / 255.0)
    assert np.abs(got8.astype(int) - gotf).max() <= 1


@pytest.mark.parametrize("c", [None, 3])
def test_sobel_edge_tiles_equal_the_whole_image(c):
    a, b = _pair(c=c)
    got, _, _ = _assemble("edges", a, b, tile=29, edge_method="sobel")
    assert got.shape == a.shape[:2] + (2,)
    for ch, img in enumerate((a, b)):
        want = np.rint(np.minimum(M._sobel_mag(M._luma(img)) * 255 / SOBEL_FULL_SCALE, 255))
        assert np.array_equal(got[..., ch], want.astype(np.uint8))
    # Painted lines stand out; the flat wrong patch in B is ~0.
    assert got[..., 0].max() > 150
    assert got[33:47, 33:64, 1].max() == 0


def test_canny_edge_tiles_nearly_equal_the_whole_image():
    a, b = _pair(h=160, w=190)
    whole, _, _ = _assemble("edges", a, b, tile=10_000, edge_method="canny")
    got, _, _ = _assemble("edges", a, b, tile=48, edge_method="canny")
    assert set(np.unique(whole)) <= {0, 255} and whole.any()
    assert (got == whole).mean() >= 0.999


@pytest.mark.parametrize("kind", ["ssim", "diff", "edges"])
def test_a_one_pixel_wide_image(kind):
    a, b = _pair(h=50, w=1)
    got, tiles, total = _assemble(kind, a, b, tile=7)
    assert got.shape[:2] == (50, 1) and len(tiles) == 8
    whole, _, _ = _assemble(kind, a, b, tile=100)
    assert np.abs(got.astype(int) - whole).max() <= 1
    if kind == "ssim":
        assert np.abs(got.astype(int) - _quantise(M.ssim_map(a, b))).max() <= 1
        assert total.ssim() == pytest.approx(M.ssim(a, b), abs=1e-6)


def test_bad_arguments():
    a, b = _pair()
    with pytest.raises(ValueError):
        map_tiles("blur", _getter(a), _getter(b), a.shape[:2])
    with pytest.raises(ValueError):
        map_tiles("edges", _getter(a), _getter(b), a.shape[:2], edge_method="laplace")
    with pytest.raises(ValueError):
        next(map_tiles("diff", _getter(a), _getter(b[..., :2]), a.shape[:2]))


# ---------------------------------------------------------------- tiling and cancelling


def test_tile_boxes_cover_the_image_row_major():
    boxes = tile_boxes((10, 25), 8)
    assert boxes[:4] == [(0, 0, 8, 8), (0, 8, 8, 16), (0, 16, 8, 24), (0, 24, 8, 25)]
    cover = np.zeros((10, 25), int)
    for y0, x0, y1, x1 in boxes:
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()


def test_order_tiles_puts_the_focus_first():
    boxes = tile_boxes((100, 100), 10)
    focus = (42, 47, 58, 69)  # touches rows 4-5, columns 4-6
    ordered = order_tiles(boxes, focus)
    assert sorted(ordered) == sorted(boxes)
    touching = {b for b in boxes if b[0] < 58 and b[2] > 42 and b[1] < 69 and b[3] > 47}
    assert len(touching) == 6 and set(ordered[:6]) == touching
    assert ordered[0] in {(40, 50, 50, 60), (50, 50, 60, 60)}  # nearest the centre (50, 58)


def test_closing_the_generator_stops_the_work():
    a, b = _pair()
    calls = []

    def get_a(box):
        calls.append(box)
        return a[box[0] : box[2], box[1] : box[3]]

    gen = map_tiles("ssim", get_a, _getter(b), a.shape[:2], tile=32,
                    order=order_tiles(tile_boxes(a.shape, 32), (0, 0, 10, 10)))
    first = next(gen)
    assert first.preview.box == (0, 0, 32, 32) and first.fraction == pytest.approx(1 / 20)
    next(gen)
    gen.close()
    assert len(calls) == 2
    with pytest.raises(StopIteration):
        next(gen)


# ---------------------------------------------------------------- outline


def test_mask_outline_of_a_square():
    m = np.zeros((20, 20), bool)
    m[5:15, 5:15] = True
    one = mask_outline(m)
    assert one.sum() == 4 * 9 and not (one & ~m).any()
    assert one[5, 5:15].all() and one[14, 5:15].all() and one[5:15, 5].all() and not one[6:14, 6:14].any()
    two = mask_outline(m, width=2)
    assert two.sum() == 100 - 36 and not two[7:13, 7:13].any()
    edge = np.zeros((6, 6), bool)
    edge[:, :3] = True
    assert mask_outline(edge)[:, 0].all()  # the image border counts as outside
    with pytest.raises(ValueError):
        mask_outline(m, width=0)

"""Tests for muralstudio.ops.metrics."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from muralstudio.ops import metrics as M

RNG_SEED = 1234


def _rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


def _textured(h: int = 64, w: int = 80, c: int | None = 3) -> np.ndarray:
    """Random-ish uint8 image with both fine texture and smooth structure."""
    rng = _rng()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 120 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    shape = (h, w) if c is None else (h, w, c)
    noise = rng.normal(0, 25, shape)
    img = (base[..., None] if c is not None else base) + noise
    return np.clip(img, 0, 255).astype(np.uint8)


def _smooth(h: int = 64, w: int = 80, c: int | None = 3) -> np.ndarray:
    rng = _rng()
    shape = (h, w) if c is None else (h, w, c)
    img = cv2.GaussianBlur(rng.random(shape) * 255, (0, 0), 4.0)
    img = (img - img.min()) / (img.max() - img.min()) * 255
    return img.round().astype(np.uint8)


def _noisy(img: np.ndarray, sigma: float = 12.0, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def _box_mask(h: int, w: int, top: int = 20, left: int = 25, size: int = 20) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[top : top + size, left : left + size] = True
    return m


# ------------------------------------------------------------ identity / analytic


@pytest.mark.parametrize("c", [None, 3])
def test_identical_images(c: int | None) -> None:
    a = _textured(c=c)
    mask = _box_mask(*a.shape[:2])
    assert M.mse(a, a) == 0.0
    assert M.psnr(a, a) == math.inf
    assert M.ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert M.ssim(a, a, mask) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(M.ssim_map(a, a), 1.0, atol=1e-6)
    assert M.gmsd(a, a) == 0.0
    assert M.gmsd(a, a, mask) == 0.0
    assert M.hole_sharpness(a, a, mask) == pytest.approx(1.0)
    assert M.hole_mae(a, a, mask) == 0.0
    assert M.hole_psnr(a, a, mask) == math.inf
    res = M.all_metrics(a, a, mask)
    assert set(res) == set(M.METRIC_INFO)
    assert res["psnr"] == math.inf and res["gmsd"] == 0.0


@pytest.mark.parametrize("d", [1, 5, 40])
def test_constant_offset(d: int) -> None:
    rng = _rng()
    a = rng.integers(20, 200, (32, 40, 3), dtype=np.uint8)
    b = a + np.uint8(d)
    mask = _box_mask(32, 40, 5, 5, 10)
    assert M.mse(a, b) == pytest.approx(d * d)
    assert M.mse(a, b, mask) == pytest.approx(d * d)
    assert M.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / d**2))
    assert M.hole_mae(a, b, mask) == pytest.approx(d)
    assert M.hole_psnr(a, b, mask) == pytest.approx(20 * math.log10(255 / d))


def test_psnr_is_symmetric_and_formula() -> None:
    a = _textured()
    b = _noisy(a)
    err = M.mse(a, b)
    ref = np.mean((a.astype(np.float64) - b) ** 2)
    assert err == pytest.approx(ref, rel=1e-9)
    assert M.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / ref))
    assert M.psnr(b, a) == pytest.approx(M.psnr(a, b))


def test_bit_depths_agree() -> None:
    a8 = _textured()
    b8 = cv2.GaussianBlur(_noisy(a8), (5, 5), 1.0)
    mask = _box_mask(*a8.shape[:2])
    ref = M.all_metrics(b8, a8, mask)
    variants = [
        (b8.astype(np.uint16) * 257, a8.astype(np.uint16) * 257),
        (b8 / 255.0, a8 / 255.0),
        ((b8 / 255.0).astype(np.float32), (a8 / 255.0).astype(np.float32)),
        (b8.astype(np.uint16) * 257, a8 / 255.0),  # mixed depths
    ]
    for pb, pa in variants:
        got = M.all_metrics(pb, pa, mask)
        for key, val in ref.items():
            assert got[key] == pytest.approx(val, rel=1e-3, abs=1e-9), key


def test_to_float255_scales_and_rejects() -> None:
    assert M.to_float255(np.array([255], np.uint8))[0] == 255.0
    assert M.to_float255(np.array([65535], np.uint16))[0] == pytest.approx(255.0)
    assert M.to_float255(np.array([1.0]))[0] == pytest.approx(255.0)
    with pytest.raises(TypeError):
        M.to_float255(np.array([1], np.int32))


# ------------------------------------------------------------ SSIM


def _ssim_direct(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM by explicit windowed sums (no cv2 / scipy filtering)."""
    r, sigma = 5, 1.5
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    win = np.outer(g, g)
    win /= win.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    a3 = np.atleast_3d(a.astype(np.float64))
    b3 = np.atleast_3d(b.astype(np.float64))
    maps = []
    for ch in range(a3.shape[2]):
        x = np.pad(a3[..., ch], r, mode="symmetric")
        y = np.pad(b3[..., ch], r, mode="symmetric")
        wx = np.lib.stride_tricks.sliding_window_view(x, win.shape)
        wy = np.lib.stride_tricks.sliding_window_view(y, win.shape)
        mx = np.einsum("ijkl,kl->ij", wx, win)
        my = np.einsum("ijkl,kl->ij", wy, win)
        vx = np.einsum("ijkl,kl->ij", (wx - mx[..., None, None]) ** 2, win)
        vy = np.einsum("ijkl,kl->ij", (wy - my[..., None, None]) ** 2, win)
        cxy = np.einsum(
            "ijkl,kl->ij", (wx - mx[..., None, None]) * (wy - my[..., None, None]), win
        )
        maps.append(
            (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
        )
    return np.mean(maps, axis=0)


@pytest.mark.parametrize("c", [None, 3])
def test_ssim_map_matches_direct_formula(c: int | None) -> None:
    a = _textured(19, 23, c)
    b = _noisy(a, 20.0)
    got = M.ssim_map(a, b)
    assert got.dtype == np.float32 and got.shape == a.shape[:2]
    np.testing.assert_allclose(got, _ssim_direct(a, b), atol=1e-5)


@pytest.mark.parametrize("c", [None, 3])
@pytest.mark.parametrize("band_rows", [1, 4, 7, 16])
def test_banded_equals_unbanded(c: int | None, band_rows: int) -> None:
    a = _textured(45, 31, c)
    b = _noisy(a, 30.0)
    full = M.ssim_map(a, b, band_rows=10_000)
    np.testing.assert_allclose(M.ssim_map(a, b, band_rows=band_rows), full, atol=1e-6)


def test_ssim_scalar_uses_cropped_map_and_mask() -> None:
    a = _textured()
    b = _noisy(a)
    smap = M.ssim_map(a, b).astype(np.float64)
    assert M.ssim(a, b) == pytest.approx(smap[5:-5, 5:-5].mean(), abs=1e-6)
    mask = _box_mask(*a.shape[:2])
    assert M.ssim(a, b, mask) == pytest.approx(smap[mask].mean(), abs=1e-6)


def test_ssim_scalar_across_bands(monkeypatch: pytest.MonkeyPatch) -> None:
    a = _textured(150, 40)
    b = _noisy(a, 20.0)
    mask = _box_mask(150, 40, 50, 5, 30)  # straddles the band boundary at row 64
    smap = M.ssim_map(a, b, band_rows=10_000).astype(np.float64)
    monkeypatch.setattr(M, "_BAND_PIXELS", 1)  # -> bands of 64 rows
    assert M.ssim(a, b) == pytest.approx(smap[5:-5, 5:-5].mean(), abs=1e-6)
    assert M.ssim(a, b, mask) == pytest.approx(smap[mask].mean(), abs=1e-6)


def test_ssim_tiny_image_does_not_crash() -> None:
    a = _textured(6, 9)
    b = _noisy(a)
    s = M.ssim(a, b)
    assert -1.0 <= s <= 1.0
    assert M.ssim_map(a, b).shape == (6, 9)


@pytest.mark.parametrize("kind", ["random", "smooth"])
@pytest.mark.parametrize("c", [None, 3])
def test_ssim_matches_skimage(kind: str, c: int | None) -> None:
    skm = pytest.importorskip("skimage.metrics")
    rng = _rng()
    if kind == "random":
        shape = (53, 61) if c is None else (53, 61, c)
        a = rng.integers(0, 256, shape, dtype=np.uint8)
    else:
        a = _smooth(53, 61, c)
    b = cv2.GaussianBlur(_noisy(a, 15.0, seed=3), (3, 3), 0.8)
    ref = skm.structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=-1 if c else None,
    )
    assert M.ssim(a, b) == pytest.approx(ref, abs=1e-3)
    # The 16-bit version of the same pair gives the same figure.
    assert M.ssim(a.astype(np.uint16) * 257, b.astype(np.uint16) * 257) == pytest.approx(
        ref, abs=1e-3
    )


# ------------------------------------------------------------ masks


def test_mask_restricts_metrics() -> None:
    a = _textured()
    mask = _box_mask(*a.shape[:2])
    b = a.copy()
    b[~mask] = 255 - b[~mask]  # differ only outside the hole
    assert M.mse(a, b) > 0
    assert M.hole_mae(a, b, mask) == 0.0
    assert M.hole_psnr(a, b, mask) == math.inf
    assert M.mse(a, b, mask) == 0.0
    assert M.hole_sharpness(b, a, mask) > 0  # finite, computed on hole only
    # And the other way round: differences only inside the hole.
    c = a.copy()
    c[mask] = 0
    diff = a[mask].astype(np.float64)
    assert M.hole_mae(c, a, mask) == pytest.approx(diff.mean())
    assert M.mse(c, a, mask) == pytest.approx((diff**2).mean())
    assert M.mse(c, a) == pytest.approx((diff**2).sum() / a.size)


def test_gmsd_mask_includes_seam() -> None:
    a = _textured(c=None)
    mask = _box_mask(*a.shape[:2])
    b = a.copy()
    b[18, 25:45] = 255 - b[18, 25:45]  # row 2 px above the hole
    assert M.gmsd(a, b, mask, dilate=3) > 0
    far = a.copy()
    far[55:60, 70:75] = 0  # well away from the hole
    assert M.gmsd(a, far, mask, dilate=3) == 0.0
    assert M.gmsd(a, far) > 0


def test_gmsd_matches_direct_implementation() -> None:
    a = _textured(32, 40)
    b = _noisy(a, 25.0)

    def luma(x: np.ndarray) -> np.ndarray:
        return x.astype(np.float64) @ np.array([0.299, 0.587, 0.114])

    def gm(y: np.ndarray) -> np.ndarray:
        y = y.reshape(16, 2, 20, 2).mean(axis=(1, 3))
        p = np.pad(y, 1, mode="symmetric")
        gx = (p[:-2, :-2] + p[1:-1, :-2] + p[2:, :-2] - p[:-2, 2:] - p[1:-1, 2:] - p[2:, 2:]) / 3
        gy = (p[:-2, :-2] + p[:-2, 1:-1] + p[:-2, 2:] - p[2:, :-2] - p[2:, 1:-1] - p[2:, 2:]) / 3
        return np.hypot(gx, gy)

    ga, gb = gm(luma(a)), gm(luma(b))
    gms = (2 * ga * gb + 170) / (ga**2 + gb**2 + 170)
    assert M.gmsd(a, b) == pytest.approx(gms.std(), rel=1e-9)
    assert M.gmsd(a, b, downsample=False) > 0


# ------------------------------------------------------------ blur behaviour


def test_blur_lowers_sharpness_and_raises_gmsd() -> None:
    gt = _textured(96, 96)
    mask = _box_mask(96, 96, 30, 30, 36)
    scores = []
    for sigma in (1.0, 2.5):
        pred = gt.copy()
        pred[mask] = cv2.GaussianBlur(gt, (0, 0), sigma)[mask]
        scores.append((M.hole_sharpness(pred, gt, mask), M.gmsd(pred, gt, mask)))
    (sh1, g1), (sh2, g2) = scores
    assert sh2 < sh1 < 1.0
    assert 0.0 < g1 < g2


def test_sharpness_flat_hole_is_finite() -> None:
    a = np.full((20, 20), 100, np.uint8)
    mask = _box_mask(20, 20, 5, 5, 10)
    assert M.hole_sharpness(a, a, mask) == pytest.approx(1.0)
    b = a.copy()
    b[8:12, 8:12] = 200
    assert math.isfinite(M.hole_sharpness(b, a, mask))


# ------------------------------------------------------------ errors / API


_PAIR_FUNCS = [M.mse, M.psnr, M.ssim, M.ssim_map, M.gmsd]
_MASK_FUNCS = [M.hole_mae, M.hole_psnr, M.hole_sharpness, M.all_metrics]


@pytest.mark.parametrize("fn", _PAIR_FUNCS + _MASK_FUNCS)
def test_shape_mismatch_raises(fn) -> None:
    a = np.zeros((10, 12, 3), np.uint8)
    mask = np.ones((10, 12), bool)
    args = (mask,) if fn in _MASK_FUNCS else ()
    with pytest.raises(ValueError, match="shape"):
        fn(a, np.zeros((10, 12), np.uint8), *args)
    with pytest.raises(ValueError, match="shape"):
        fn(a, np.zeros((11, 12, 3), np.uint8), *args)


@pytest.mark.parametrize("fn", [M.mse, M.psnr, M.ssim, M.gmsd] + _MASK_FUNCS)
def test_bad_masks_raise(fn) -> None:
    a = np.zeros((10, 12), np.uint8)
    with pytest.raises(ValueError, match="empty"):
        fn(a, a, np.zeros((10, 12), bool))
    with pytest.raises(ValueError, match="mask shape"):
        fn(a, a, np.ones((12, 10), bool))


def test_all_metrics_keys_and_info() -> None:
    gt = _textured()
    pred = _noisy(gt)
    mask = _box_mask(*gt.shape[:2])
    res = M.all_metrics(pred, gt, mask)
    assert list(res) == list(M.METRIC_INFO)
    assert all(isinstance(v, float) and math.isfinite(v) for v in res.values())
    assert res["ssim"] == pytest.approx(M.ssim(pred, gt))
    assert res["hole_psnr"] == pytest.approx(M.hole_psnr(pred, gt, mask))
    assert res["gmsd"] == pytest.approx(M.gmsd(pred, gt, mask))
    for label, higher in M.METRIC_INFO.values():
        assert isinstance(label, str) and label and isinstance(higher, bool)
    # mask=None evaluates the whole image as the hole.
    whole = M.all_metrics(pred, gt, None)
    assert whole["hole_psnr"] == pytest.approx(whole["psnr"])

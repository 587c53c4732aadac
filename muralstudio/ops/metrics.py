"""Image-quality metrics for judging restorations against a ground truth.

Used by the evaluation CLI, the compare view and the benchmarks, so every
figure is computed in one place with one convention:

* Images are numpy arrays ``(H, W)`` or ``(H, W, C)`` of dtype uint8, uint16
  or float (float assumed in [0, 1]).  They are brought to the 0-255 scale
  (uint16 / 257, float * 255) so that figures agree across bit depths and
  with the literature, which reports MSE / PSNR on 0-255.
* ``mask`` is a bool ``(H, W)`` array, True = hole (the restored region).
* The two images must have identical shapes; otherwise ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np

__all__ = [
    "METRIC_INFO",
    "all_metrics",
    "gmsd",
    "hole_mae",
    "hole_psnr",
    "hole_sharpness",
    "mse",
    "psnr",
    "ssim",
    "ssim_map",
    "to_float255",
]

# SSIM constants (Wang et al. 2004).  The window radius follows scipy /
# skimage: int(truncate * sigma + 0.5) with truncate = 3.5 -> 5 (11x11 window).
_SSIM_SIGMA = 1.5
_SSIM_RADIUS = 5
_SSIM_KSIZE = (2 * _SSIM_RADIUS + 1, 2 * _SSIM_RADIUS + 1)
_DATA_RANGE = 255.0
_C1 = (0.01 * _DATA_RANGE) ** 2
_C2 = (0.03 * _DATA_RANGE) ** 2
# Pixels per SSIM band (~1 Mpx: 512 rows at 2048 px; ~10 float64 temporaries).
_BAND_PIXELS = 1 << 20

# GMSD stability constant on the 0-255 scale (Xue et al. 2014).
_GMSD_C = 170.0
_PREWITT_X = np.array([[1.0, 0.0, -1.0]] * 3) / 3.0

# Guard for ratios of mean gradient magnitudes (0-255 scale, so negligible).
_EPS = 1e-6

METRIC_INFO: dict[str, tuple[str, bool]] = {
    "mse": ("MSE", False),
    "psnr": ("PSNR [dB]", True),
    "ssim": ("SSIM", True),
    "hole_mae": ("Hole MAE", False),
    "hole_psnr": ("Hole PSNR [dB]", True),
    "gmsd": ("GMSD (hole)", False),
    # 1.0 is ideal; values below 1 (blur) are the usual failure, hence "higher".
    "sharpness": ("Hole sharpness", True),
}
"""Metric key -> (short label for tables, whether higher is better)."""


# ---------------------------------------------------------------- helpers


def to_float255(img: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Return ``img`` as floats on the 0-255 scale (uint16 / 257, float * 255)."""
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img.astype(dtype)
    if img.dtype == np.uint16:
        out = img.astype(dtype)
        out /= 257.0
        return out
    if np.issubdtype(img.dtype, np.floating):
        out = img.astype(dtype)
        out *= 255.0
        return out
    raise TypeError(f"unsupported image dtype {img.dtype}; expected uint8, uint16 or float")


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate that ``a`` and ``b`` are same-shaped 2-D or 3-D images."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if a.ndim not in (2, 3) or a.size == 0:
        raise ValueError(f"expected a non-empty (H, W) or (H, W, C) image, got shape {a.shape}")
    return a, b


def _check_mask(
    mask: np.ndarray | None, shape: tuple[int, ...], required: bool = False
) -> np.ndarray | None:
    """Validate ``mask`` against an image shape; reject empty masks."""
    if mask is None:
        if required:
            raise ValueError("a hole mask is required for this metric")
        return None
    mask = np.asarray(mask)
    if mask.shape != tuple(shape[:2]):
        raise ValueError(f"mask shape {mask.shape} does not match image shape {tuple(shape[:2])}")
    mask = mask.astype(bool, copy=False)
    if not mask.any():
        raise ValueError("mask is empty: no hole pixels to evaluate")
    return mask


def _luma(img: np.ndarray) -> np.ndarray:
    """Luminance on the 0-255 scale as float64 (BT.601 for RGB/RGBA, else channel mean)."""
    if img.ndim == 2:
        return to_float255(img, np.float64)
    n = img.shape[2]
    if n in (3, 4):
        weights: tuple[float, ...] = (0.299, 0.587, 0.114)  # alpha ignored
    else:
        weights = (1.0 / n,) * n
    out = np.zeros(img.shape[:2], np.float64)
    for c, w in enumerate(weights):
        out += w * to_float255(img[:, :, c], np.float64)
    return out


# ---------------------------------------------------------------- pixel error


def mse(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared error over pixels and channels on the 0-255 scale."""
    a, b = _check_pair(a, b)
    m = _check_mask(mask, a.shape)
    if m is not None:
        a, b = a[m], b[m]
    d = to_float255(a) - to_float255(b)
    return float(np.mean(np.square(d), dtype=np.float64))


def _psnr_from_mse(err: float) -> float:
    return math.inf if err == 0.0 else 10.0 * math.log10(_DATA_RANGE**2 / err)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio 10*log10(255^2 / MSE) in dB; inf when identical."""
    return _psnr_from_mse(mse(a, b, mask))


def hole_mae(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error over hole pixels (0-255 scale); empty mask -> ValueError."""
    a, b = _check_pair(a, b)
    m = _check_mask(mask, a.shape, required=True)
    d = to_float255(a[m]) - to_float255(b[m])
    return float(np.mean(np.abs(d), dtype=np.float64))


def hole_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR over hole pixels only; empty mask -> ValueError."""
    a, b = _check_pair(a, b)
    _check_mask(mask, a.shape, required=True)
    return psnr(a, b, mask)


# ---------------------------------------------------------------- SSIM


def _gauss(x: np.ndarray) -> np.ndarray:
    """11x11 Gaussian (sigma 1.5) with symmetric padding, i.e. scipy mode='reflect'."""
    return cv2.GaussianBlur(
        x, _SSIM_KSIZE, sigmaX=_SSIM_SIGMA, sigmaY=_SSIM_SIGMA, borderType=cv2.BORDER_REFLECT
    )


def _ssim_channel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two single-channel float64 images (population statistics)."""
    # In-place arithmetic: this runs on every band, temporaries dominate time.
    mx, my = _gauss(x), _gauss(y)
    vx, vy, cxy = _gauss(x * x), _gauss(y * y), _gauss(x * y)
    mxy = mx * my
    np.multiply(mx, mx, out=mx)  # mu_x^2
    np.multiply(my, my, out=my)  # mu_y^2
    vx -= mx
    vy -= my
    cxy -= mxy
    # den = (mu_x^2 + mu_y^2 + C1) * (var_x + var_y + C2), stored in mx
    mx += my
    mx += _C1
    vx += vy
    vx += _C2
    mx *= vx
    # num = (2 mu_x mu_y + C1) * (2 cov_xy + C2), stored in mxy
    mxy *= 2.0
    mxy += _C1
    cxy *= 2.0
    cxy += _C2
    mxy *= cxy
    mxy /= mx
    return mxy


def _ssim_bands(
    a: np.ndarray, b: np.ndarray, band_rows: int | None
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(r0, r1, map_rows)`` of the channel-averaged SSIM map, band by band.

    Each band is read with ``_SSIM_RADIUS`` extra rows above and below, so the
    Gaussian sums for the kept rows see exactly the same input as an unbanded
    pass; padding only happens at the true image border.  Peak memory is thus
    proportional to the band size, not the image size.
    """
    h, w = a.shape[:2]
    channels = 1 if a.ndim == 2 else a.shape[2]
    if band_rows is None:
        band_rows = max(64, _BAND_PIXELS // max(w, 1))
    band_rows = max(1, int(band_rows))
    r = _SSIM_RADIUS
    for r0 in range(0, h, band_rows):
        r1 = min(h, r0 + band_rows)
        s, e = max(0, r0 - r), min(h, r1 + r)
        acc = np.zeros((e - s, w), np.float64)
        for c in range(channels):
            sa = a[s:e] if a.ndim == 2 else a[s:e, :, c]
            sb = b[s:e] if b.ndim == 2 else b[s:e, :, c]
            acc += _ssim_channel(to_float255(sa, np.float64), to_float255(sb, np.float64))
        if channels > 1:
            acc /= channels
        yield r0, r1, acc[r0 - s : r1 - s]


def ssim_map(a: np.ndarray, b: np.ndarray, band_rows: int | None = None) -> np.ndarray:
    """Full-size SSIM map (H, W) float32, averaged over channels.

    Gaussian window 11x11, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, reflect
    padding at the borders.  Computed in horizontal bands of ``band_rows``
    rows (default: about 1 Mpx per band) with identical results.
    """
    a, b = _check_pair(a, b)
    out = np.empty(a.shape[:2], np.float32)
    for r0, r1, rows in _ssim_bands(a, b, band_rows):
        out[r0:r1] = rows
    return out


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean SSIM (Wang et al. 2004); per-channel SSIM averaged over channels.

    Without a mask, the map is averaged after cropping a 5 px border (the
    window radius), the convention of ``skimage.metrics.structural_similarity``
    with ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``;
    images with a side of at most 10 px are averaged uncropped.  With a mask,
    the (uncropped) map is averaged over the hole pixels.
    """
    a, b = _check_pair(a, b)
    m = _check_mask(mask, a.shape)
    h, w = a.shape[:2]
    p = _SSIM_RADIUS if min(h, w) > 2 * _SSIM_RADIUS else 0
    total, count = 0.0, 0
    for r0, r1, rows in _ssim_bands(a, b, None):
        if m is not None:
            sel = m[r0:r1]
            total += float(rows[sel].sum())
            count += int(sel.sum())
        else:
            lo, hi = max(r0, p), min(r1, h - p)
            if hi > lo:
                part = rows[lo - r0 : hi - r0, p : w - p]
                total += float(part.sum())
                count += part.size
    return total / count


# ---------------------------------------------------------------- structure


def gmsd(
    a: np.ndarray,
    b: np.ndarray,
    mask: np.ndarray | None = None,
    dilate: int = 3,
    downsample: bool = True,
) -> float:
    """Gradient magnitude similarity deviation (Xue et al. 2014); lower is better.

    On luminance (0-255), optionally 2x2 block-averaged and subsampled as in
    the paper (odd trailing row/column dropped), Prewitt gradients (1/3
    normalised, reflect borders), GMS = (2 m_a m_b + c) / (m_a^2 + m_b^2 + c)
    with c = 170, GMSD = population std of GMS.  With a mask, the std is taken
    over the hole dilated by ``dilate`` px so the seam counts as well.
    """
    a, b = _check_pair(a, b)
    m = _check_mask(mask, a.shape)
    ya, yb = _luma(a), _luma(b)
    if m is not None and dilate > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1, 2 * dilate + 1))
        m = cv2.dilate(m.astype(np.uint8), k, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    h, w = ya.shape
    if downsample and h >= 2 and w >= 2:
        h2, w2 = h // 2, w // 2

        def blocks(x: np.ndarray) -> np.ndarray:
            return x[: 2 * h2, : 2 * w2].reshape(h2, 2, w2, 2)

        ya, yb = blocks(ya).mean(axis=(1, 3)), blocks(yb).mean(axis=(1, 3))
        if m is not None:
            m = blocks(m).any(axis=(1, 3))

    def grad_mag(y: np.ndarray) -> np.ndarray:
        gx = cv2.filter2D(y, cv2.CV_64F, _PREWITT_X, borderType=cv2.BORDER_REFLECT)
        gy = cv2.filter2D(y, cv2.CV_64F, _PREWITT_X.T, borderType=cv2.BORDER_REFLECT)
        return np.sqrt(gx * gx + gy * gy)

    ga, gb = grad_mag(ya), grad_mag(yb)
    gms = (2.0 * ga * gb + _GMSD_C) / (ga * ga + gb * gb + _GMSD_C)
    values = gms if m is None else gms[m]
    return float(values.std())


def _sobel_mag(y: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(y, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
    gy = cv2.Sobel(y, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    return np.sqrt(gx * gx + gy * gy)


def hole_sharpness(restored: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """Mean Sobel gradient magnitude in the hole, restored / reference.

    1.0 = as sharp as the truth, < 1 = blurrier, > 1 = harsher / noisier.
    A tiny epsilon in numerator and denominator keeps flat holes finite
    (flat vs flat -> 1.0).
    """
    restored, reference = _check_pair(restored, reference)
    m = _check_mask(mask, restored.shape, required=True)
    num = float(_sobel_mag(_luma(restored))[m].mean())
    den = float(_sobel_mag(_luma(reference))[m].mean())
    return (num + _EPS) / (den + _EPS)


# ---------------------------------------------------------------- bundle


def all_metrics(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None) -> dict[str, float]:
    """All metrics for one prediction: whole-image mse/psnr/ssim, hole metrics over ``mask``.

    Keys are those of ``METRIC_INFO``.  ``mask=None`` treats the whole image
    as the hole.
    """
    pred, gt = _check_pair(pred, gt)
    if mask is None:
        mask = np.ones(pred.shape[:2], bool)
    mask = _check_mask(mask, pred.shape, required=True)
    err = mse(pred, gt)
    return {
        "mse": err,
        "psnr": _psnr_from_mse(err),
        "ssim": ssim(pred, gt),
        "hole_mae": hole_mae(pred, gt, mask),
        "hole_psnr": hole_psnr(pred, gt, mask),
        "gmsd": gmsd(pred, gt, mask),
        "sharpness": hole_sharpness(pred, gt, mask),
    }

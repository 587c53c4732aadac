"""Colour science for colour restoration: CIE Lab, CIEDE2000, gamut fitting, and the
colour-statistics baseline.

Lab is CIE L*a*b* under D65 from sRGB, computed here in numpy with exact formulas (OpenCV's
float conversion approximates and clips, which would break the lightness guarantee): L in
[0, 100], a and b roughly in [-128, 127]. Colour restoration keeps L and changes only
a and b, so no structure is invented; :func:`lab_to_rgb_in_gamut` shrinks chroma where the
new colour would leave the sRGB gamut, because clipping RGB instead would shift lightness.
"""

from __future__ import annotations

import cv2
import numpy as np

from muralstudio.ops.blend import to_float


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB (float in [0, 1], or uint8/uint16) → float32 Lab of the same shape.

    One channel (grey) gives neutral Lab: its L, a = b = 0.
    """
    if rgb.dtype != np.float32:
        rgb = to_float(rgb) if rgb.dtype.kind == "u" else rgb.astype(np.float32)
    if rgb.shape[-1] == 1:
        zero = np.zeros_like(rgb)
        return np.concatenate([grey_lightness(rgb[..., 0])[..., None], zero, zero], -1)
    xyz = srgb_to_linear(rgb) @ _LINEAR_TO_XYZ.T / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
                    -1).astype(np.float32)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] → linear light."""
    x = np.asarray(rgb, np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


_WHITE = np.array([0.950456, 1.0, 1.088754], np.float32)  # D65, as OpenCV uses
_LINEAR_TO_XYZ = np.array([[0.412453, 0.357580, 0.180423],
                           [0.212671, 0.715160, 0.072169],
                           [0.019334, 0.119193, 0.950227]], np.float32)
_XYZ_TO_LINEAR = np.linalg.inv(_LINEAR_TO_XYZ).astype(np.float32)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """float32 Lab → linear-light RGB, not clipped (outside [0, 1] means out of gamut)."""
    lab = np.asarray(lab, np.float32)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE
    return xyz @ _XYZ_TO_LINEAR.T


def linear_to_rgb(linear: np.ndarray) -> np.ndarray:
    """Linear-light RGB → sRGB-encoded values in [0, 1] (clipped)."""
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def grey_lightness(grey: np.ndarray) -> np.ndarray:
    """L* of neutral grey values in [0, 1]."""
    y = srgb_to_linear(grey)
    return np.where(y > (6 / 29) ** 3, 116 * np.cbrt(y) - 16, y * 116 / (3 * (6 / 29) ** 2)).astype(np.float32)


def lab_to_rgb_in_gamut(lab: np.ndarray, iterations: int = 10) -> np.ndarray:
    """RGB in [0, 1] of ``lab``, with a and b scaled towards grey just enough to stay in gamut.

    A neutral colour is always in gamut, so a bisection on the chroma scale per pixel finds
    the most saturated colour of the same L and hue that sRGB can show.
    """
    lab = np.array(lab, np.float32)
    lab[..., 0] = np.clip(lab[..., 0], 0.0, 100.0)
    linear = lab_to_linear(lab)
    tol = 1e-5
    out = ((linear < -tol) | (linear > 1 + tol)).any(axis=-1)
    if out.any():
        sel = lab[out]  # (n, 3)
        lo = np.zeros(len(sel), np.float32)
        hi = np.ones(len(sel), np.float32)
        for _ in range(iterations):
            mid = (lo + hi) / 2
            t = lab_to_linear(np.concatenate([sel[:, :1], sel[:, 1:] * mid[:, None]], 1))
            ok = ((t >= -tol) & (t <= 1 + tol)).all(axis=-1)
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        linear[out] = lab_to_linear(np.concatenate([sel[:, :1], sel[:, 1:] * lo[:, None]], 1))
    return linear_to_rgb(linear)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1) of Lab arrays (..., 3), element-wise."""
    L1, a1, b1 = (np.asarray(lab1, np.float64)[..., i] for i in range(3))
    L2, a2, b2 = (np.asarray(lab2, np.float64)[..., i] for i in range(3))
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1
    dCp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    Lp = (L1 + L2) / 2
    Cp = (c1p + c2p) / 2
    hsum = h1p + h2p
    hp = np.where(np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2))
    hp = np.where(c1p * c2p == 0, hsum, hp)
    t = (1 - 0.17 * np.cos(np.radians(hp - 30)) + 0.24 * np.cos(np.radians(2 * hp))
         + 0.32 * np.cos(np.radians(3 * hp + 6)) - 0.20 * np.cos(np.radians(4 * hp - 63)))
    d_theta = 30 * np.exp(-(((hp - 275) / 25) ** 2))
    rc = 2 * np.sqrt(Cp**7 / (Cp**7 + 25.0**7))
    sl = 1 + 0.015 * (Lp - 50) ** 2 / np.sqrt(20 + (Lp - 50) ** 2)
    sc = 1 + 0.045 * Cp
    sh = 1 + 0.015 * Cp * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return np.sqrt((dLp / sl) ** 2 + (dCp / sc) ** 2 + (dHp / sh) ** 2 + rt * (dCp / sc) * (dHp / sh))


def match_surroundings(lab: np.ndarray, mask: np.ndarray, ring: int = 32,
                       prior: np.ndarray | None = None) -> np.ndarray:
    """The colour-statistics baseline: inside each region of ``mask``, a and b shifted and
    scaled to the mean and spread of a ring of known pixels around it (L kept).

    A region without colour (a grey photograph's patch) takes the ring's mean colour. A
    region with no known pixel around (a whole grey photograph) takes ``prior``'s colour
    per lightness (:func:`lightness_prior`) when one is given, else stays as it is.
    """
    out = lab.copy()
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1))
    h, w = mask.shape
    for i in range(1, count):
        x, y, bw, bh, _ = stats[i]
        y0, x0 = max(0, y - ring), max(0, x - ring)
        y1, x1 = min(h, y + bh + ring), min(w, x + bw + ring)
        region = labels[y0:y1, x0:x1] == i
        around = cv2.dilate(region.astype(np.uint8), kernel).astype(bool) & ~mask[y0:y1, x0:x1]
        view = out[y0:y1, x0:x1]
        if not around.any():
            if prior is not None:
                view[region, 1:] = prior_ab(view[region, 0], prior)
            continue
        src = lab[y0:y1, x0:x1, 1:][region]
        ref = lab[y0:y1, x0:x1, 1:][around]
        sd_src, sd_ref = src.std(axis=0), ref.std(axis=0)
        scale = np.where(sd_src > 1.0, sd_ref / np.maximum(sd_src, 1e-6), 0.0)
        new = (src - src.mean(axis=0)) * scale + ref.mean(axis=0)
        view[region, 1:] = new
    return out


def region_depth(mask: np.ndarray, unit: float = 64.0) -> np.ndarray:
    """(H, W, 2) float32 depth of each pixel inside its region of ``mask`` (zero outside):
    its distance from the region's edge relative to the region's deepest point, and in units
    of ``unit`` pixels (capped at 3). Fading is usually strongest deep inside a patch, so the
    colorization network takes these to correct a region unevenly."""
    m = mask.astype(np.uint8)
    if not m.any():
        return np.zeros((*mask.shape, 2), np.float32)
    if m.all():  # a whole grey photograph: no edge inside the image
        return np.stack([np.ones(mask.shape), np.full(mask.shape, 3.0)], -1).astype(np.float32)
    dist = cv2.distanceTransform(m, cv2.DIST_L2, 5)
    count, labels = cv2.connectedComponents(m, connectivity=8)
    deepest = np.zeros(count, np.float32)
    np.maximum.at(deepest, labels.ravel(), dist.ravel())
    relative = dist / np.maximum(deepest[labels], 1.0)
    return np.stack([relative, np.minimum(dist / unit, 3.0)], -1).astype(np.float32)


def lightness_prior(labs: list[np.ndarray], bins: int) -> np.ndarray:
    """(bins, 2) float32 mean a, b per lightness bin over Lab images: what colour paint of a
    given lightness usually has on these murals (a grey photograph's best plain guess)."""
    sums = np.zeros((bins, 2))
    counts = np.zeros(bins)
    for lab in labs:
        flat = lab.reshape(-1, 3)
        idx = _prior_bin(flat[:, 0], bins)
        np.add.at(sums, idx, flat[:, 1:])
        np.add.at(counts, idx, 1)
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)


def prior_ab(lightness: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(..., 2) a, b of ``prior`` for each lightness value."""
    return prior[_prior_bin(lightness, len(prior))]


def _prior_bin(lightness: np.ndarray, bins: int) -> np.ndarray:
    return np.clip((lightness / 100 * bins).astype(int), 0, bins - 1)

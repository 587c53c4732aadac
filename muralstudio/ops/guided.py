"""The guided filter (He, Sun and Tang): edge-preserving smoothing steered by a guide image.

Colour restoration computes chroma at a reduced working resolution; upsampled plainly, its
edges are soft and colour bleeds across the sharp lightness edges of the full-resolution
scan. Filtering the upsampled chroma with the full-resolution lightness as guide makes each
output locally a linear function of the guide, so chroma edges snap to lightness edges.

Everything runs in float32 on box filters (O(1) per pixel whatever the radius). With
``subsample`` > 1 the linear coefficients are found on a subsampled copy and upsampled
(the "fast guided filter", He and Sun 2015), which is much faster for large radii.
"""

from __future__ import annotations

import cv2
import numpy as np


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r + 1)² window of each channel of ``x`` (H, W) or (H, W, C), borders
    reflected; the shape is kept."""
    k = 2 * radius + 1
    out = cv2.boxFilter(x, -1, (k, k), normalize=True, borderType=cv2.BORDER_REFLECT)
    return out.reshape(x.shape)


def _coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Window means of the linear coefficients a, b (H, W, C) with q = a * guide + b."""
    g = guide[..., None]
    mean_g = box_mean(guide, radius)[..., None]
    var_g = np.maximum(box_mean(guide * guide, radius)[..., None] - mean_g * mean_g, 0.0)
    mean_s = box_mean(src, radius)
    cov = box_mean(g * src, radius) - mean_g * mean_s
    a = cov / (var_g + np.float32(eps))
    b = mean_s - a * mean_g
    return box_mean(a, radius), box_mean(b, radius)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float, subsample: int = 1
                  ) -> np.ndarray:
    """``src`` (H, W, C) (or (H, W)) filtered with ``guide`` (H, W) as guide; float32, same shape.

    ``radius``: window radius in pixels; ``eps``: regularisation in squared guide units (a
    guide in [0, 1] with ``eps`` = 1e-3 keeps edges of more than about 0.03); a constant
    ``src`` comes back unchanged. ``subsample`` > 1 computes the coefficients on a copy
    shrunk by that factor (radius shrunk alike), then applies them at full resolution.
    """
    guide = np.asarray(guide, np.float32)
    src = np.asarray(src, np.float32)
    flat = src.ndim == 2
    if flat:
        src = src[..., None]
    if guide.shape != src.shape[:2]:
        raise ValueError(f"guide {guide.shape} and src {src.shape[:2]} differ in size")
    h, w = guide.shape
    radius = int(radius)
    if radius < 1 or h == 0 or w == 0:
        out = src.copy()
    elif subsample > 1 and min(h, w) >= 2 * subsample:
        k, c = int(subsample), src.shape[2]
        pad = ((0, -h % k), (0, -w % k))
        g = np.pad(guide, pad, mode="edge")
        p = np.pad(src, (*pad, (0, 0)), mode="edge")
        sh, sw = g.shape[0] // k, g.shape[1] // k
        # block means on a grid anchored at the top-left pixel, so filtering a window of an
        # image whose origin lies on that grid gives the same values as filtering the whole
        g_small = g.reshape(sh, k, sw, k).mean(axis=(1, 3))
        p_small = p.reshape(sh, k, sw, k, c).mean(axis=(1, 3))
        a, b = _coefficients(g_small, p_small, max(1, round(radius / k)), eps)
        size = (sw * k, sh * k)
        a = cv2.resize(a, size, interpolation=cv2.INTER_LINEAR).reshape(sh * k, sw * k, c)[:h, :w]
        b = cv2.resize(b, size, interpolation=cv2.INTER_LINEAR).reshape(sh * k, sw * k, c)[:h, :w]
        out = a * guide[..., None] + b
    else:
        a, b = _coefficients(guide, src, radius, eps)
        out = a * guide[..., None] + b
    out = out.astype(np.float32, copy=False)
    return out[..., 0] if flat else out

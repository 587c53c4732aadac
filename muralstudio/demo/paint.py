"""Drawing primitives for the demo mural: noise, splines, brush strokes and a paint canvas.

Rendered in float32 so the 16-bit demo carries real sub-8-bit detail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

Color = tuple[float, float, float]

# Mineral-pigment palette (sRGB, 0..1), as these pigments read on the walls today.
OCHRE: Color = (0.74, 0.56, 0.37)
MALACHITE: Color = (0.34, 0.55, 0.47)
AZURITE: Color = (0.25, 0.35, 0.55)
CINNABAR: Color = (0.68, 0.26, 0.17)
RED_OCHRE: Color = (0.55, 0.25, 0.16)
DARK_BROWN: Color = (0.27, 0.19, 0.15)
LEAD_WHITE: Color = (0.88, 0.84, 0.74)
FLESH: Color = (0.87, 0.74, 0.62)
DARK_FLESH: Color = (0.47, 0.37, 0.32)  # lead white darkened to brown over the centuries
GOLD: Color = (0.80, 0.62, 0.30)
INK: Color = (0.10, 0.075, 0.06)
RED_LINE: Color = (0.40, 0.16, 0.10)  # red-brown drawing line of flesh

def fractal_noise(shape: tuple[int, int], rng: np.random.Generator, cells: float = 6,
                  octaves: int = 4, gain: float = 0.5, aspect: float = 1.0) -> np.ndarray:
    """Smooth value noise (float32, std 1): random grids upsampled bicubically and summed.

    ``cells`` is the number of features across the longer side of the first octave;
    ``aspect`` > 1 stretches the features horizontally (trowel sweeps, tide lines).
    """
    h, w = shape
    out = np.zeros((h, w), np.float32)
    amp, big = 1.0, max(h, w)
    for i in range(octaves):
        c = cells * 2**i
        gh = max(2, round(c * h / big)) + 2
        gw = max(2, round(c * w / big / aspect)) + 2
        grid = rng.standard_normal((gh, gw), dtype=np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        amp *= gain
    out -= out.mean()
    return out / (out.std() + 1e-6)


def catmull_rom(ctrl: Sequence[Sequence[float]] | np.ndarray, n: int = 12,
                closed: bool = False) -> np.ndarray:
    """Smooth curve (M, 2) through the control points, ``n`` samples per span."""
    p = np.asarray(ctrl, np.float64)
    p = np.vstack([p[-1], p, p[0], p[1]]) if closed else np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0.0, 1.0, n, endpoint=False)[None, :, None]
    p0, p1, p2, p3 = (p[i:len(p) - 3 + i, None, :] for i in range(4))
    out = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
    out = out.reshape(-1, 2)
    return out if closed else np.vstack([out, p[-2]])


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 48, rot: float = 0.0) -> np.ndarray:
    """Closed polygon (n, 2) of an ellipse rotated by ``rot`` radians."""
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    x, y = rx * np.cos(a), ry * np.sin(a)
    c, s = math.cos(rot), math.sin(rot)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], 1)


def stroke_outline(pts: np.ndarray, widths: np.ndarray | float) -> np.ndarray:
    """Polygon of a variable-width brush stroke along the polyline ``pts``."""
    pts = np.asarray(pts, np.float64)
    d = np.empty_like(pts)
    d[1:-1] = pts[2:] - pts[:-2]
    d[0], d[-1] = pts[1] - pts[0], pts[-1] - pts[-2]
    half = np.asarray(widths, np.float64) * 0.5 / (np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2) + 1e-12)
    nrm = np.empty_like(pts)
    nrm[:, 0], nrm[:, 1] = -d[:, 1] * half, d[:, 0] * half
    return np.concatenate([pts + nrm, (pts - nrm)[::-1]])


def raster_polys(polys: Sequence[np.ndarray], shape: tuple[int, int], pad: int = 2
                 ) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Antialiased union of polygons (pixel coordinates) as a uint8 mask over its bounding box."""
    allp = polys[0] if len(polys) == 1 else np.concatenate(polys)
    h, w = shape
    lo, hi = allp.min(0), allp.max(0)
    x0, y0 = max(int(math.floor(lo[0])) - pad, 0), max(int(math.floor(lo[1])) - pad, 0)
    x1, y1 = min(int(math.ceil(hi[0])) + pad + 1, w), min(int(math.ceil(hi[1])) + pad + 1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    m = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for p in polys:
        q = np.round((np.asarray(p) - (x0, y0)) * 16).clip(-2**26, 2**26).astype(np.int32)
        cv2.fillPoly(m, [q], 255, cv2.LINE_AA, 4)
    return (slice(y0, y1), slice(x0, x1)), m


_SIX = np.linspace(0, 1, 6)


class Canvas:
    """Float RGB wall being painted; scene coordinates are units of a centred 4 x 3 canvas."""

    def __init__(self, width: int, height: int, rng: np.random.Generator) -> None:
        self.h, self.w, self.rng = height, width, rng
        self.u = min(width / 4, height / 3)  # pixels per scene unit
        self.px = self.u / 512  # line widths are given in pixels at the default 2048 x 1536
        self.ox, self.oy = (width - 4 * self.u) / 2, (height - 3 * self.u) / 2
        self.bounds = (-self.ox / self.u, -self.oy / self.u,
                       (width - self.ox) / self.u, (height - self.oy) / self.u)
        self.img = np.empty((height, width, 3), np.float32)
        g = rng.standard_normal((height, width), dtype=np.float32)
        g = cv2.GaussianBlur(g, (0, 0), max(0.8, 1.1 * self.px))
        self.grain = g / (g.std() + 1e-6)  # pigment granularity
        self.mottle = fractal_noise((height, width), rng, cells=40, octaves=3, gain=0.6)

    def to_px(self, pts: np.ndarray) -> np.ndarray:
        return np.asarray(pts, np.float64) * self.u + (self.ox, self.oy)

    def _blend(self, sl: tuple[slice, slice], a: np.ndarray, color: Color, grain: float,
               dry: float = 0.0, tone: float = 0.0) -> None:
        """Lay ``color`` over the region with coverage ``a``; sparse strokes touch only their pixels.

        ``dry`` > 0 lets the plaster grain break the layer up, as a dry brush does; ``tone``
        varies the pigment's density in broad patches, as hand-ground paint lies on a wall.
        """
        roi, col = self.img[sl], np.asarray(color, np.float32)
        on = a > 1e-3
        if np.count_nonzero(on) < 0.4 * on.size:
            ys, xs = np.nonzero(on)
            pix, g, av = roi[ys, xs], self.grain[sl][ys, xs], a[ys, xs]
            if dry:
                av *= np.clip(1.05 - dry * g * g, 0.3, 1)
            f = 1 + grain * g + (tone * self.mottle[sl][ys, xs] if tone else 0)
            roi[ys, xs] = pix + (col * f[:, None] - pix) * av[:, None]
        else:
            g = self.grain[sl]
            if dry:
                a = a * np.clip(1.05 - dry * g * g, 0.3, 1)
            f = 1 + grain * g + (tone * self.mottle[sl] if tone else 0)
            roi += (col * f[..., None] - roi) * a[..., None]

    def fill(self, polys: Sequence[np.ndarray], color: Color, opacity: float = 0.97,
             soft: float = 0.8, grain: float | None = None, patchy: float = 0.07,
             shade: tuple[Color, float, float] | None = None) -> None:
        """Paint polygons (scene units) with a granular, slightly uneven pigment layer.

        ``shade`` = (colour, strength, width in px) darkens the fill towards its contour,
        the Tang way of modelling flesh and drapery.
        """
        sw = shade[2] * self.px if shade else 0.0
        r = raster_polys([self.to_px(p) for p in polys], (self.h, self.w), pad=int(3 + 3 * sw))
        if r is None:
            return
        sl, m = r
        if grain is None:  # ground minerals are coarse; lead white and flesh tones are smooth
            grain = 0.02 if color in (FLESH, DARK_FLESH, LEAD_WHITE) else 0.055
        a = m.astype(np.float32) * (1 / 255)
        if soft > 0:
            a = cv2.GaussianBlur(a, (0, 0), soft * max(self.px, 0.5))
        if shade:
            e = np.clip(2 * (1 - cv2.GaussianBlur(a, (0, 0), sw)), 0, 1) * a
            self._blend(sl, e * shade[1], shade[0], grain)
        a *= opacity * (1 - patchy * np.clip(0.5 + self.mottle[sl], 0, 2))
        self._blend(sl, a, color, grain, tone=0.045)

    def stroke(self, pts: np.ndarray, width: float, color: Color = INK, opacity: float = 0.9,
               taper: float = 0.75) -> None:
        """Brush line (scene units) of ``width`` px that swells mid-stroke and tapers at the ends."""
        pts = np.asarray(pts, np.float64)
        if len(pts) < 2:
            return
        t = np.arange(len(pts)) / (len(pts) - 1)
        wob = np.interp(t, _SIX, 1 + 0.3 * self.rng.standard_normal(6)).clip(0.4)
        prof = (1 - taper) + taper * np.sin(math.pi * t) ** 0.5
        w = np.maximum(width * self.px, 0.7) * prof * wob
        r = raster_polys([stroke_outline(self.to_px(pts), w)], (self.h, self.w))
        if r is not None:  # ink skips over the plaster's grain a little: dry-brush texture
            sl, m = r
            self._blend(sl, m.astype(np.float32) * (opacity / 255), color, 0.04, dry=0.12)

    def shape(self, ctrl: Sequence[Sequence[float]] | np.ndarray, color: Color, ink: float = 2.6,
              ink_color: Color = INK, spline: bool = True, **fill_kw) -> np.ndarray:
        """Closed smooth shape: filled, then outlined in two or three overlapping brush strokes."""
        pts = catmull_rom(ctrl, 10, closed=True) if spline else np.asarray(ctrl, np.float64)
        slip = self.rng.normal(0, 0.9 * self.px / self.u, 2)  # paint never sits exactly in its lines
        self.fill([pts + slip], color, **fill_kw)
        if ink > 0:  # flesh is drawn in red-brown line, everything else in dark ink
            self.outline(pts, ink, RED_LINE if color in (FLESH, DARK_FLESH) and ink_color == INK else ink_color)
        return pts

    def outline(self, pts: np.ndarray, ink: float, color: Color = INK) -> None:
        """Outline a closed polygon with a few overlapping tapered strokes, like brush lifts."""
        n, k = len(pts), int(self.rng.integers(2, 4))
        start = int(self.rng.integers(0, n))
        cuts = [start + round(i * n / k) for i in range(k + 1)]
        for a, b in zip(cuts[:-1], cuts[1:]):
            idx = np.arange(a - 2, b + 3) % n
            self.stroke(pts[idx], ink, color, taper=0.8)

    def ribbon(self, ctrl: Sequence[Sequence[float]], width: float, colors: tuple[Color, Color],
               twists: float = 1.5, phase: float = 0.3, ink: float = 1.6) -> None:
        """Flowing scarf: a band along a spline that twists, showing front and back colours."""
        path = catmull_rom(ctrl, 24)
        t = np.linspace(0, 1, len(path))
        c = np.cos(math.pi * (twists * t + phase))
        w = width * (0.35 + 0.65 * np.abs(c)) * (1 - 0.55 * t)
        side = c >= 0
        breaks = np.flatnonzero(side[1:] != side[:-1]) + 1
        for seg in np.split(np.arange(len(path)), breaks):
            seg = np.arange(max(seg[0] - 1, 0), min(seg[-1] + 2, len(path)))
            if len(seg) < 2:
                continue
            poly = stroke_outline(path[seg], w[seg])
            self.fill([poly], colors[0] if side[seg[len(seg) // 2]] else colors[1], soft=0.5)
            half = len(poly) // 2
            self.stroke(poly[:half], ink, taper=0.5)
            self.stroke(poly[half:], ink, taper=0.5)

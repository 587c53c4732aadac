"""A procedural, undamaged Dunhuang-style mural: the ground truth of the built-in demo.

Everything is rendered in float32 so the 16-bit output carries real sub-8-bit detail: an
ochre plaster ground, mineral-pigment fills with granular, slightly patchy coverage, and
tapering ink outlines drawn as antialiased polygons. The scene (seated Buddha in a flame
mandorla, two standing bodhisattvas, flying apsaras, clouds, lotuses, border bands) is laid
out on a virtual 4 x 3 canvas so any image size or aspect gives the same picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from muralstudio.demo.paint import (
    OCHRE,
    MALACHITE,
    AZURITE,
    CINNABAR,
    RED_OCHRE,
    DARK_BROWN,
    LEAD_WHITE,
    FLESH,
    DARK_FLESH,
    GOLD,
    INK,
    RED_LINE,
    Canvas,
    Color,
    catmull_rom,
    ellipse,
    fractal_noise,
    stroke_outline,
)





def _local(ctrl: Sequence[Sequence[float]], cx: float, cy: float, s: float, flip: float = 1.0) -> np.ndarray:
    """Figure-local control points (x right, y down, in figure heights) to scene units."""
    p = np.asarray(ctrl, np.float64)
    return np.stack([cx + flip * s * p[:, 0], cy + s * p[:, 1]], 1)


def flame(cx: float, cy: float, r: float, tip: float = 1.5) -> np.ndarray:
    """Control points of a pointed, flame-shaped halo (round below, drawn up to a tip)."""
    a = np.deg2rad(np.arange(-60, 241, 30))
    pts = [(cx + r * math.cos(v), cy + r * math.sin(v)) for v in a]
    return np.array(pts + [(cx - 0.55 * r, cy - 1.05 * r), (cx, cy - tip * r), (cx + 0.55 * r, cy - 1.05 * r)])


def halo(c: Canvas, cx: float, cy: float, r: float, colors: Sequence[Color], pointed: bool = False) -> None:
    """Concentric coloured rings, each inked: flame tongues on the outer band, dots, inner rays."""
    n, bw = len(colors), 0.8 * r / len(colors)
    for i, col in enumerate(colors):
        ri = r * (1 - i * 0.8 / n)
        ctr = np.array([cx, cy + (r - ri) * 0.25]) if pointed else np.array([cx, cy])
        ctrl = flame(*ctr, ri) if pointed else ellipse(cx, cy, ri, ri, 16)
        pts = c.shape(ctrl, col, ink=2.8 if i == 0 else 1.8, patchy=0.1)
        d = ctr - pts
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        tan = np.stack([-d[:, 1], d[:, 0]], 1)
        if i == 0 and n > 2:  # flame tongues leaning one way round the outer band
            arc = np.r_[0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
            marks = np.arange(0, arc[-1] - 0.3 * bw, 0.55 * bw)
            for k, j in enumerate(np.searchsorted(arc, marks)):
                q, dd, tt = pts[j], d[j] * bw, tan[j] * bw
                c.shape([q + dd * 0.95 - tt * 0.22, q + dd * 0.5 - tt * 0.2, q + dd * 0.1 + tt * 0.18,
                         q + dd * 0.55 + tt * 0.15, q + dd * 0.95 + tt * 0.2], (CINNABAR, GOLD, MALACHITE)[k % 3],
                        1.3, patchy=0.25)
        elif i < n - 1 and i % 2 and bw * c.u > 6:  # a string of pearls
            for j in range(0, len(pts), 4):
                c.fill([ellipse(*(pts[j] + d[j] * bw * 0.5), bw * 0.16, bw * 0.16, 10)], LEAD_WHITE, 0.9)
        elif i == n - 1 and n > 3:  # fine rays in the innermost field
            for j in range(0, len(pts), 3):
                c.stroke([pts[j] + d[j] * ri * 0.1, pts[j] + d[j] * ri * 0.6], 1.4, RED_OCHRE, 0.55, 0.9)


def face(c: Canvas, x: float, y: float, r: float, urna: bool = False) -> None:
    """Downcast almond eyes, arched brows, nose and small red mouth of a frontal face."""
    for sgn in (-1, 1):
        c.stroke(catmull_rom([(x + sgn * r * 0.75, y - r * 0.15), (x + sgn * r * 0.42, y - r * 0.33),
                              (x + sgn * r * 0.12, y - r * 0.28)], 6), 1.6)
        c.stroke(catmull_rom([(x + sgn * r * 0.68, y + r * 0.03), (x + sgn * r * 0.4, y - r * 0.05),
                              (x + sgn * r * 0.14, y + r * 0.03)], 6), 1.9)
    c.stroke([(x, y - r * 0.1), (x - r * 0.06, y + r * 0.3), (x + r * 0.08, y + r * 0.35)], 1.3, RED_OCHRE)
    c.fill([ellipse(x, y + r * 0.55, r * 0.16, r * 0.06, 12)], CINNABAR, 0.8)
    if urna:
        c.fill([ellipse(x, y - r * 0.42, r * 0.06, r * 0.06, 10)], CINNABAR, 0.9)


def head(c: Canvas, x: float, y: float, r: float, flesh: Color, ushnisha: bool = False) -> None:
    """Oval head with long ears, dark hair cap (and the Buddha's cranial bump), and a face."""
    for sgn in (-1, 1):
        c.shape(ellipse(x + sgn * r * 0.95, y + r * 0.15, r * 0.2, r * 0.45, 12), flesh, 1.5)
    c.shape(ellipse(x, y, r * 0.82, r, 20), flesh, 2.2, shade=(RED_OCHRE, 0.35, 10))
    hair = [(x - r * 0.84, y - r * 0.1), (x - r * 0.7, y - r * 0.75), (x, y - r * 1.08),
            (x + r * 0.7, y - r * 0.75), (x + r * 0.84, y - r * 0.1), (x, y - r * 0.55)]
    c.shape(hair, DARK_BROWN if ushnisha else AZURITE, 2.0)
    if ushnisha:
        c.shape(ellipse(x, y - r * 1.2, r * 0.45, r * 0.38, 16), DARK_BROWN, 2.0)
    else:  # small three-pointed crown
        for dx in (-0.45, 0, 0.45):
            c.shape([(x + (dx - 0.22) * r, y - r * 0.8), (x + dx * r, y - r * 1.45),
                     (x + (dx + 0.22) * r, y - r * 0.8)], GOLD, 1.6, spline=False)
    face(c, x, y, r, urna=ushnisha)


def lotus_seat(c: Canvas, cx: float, y: float, w: float, colors: Sequence[Color]) -> None:
    """Row of overlapping pointed petals: the lotus pedestal under a figure."""
    n = 7
    for row, (dy, k) in enumerate(((-0.05, n - 1), (0.0, n))):
        for i in range(k):
            px = cx - w / 2 + w * (i + 0.5 + 0.5 * (row == 0)) / n
            pw, ph = w / n * 0.62, w * 0.16
            yb = y + dy * w
            c.shape([(px - pw, yb), (px - pw * 0.9, yb - ph * 0.5), (px, yb - ph),
                      (px + pw * 0.9, yb - ph * 0.5), (px + pw, yb), (px, yb + ph * 0.12)],
                     colors[(i + row) % len(colors)], 1.8, shade=(LEAD_WHITE, 0.4, 6))


def seated_buddha(c: Canvas, cx: float, by: float, s: float, robe: Color, lining: Color) -> None:
    """Buddha in meditation on a lotus, before a flame mandorla and a round head halo."""
    halo(c, cx, by - 0.52 * s, 0.56 * s, (RED_OCHRE, AZURITE, MALACHITE, LEAD_WHITE, DARK_BROWN), True)
    halo(c, cx, by - 0.8 * s, 0.2 * s, (MALACHITE, CINNABAR, AZURITE, GOLD))
    lotus_seat(c, cx, by, 0.8 * s, (CINNABAR, LEAD_WHITE, MALACHITE))
    L = lambda pts: _local(pts, cx, by, s)  # noqa: E731
    c.shape(L([(-0.38, -0.1), (-0.4, -0.2), (-0.26, -0.3), (0, -0.31), (0.26, -0.3), (0.4, -0.2),
               (0.38, -0.1), (0, -0.08)]), robe, shade=(DARK_BROWN, 0.4, 18))
    c.shape(L([(-0.19, -0.58), (-0.22, -0.45), (-0.18, -0.29), (0.18, -0.29), (0.22, -0.45),
               (0.19, -0.58), (0.08, -0.64), (-0.08, -0.64)]), robe, shade=(DARK_BROWN, 0.4, 18))
    c.shape(L([(-0.13, -0.62), (0.03, -0.64), (0.17, -0.33), (0.06, -0.31)]), lining, 2.0, spline=False)
    c.shape(L([(-0.06, -0.64), (0.05, -0.64), (0.0, -0.55)]), DARK_FLESH, 1.8, spline=False)
    c.shape(L([(-0.032, -0.74), (0.032, -0.74), (0.04, -0.635), (-0.04, -0.635)]), DARK_FLESH, 1.6)
    c.shape(L([(-0.1, -0.34), (0, -0.37), (0.1, -0.34), (0, -0.3)]), DARK_FLESH, 2.0)
    for k in range(4):  # drapery folds on chest and legs
        d = 0.04 * k
        c.stroke(catmull_rom(L([(-0.15 + d * 0.3, -0.52 + d), (0, -0.45 + d), (0.15 - d * 0.3, -0.52 + d)]), 8), 2.0)
        c.stroke(catmull_rom(L([(-0.34 + d, -0.22 + d * 0.4), (-0.15, -0.16 + d * 0.4), (0.05 + d, -0.2 + d * 0.3)]), 8), 2.0)
    head(c, cx, by - 0.8 * s, 0.095 * s, DARK_FLESH, ushnisha=True)
    c.stroke(catmull_rom(L([(-0.03, -0.665), (0, -0.655), (0.03, -0.665)]), 4), 1.4, RED_LINE)


def bodhisattva(c: Canvas, cx: float, fy: float, s: float, flip: float, skirt: Color, apron: Color,
                scarf: tuple[Color, Color]) -> None:
    """Standing bodhisattva in a gentle S-pose, with scarf loops, on a small lotus."""
    L = lambda pts: _local(pts, cx, fy, s, flip)  # noqa: E731
    halo(c, cx, fy - 0.86 * s, 0.15 * s, (AZURITE, MALACHITE, CINNABAR, LEAD_WHITE))
    c.ribbon(L([(-0.09, -0.72), (-0.2, -0.55), (-0.16, -0.34), (-0.24, -0.14), (-0.32, 0.0)]), 0.05 * s, scarf, 2.2)
    c.ribbon(L([(0.09, -0.72), (0.19, -0.52), (0.17, -0.3), (0.25, -0.12), (0.3, 0.02)]), 0.05 * s, scarf[::-1], 2.0)
    lotus_seat(c, cx, fy + 0.01 * s, 0.34 * s, (LEAD_WHITE, CINNABAR))
    for sgn in (-1, 1):
        c.shape(L([(sgn * 0.05 - 0.03, -0.02), (sgn * 0.05, -0.06), (sgn * 0.05 + 0.03, -0.02)]), FLESH, 1.6)
    c.shape(L([(-0.085, -0.5), (-0.11, -0.3), (-0.14, -0.05), (0, -0.03), (0.14, -0.05), (0.11, -0.3),
               (0.085, -0.5)]), skirt, shade=(DARK_BROWN, 0.35, 14))
    for k in range(5):
        x = -0.06 + 0.03 * k
        c.stroke(catmull_rom(L([(x, -0.42), (x * 1.3, -0.25), (x * 1.6, -0.07)]), 8), 1.8)
    c.shape(L([(-0.09, -0.52), (-0.12, -0.4), (0, -0.34), (0.12, -0.4), (0.09, -0.52)]), apron)
    c.shape(L([(-0.1, -0.715), (-0.088, -0.63), (-0.07, -0.56), (-0.062, -0.5), (0.062, -0.5), (0.07, -0.56),
               (0.088, -0.63), (0.1, -0.715), (0.05, -0.745), (-0.05, -0.745)]), FLESH, shade=(RED_OCHRE, 0.4, 14))
    c.shape(L([(-0.1, -0.71), (-0.135, -0.6), (-0.12, -0.47), (-0.095, -0.46), (-0.105, -0.6), (-0.075, -0.68)]),
            FLESH, 2.0, shade=(RED_OCHRE, 0.3, 8))
    c.shape(L([(0.1, -0.71), (0.15, -0.62), (0.09, -0.6), (0.055, -0.64), (0.09, -0.62), (0.11, -0.64),
               (0.075, -0.68)]), FLESH, 2.0, shade=(RED_OCHRE, 0.3, 8))
    c.stroke(catmull_rom(L([(0.06, -0.62), (0.045, -0.7), (0.06, -0.8)]), 8), 2.4, MALACHITE, 0.95)
    c.shape(ellipse(*L([(0.06, -0.82)])[0], 0.018 * s, 0.03 * s, 12), CINNABAR, 1.5)
    c.ribbon(L([(-0.115, -0.46), (-0.05, -0.37), (0.05, -0.36), (0.12, -0.44)]), 0.035 * s, scarf, 1.0, 0.1)
    for k in range(9):
        a = math.pi * (0.15 + 0.7 * k / 8)
        c.shape(ellipse(*L([(0.07 * math.cos(a), -0.745 + 0.06 * math.sin(a))])[0], 0.008 * s, 0.008 * s, 8),
                LEAD_WHITE if k % 2 else MALACHITE, 1.0, soft=0.3)
    c.shape(L([(-0.022, -0.83), (0.022, -0.83), (0.032, -0.735), (-0.032, -0.735)]), FLESH, 1.6)
    head(c, cx, fy - 0.86 * s, 0.06 * s, FLESH)


def apsara(c: Canvas, cx: float, cy: float, s: float, flip: float, skirt: Color,
           scarf: tuple[Color, Color]) -> None:
    """Flying apsara: body gliding forward, legs swept up behind, long scarves trailing."""
    L = lambda pts: _local(pts, cx, cy, s, flip)  # noqa: E731
    c.ribbon(L([(0.26, -0.02), (0.05, -0.16), (-0.25, -0.08), (-0.55, -0.24), (-0.9, -0.12)]), 0.05 * s, scarf, 2.5)
    c.ribbon(L([(0.22, 0.05), (0.0, 0.16), (-0.3, 0.1), (-0.6, 0.22), (-0.85, 0.3)]), 0.045 * s, scarf[::-1], 2.2, 0.6)
    halo(c, cx + flip * 0.36 * s, cy - 0.02 * s, 0.085 * s, (MALACHITE, CINNABAR, LEAD_WHITE))
    c.shape(L([(0.06, 0.04), (-0.12, 0.02), (-0.32, -0.06), (-0.46, -0.14), (-0.42, -0.04), (-0.25, 0.07),
               (-0.05, 0.13), (0.1, 0.12)]), skirt, shade=(DARK_BROWN, 0.35, 12))
    for k in range(3):
        c.stroke(catmull_rom(L([(0.02, 0.06 + 0.025 * k), (-0.18, 0.04 + 0.02 * k), (-0.38, -0.07 + 0.02 * k)]), 8), 1.7)
    c.shape(L([(0.3, 0.0), (0.18, -0.01), (0.04, 0.04), (0.06, 0.12), (0.2, 0.09), (0.31, 0.05)]),
            FLESH, shade=(RED_OCHRE, 0.4, 10))
    c.shape(L([(0.27, 0.03), (0.37, 0.1), (0.47, 0.07), (0.47, 0.095), (0.37, 0.125), (0.26, 0.07)]), FLESH, 1.8)
    c.shape(ellipse(*L([(0.5, 0.065)])[0], 0.03 * s, 0.02 * s, 12), LEAD_WHITE, 1.4)
    head(c, cx + flip * 0.36 * s, cy - 0.02 * s, 0.045 * s, FLESH)


def cloud(c: Canvas, cx: float, cy: float, r: float, flip: float, rim: Color) -> None:
    """Auspicious cloud scroll: three curling lobes with coloured rims and a tapering tail."""
    tail = catmull_rom([(cx, cy + 0.3 * r), (cx - flip * 1.6 * r, cy + 0.5 * r), (cx - flip * 3.2 * r, cy)], 12)
    c.fill([stroke_outline(tail, np.linspace(1.1 * r, 0.05 * r, len(tail)))], rim, 0.9)
    c.outline(stroke_outline(tail, np.linspace(1.1 * r, 0.05 * r, len(tail))), 1.8)
    for dx, dy, k in ((-0.9, 0.25, 0.75), (0.9, 0.25, 0.75), (0, -0.25, 1.0)):
        x, y, rr = cx + dx * r, cy + dy * r, r * k
        c.shape(ellipse(x, y, rr, rr, 16), rim, 2.0)
        c.fill([ellipse(x + 0.1 * rr, y - 0.1 * rr, 0.7 * rr, 0.7 * rr, 16)], LEAD_WHITE, 0.9)
        a = np.linspace(0, 3.6 * math.pi, 40)
        rad = 0.65 * rr * (1 - a / a[-1] * 0.9)
        c.stroke(np.stack([x + flip * rad * np.cos(a), y + rad * np.sin(a)], 1), 1.8)


def lotus_flower(c: Canvas, x: float, y: float, r: float, petal: Color) -> None:
    """Open lotus seen from the side: a fan of pointed petals on a curved green stem with a pad."""
    c.stroke(catmull_rom([(x, y), (x + 0.3 * r, y + 1.5 * r), (x - 0.2 * r, y + 3.0 * r)], 10), 3.2, MALACHITE, 0.95)
    c.shape(ellipse(x + 0.9 * r, y + 2.2 * r, 0.9 * r, 0.3 * r, 20, 0.2), MALACHITE, 1.8)
    for ang in (-70, 70, -40, 40, 0):
        a = math.radians(ang - 90)
        d, nrm = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
        base = np.array([x, y])
        c.shape([base - nrm * 0.25 * r, base + d * 0.6 * r - nrm * 0.35 * r, base + d * 1.3 * r,
                 base + d * 0.6 * r + nrm * 0.35 * r, base + nrm * 0.25 * r], petal, 1.8,
                shade=(CINNABAR, 0.45, 6))


def tree(c: Canvas, x: float, base: float, hgt: float, rng: np.random.Generator) -> None:
    """Bodhi tree: a leaning tapered trunk under a crown of inked, veined leaves."""
    trunk = catmull_rom([(x, base), (x + 0.03, base - 0.45 * hgt), (x - 0.02, base - 0.8 * hgt)], 10)
    poly = stroke_outline(trunk, np.linspace(0.07, 0.03, len(trunk)))
    c.fill([poly], DARK_BROWN)
    c.outline(poly, 2.0)
    cy, r = base - 0.85 * hgt, 0.28 * hgt
    for dx, dy, k in ((-0.55, 0.15, 0.6), (0.55, 0.1, 0.62), (0, -0.3, 0.7), (0, 0.25, 0.65)):
        c.shape(ellipse(x + dx * r, cy + dy * r, k * r, 0.8 * k * r, 14), (0.22, 0.36, 0.30), 2.2)
    for _ in range(30):
        a, d = rng.uniform(0, 2 * math.pi), math.sqrt(rng.uniform(0, 1)) * 0.85 * r
        lx, ly, rot = x + d * math.cos(a), cy + 0.75 * d * math.sin(a), rng.uniform(-0.6, 0.6) + a
        col = (MALACHITE, (0.26, 0.44, 0.36), (0.40, 0.60, 0.50))[int(rng.integers(0, 3))]
        c.shape(ellipse(lx, ly, 0.16 * r, 0.075 * r, 12, rot), col, 1.4)
        c.stroke([(lx - 0.12 * r * math.cos(rot), ly - 0.12 * r * math.sin(rot)),
                  (lx + 0.12 * r * math.cos(rot), ly + 0.12 * r * math.sin(rot))], 1.1, INK, 0.6)


def borders(c: Canvas) -> None:
    """Frame: a valance of hanging triangles at the top, a lozenge band below, side stripes."""
    x0, y0, x1, y1 = c.bounds
    pal = (AZURITE, MALACHITE, CINNABAR)
    c.fill([np.array([(x0, y0), (x1, y0), (x1, y0 + 0.1), (x0, y0 + 0.1)])], RED_OCHRE, 0.95, soft=0)
    c.stroke([(x0, y0 + 0.1), (x1, y0 + 0.1)], 3.0, LEAD_WHITE, 0.9, taper=0.0)
    n = max(4, int((x1 - x0) / 0.2))
    step = (x1 - x0) / n
    for i in range(n):
        xa = x0 + i * step
        tri = [(xa, y0 + 0.11), (xa + step, y0 + 0.11), (xa + step / 2, y0 + 0.27)]
        c.shape(tri, pal[i % 3], 2.0, spline=False)
        c.shape([(xa + step * 0.3, y0 + 0.12), (xa + step * 0.7, y0 + 0.12), (xa + step / 2, y0 + 0.21)],
                LEAD_WHITE, 1.2, spline=False)
        c.shape(ellipse(xa + step / 2, y0 + 0.29, 0.015, 0.02, 10), GOLD, 1.4)
    yb = y1 - 0.14
    c.fill([np.array([(x0, yb), (x1, yb), (x1, y1), (x0, y1)])], DARK_BROWN, 0.95, soft=0)
    for yy in (yb, y1 - 0.015):
        c.stroke([(x0, yy), (x1, yy)], 3.0, LEAD_WHITE, 0.85, taper=0.0)
    n = max(4, int((x1 - x0) / 0.16))
    step = (x1 - x0) / n
    for i in range(n):
        xm, ym = x0 + (i + 0.5) * step, yb + 0.07
        c.shape([(xm - step * 0.45, ym), (xm, ym - 0.05), (xm + step * 0.45, ym), (xm, ym + 0.05)],
                pal[(i + 1) % 3], 1.8, spline=False)
        c.shape(ellipse(xm, ym, 0.018, 0.018, 10), LEAD_WHITE, 1.2)
    for xs in (x0, x1 - 0.05):
        c.fill([np.array([(xs, y0), (xs + 0.05, y0), (xs + 0.05, y1), (xs, y1)])], RED_OCHRE, 0.95, soft=0)
    for xl in (x0 + 0.05, x1 - 0.05):
        c.stroke([(xl, y0), (xl, y1)], 2.5, LEAD_WHITE, 0.85, taper=0.0)


def make_clean_mural(width: int = 2048, height: int = 1536, seed: int = 0) -> np.ndarray:
    """Render the undamaged demo mural: (height, width, 3) uint16 RGB using the full 16-bit range."""
    if width < 16 or height < 16:
        raise ValueError(f"mural must be at least 16 x 16 pixels, got {width} x {height}")
    rng = np.random.default_rng(seed)
    c = Canvas(width, height, rng)
    shape = (height, width)
    # Earth-ochre ground with broad, slightly reddish and yellowish drifts.
    n1, n2 = fractal_noise(shape, rng, 3, 3), fractal_noise(shape, rng, 12, 3)
    vign = (np.linspace(-1, 1, height, dtype=np.float32)[:, None] ** 2
            + np.linspace(-1, 1, width, dtype=np.float32)[None, :] ** 2)
    for ch in range(3):
        c.img[..., ch] = (OCHRE[ch] + 0.045 * n1 * (1.0, 0.85, 0.6)[ch] + 0.022 * n2 * (0.8, 0.9, 1.0)[ch]
                          - 0.03 * vign * (1.0, 1.1, 1.2)[ch])
    # Scattered falling flowers and clouds in the sky, then the figures front to back.
    j = lambda v: v + rng.uniform(-0.04, 0.04)  # noqa: E731
    for _ in range(40):
        x, y = rng.uniform(0.2, 3.8), rng.uniform(0.35, 2.6)
        col = (CINNABAR, LEAD_WHITE, MALACHITE)[int(rng.integers(0, 3))]
        for a in np.linspace(0, 2 * math.pi, 5, endpoint=False) + rng.uniform(0, 1):
            c.fill([ellipse(x + 0.02 * math.cos(a), y + 0.02 * math.sin(a), 0.016, 0.011, 10, a)], col, 0.85)
        c.fill([ellipse(x, y, 0.009, 0.009, 8)], GOLD, 0.9)
    pal = [MALACHITE, AZURITE, CINNABAR]
    rng.shuffle(pal)
    for cx, cy, flip in ((j(0.55), j(0.72), -1), (j(3.45), j(0.72), 1), (j(2.0), j(2.78), 1)):
        cloud(c, cx, cy, 0.07, flip, pal[int(rng.integers(0, 3))])
    for x in (0.32, 3.68):
        tree(c, j(x), 2.62, 1.5, rng)
    for side in (-1, 1):
        apsara(c, 2.0 + side * j(1.15), j(0.52), 0.75, -side, pal[0] if side < 0 else CINNABAR, (pal[1], pal[2]))
    seated_buddha(c, 2.0, j(2.55), 1.75, RED_OCHRE, MALACHITE)
    for side in (-1, 1):
        bodhisattva(c, 2.0 + side * j(1.08), j(2.7), 1.78, -side, pal[0], pal[2], (pal[1], RED_OCHRE))
    for x in (0.3, 3.7):
        lotus_flower(c, j(x), j(2.35), 0.09, LEAD_WHITE)
    borders(c)
    return _finish(c, rng)


def _finish(c: Canvas, rng: np.random.Generator) -> np.ndarray:
    """Soften paint edges, emboss plaster undulations and grain, quantise to 16 bit."""
    img, shape = c.img, (c.h, c.w)
    img = cv2.GaussianBlur(img, (0, 0), max(0.45, 0.6 * c.px))
    height = fractal_noise(shape, rng, 5, 3, 0.5, aspect=3.0)
    gy, gx = np.gradient(cv2.GaussianBlur(height, (0, 0), 2.0))
    light = 1 + (gx + gy) * (0.9 * max(c.w, c.h) / 2048)
    fine = rng.standard_normal(shape, dtype=np.float32)
    fine = 0.7 * cv2.GaussianBlur(fine, (0, 0), 0.7) + 0.3 * fine
    fine = fine / (fine.std() + 1e-6)
    light *= 1 + 0.025 * fine + 0.015 * fractal_noise(shape, rng, 40, 2)
    img *= light[..., None]
    # Centuries of patina (not damage): slightly duller colour, lifted blacks, warmer whites.
    lum = img @ np.array([0.30, 0.59, 0.11], np.float32)
    img = lum[..., None] + (img - lum[..., None]) * 0.86
    img = img * np.array([0.93, 0.92, 0.89], np.float32) + np.array([0.035, 0.03, 0.025], np.float32)
    return (np.clip(img, 0, 1) * 65535 + 0.5).astype(np.uint16)

"""Synthetic damage for the demo mural, with a mask per damage class.

Each class is applied in the order it happens on a wall (pigment fading, water and soot
stains, flaking of the paint layer, collapse of the plaster, cracks) and only inside its
own mask, so the masks are an exact key to what was changed: outside their union the
damaged image equals the clean one bit for bit. Crack, flaking and loss are the holes a
restorer fills; stain and fading are altered colour over intact paint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .mural import make_clean_mural
from .paint import fractal_noise, stroke_outline

CLASSES = ("crack", "flaking", "loss", "stain", "fading")
_LUMA = np.array([0.30, 0.59, 0.11], np.float32)


@dataclass
class DemoMural:
    """A demo painting: the clean ground truth, the damaged 'scan' and the damage masks."""

    clean: np.ndarray  # (H, W, 3) uint16 RGB, undamaged
    damaged: np.ndarray  # (H, W, 3) uint16 RGB, what the scan shows
    masks: dict[str, np.ndarray]  # bool (H, W) per class in CLASSES


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


def _mix(img: np.ndarray, target: np.ndarray, a: np.ndarray) -> np.ndarray:
    """img + (target - img) * a, with ``a`` (H, W) broadcast over channels."""
    return img + (target - img) * a[..., None]


def _plaster(shape: tuple[int, int], rng: np.random.Generator, base: tuple[float, float, float],
             rough: float, px: float) -> np.ndarray:
    """Bare plaster: ``base`` colour with mottling, sand grain and (rough) coarse pits."""
    h, w = shape
    mott = fractal_noise(shape, rng, max(3, max(h, w) / (80 * px)), 4, 0.7)
    sand = rng.standard_normal(shape, dtype=np.float32)
    sand = 0.6 * cv2.GaussianBlur(sand, (0, 0), max(0.6, (0.9 + 0.6 * rough) * px)) + 0.4 * sand
    lum = 1 + rough * 0.03 * mott + (0.02 + 0.04 * rough) * sand
    if rough > 1:  # pits and grit of a coarse earthen render
        b = cv2.GaussianBlur(sand, (0, 0), max(1.0, 1.5 * px))
        b /= b.std() + 1e-6
        lum += 0.12 * _smoothstep(-2.0, -2.6, b) - 0.22 * _smoothstep(2.0, 2.6, b)
    return np.asarray(base, np.float32) * lum[..., None]


def _saliency(clean: np.ndarray, radius: float) -> np.ndarray:
    """Where the painting is busiest (figures, line work): local contrast, at 1/16 scale."""
    h, w = clean.shape[:2]
    lum = clean.astype(np.float32) @ (_LUMA / 65535)
    small = cv2.resize(lum, (max(w // 16, 4), max(h // 16, 4)), interpolation=cv2.INTER_AREA)
    sig = max(radius / 16, 1.0)
    mean = cv2.GaussianBlur(small, (0, 0), sig)
    return cv2.GaussianBlur((small - mean) ** 2, (0, 0), sig)


def _pick(sal: np.ndarray, rng: np.random.Generator, shape: tuple[int, int], margin: float) -> tuple[float, float]:
    """A random point among the busiest 25 % of the picture, away from its edges."""
    sh, sw = sal.shape
    m = np.zeros_like(sal, bool)
    my, mx = int(sh * margin), int(sw * margin)
    m[my:sh - my, mx:sw - mx] = True
    vals = np.where(m, sal, -1)
    cand = np.flatnonzero(vals >= np.quantile(vals[m], 0.75))
    y, x = divmod(int(rng.choice(cand)), sw)
    return (x + rng.uniform()) * shape[1] / sw, (y + rng.uniform()) * shape[0] / sh


def _fading(shape: tuple[int, int], rng: np.random.Generator, amount: float) -> np.ndarray:
    """Light-struck pigment: strength (0..1) of a soft region to be made paler and greyer."""
    h, w = shape
    k = np.full((h, w), -1.0, np.float32)
    if amount <= 0:
        return k * 0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(2):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        r = rng.uniform(0.12, 0.2) * min(h, w) * math.sqrt(min(amount, 3))
        k = np.maximum(k, 1 - np.hypot(xx - cx, (yy - cy) * 1.3) / r)
    k += 0.12 * fractal_noise((h, w), rng, 4, 3)
    return _smoothstep(0.0, 0.3, k) * min(0.75 * amount, 1.0)


def _stains(shape: tuple[int, int], rng: np.random.Generator, amount: float, px: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """Water tide-line blotches (brown darkening) and one soot cloud; returns both strengths."""
    h, w = shape
    water, soot = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    if amount <= 0:
        return water, soot
    for _ in range(max(1, round(3 * amount))):
        r = rng.uniform(0.06, 0.12) * min(h, w)
        cx, cy = rng.uniform(0.05, 0.95) * w, rng.uniform(0.15, 0.95) * h
        x0, y0 = max(int(cx - 1.6 * r), 0), max(int(cy - 1.6 * r), 0)
        x1, y1 = min(int(cx + 1.6 * r), w), min(int(cy + 1.6 * r), h)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        f = 1 - np.hypot(xx - cx, (yy - cy) * rng.uniform(0.7, 1.3)) / r
        f += 0.3 * fractal_noise(f.shape, rng, 3, 4, 0.55)
        e, sig = 0.7 / r, 6 * px / r  # field units of one pixel, and of a tide line's width
        d = 0.12 * _sigmoid(f / e)
        for lvl, a in ((0.0, 0.45), (0.2, 0.22), (0.38, 0.14)):
            g = f - lvl
            d += a * _sigmoid(g / e) * np.exp(-np.maximum(g, 0) / sig)
        water[y0:y1, x0:x1] = np.maximum(water[y0:y1, x0:x1], d)
    cx, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.3) * min(h, w) * math.sqrt(min(amount, 3))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    f = 1 - np.hypot(xx - cx, (yy + 0.1 * h) * 0.8) / r + 0.3 * fractal_noise(shape, rng, 5, 4, 0.55)
    soot[:] = 0.7 * _smoothstep(0.0, 0.6, f)
    return water, soot


def _flaking(img: np.ndarray, clean_f: np.ndarray, rng: np.random.Generator, amount: float,
             sal: np.ndarray, px: float) -> tuple[np.ndarray, np.ndarray]:
    """Clusters of islands where the paint scaled off onto pale plaster, with a lifted light rim."""
    h, w = img.shape[:2]
    if amount <= 0:
        return img, np.zeros((h, w), bool)
    sh, sw = max(h // 8, 4), max(w // 8, 4)
    env = np.zeros((sh, sw), np.float32)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    for _ in range(int(rng.integers(5, 8))):
        cx, cy = _pick(sal, rng, (sh, sw), 0.05) if rng.uniform() < 0.7 else (rng.uniform(0, sw), rng.uniform(0, sh))
        s = rng.uniform(0.04, 0.08) * min(sh, sw)
        env += np.exp(-((xx - cx) ** 2 + ((yy - cy) * rng.uniform(0.6, 1.6)) ** 2) / (2 * s * s))
    field = cv2.resize(env, (w, h), interpolation=cv2.INTER_LINEAR)
    field += 0.5 * fractal_noise((h, w), rng, max(w, h) / (45 * px), 2) * np.minimum(field * 3, 1)
    field += 0.12 * fractal_noise((h, w), rng, max(w, h) / (8 * px), 2)
    target = min(0.016 * amount, 0.3)
    thr = np.quantile(field[::4, ::4], 1 - target)
    isl = field > thr
    plaster = _plaster((h, w), rng, (0.85, 0.80, 0.70), 0.6, px)
    resid = 0.18 * np.clip(fractal_noise((h, w), rng, max(w, h) / (20 * px), 2), 0, 1)
    new = _mix(plaster, clean_f, resid)
    u8 = isl.astype(np.uint8)
    k = np.ones((3, 3), np.uint8)
    rim = isl & ~cv2.erode(u8, k, iterations=max(1, round(1.5 * px))).astype(bool)
    sh_k = max(2, round(3 * px))
    shadow = isl & ~np.pad(isl, ((sh_k, 0), (sh_k, 0)))[:h, :w]  # the upper-left edge casts shade inward
    new[rim] += (1 - new[rim]) * 0.3
    new[shadow] *= 0.8
    out = img.copy()
    out[isl] = new[isl]
    return out, isl


def _hole(shape: tuple[int, int], rng: np.random.Generator, cx: float, cy: float, r: float
          ) -> tuple[tuple[slice, slice], np.ndarray]:
    """Irregular hole: inside depth (px from the rim, negative outside) over its bounding box."""
    h, w = shape
    x0, y0 = max(int(cx - 1.7 * r), 0), max(int(cy - 1.7 * r), 0)
    x1, y1 = min(int(cx + 1.7 * r) + 1, w), min(int(cy + 1.7 * r) + 1, h)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    th = np.arctan2(yy - cy, xx - cx)
    rad = np.full_like(th, r)
    for k in range(2, 8):
        rad += r * rng.normal(0, 0.2 / k) * np.cos(k * th + rng.uniform(0, 2 * math.pi))
    sub = (slice(y0, y1), slice(x0, x1))
    rough = fractal_noise(th.shape, rng, max(4, 2 * (x1 - x0) / (0.12 * r)), 3, 0.55)
    depth = rad + 0.05 * r * rough - np.hypot(xx - cx, yy - cy)
    return sub, depth


def _losses(img: np.ndarray, rng: np.random.Generator, amount: float, sal: np.ndarray, px: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """One or two large losses: bare earthen plaster over a figure, a modern grey fill low down."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), bool)
    if amount <= 0:
        return img, mask
    out = img.copy()
    area = h * w * min(0.026 * amount, 0.4)
    holes = [(*_pick(sal, rng, (h, w), 0.15), math.sqrt(0.62 * area / math.pi), True)]
    if rng.uniform() < 0.8:
        cx = rng.choice([rng.uniform(0.05, 0.3), rng.uniform(0.7, 0.95)]) * w
        holes.append((cx, h * rng.uniform(0.93, 1.0), math.sqrt(0.38 * area / math.pi) * 1.3, False))
    for cx, cy, r, bare in holes:
        sub, depth = _hole((h, w), rng, cx, cy, r)
        inside = depth > 0
        dist = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
        roi = out[sub]
        a = np.clip(depth + 0.5, 0, 1)
        if bare:  # coarse mud-and-straw plaster, a rim of the white ground layer, deep shade
            base = _plaster(depth.shape, rng, (0.63, 0.53, 0.41), 2.0, px)
            straw = np.zeros(depth.shape, np.uint8)
            for _ in range(int(depth.size / (900 * px * px))):
                x, y, ang = rng.uniform(0, depth.shape[1]), rng.uniform(0, depth.shape[0]), rng.uniform(0, math.pi)
                ln = rng.uniform(6, 22) * px
                p = np.array([[x, y], [x + ln * math.cos(ang), y + ln * math.sin(ang)]]) * 16
                cv2.line(straw, *[tuple(int(v) for v in q) for q in p], 255, max(1, round(px)), cv2.LINE_AA, 4)
            base = _mix(base, np.array([0.74, 0.63, 0.44], np.float32), straw / 255 * 0.7)
            ring = _smoothstep(9 * px, 5 * px, dist + 3 * px * fractal_noise(dist.shape, rng, 12, 2))
            base = _mix(base, _plaster(depth.shape, rng, (0.86, 0.83, 0.75), 0.5, px), ring)
        else:  # smooth modern repair fill, slightly recessed
            base = _plaster(depth.shape, rng, (0.71, 0.67, 0.60), 0.4, px)
            base *= (1 - 0.25 * _smoothstep(2.5 * px, 0, dist))[..., None]
        k = max(2, round(8 * px))
        up = np.pad(dist, ((k, 0), (k, 0)), mode="edge")[:depth.shape[0], :depth.shape[1]]
        base *= (1 - 0.4 * _smoothstep(3 * px, 0, up) * _smoothstep(0, 2 * px, dist))[..., None]
        out[sub] = np.where(inside[..., None], _mix(roi, base, a), roi)
        mask[sub] |= inside
    return out, mask


def _cracks(img: np.ndarray, rng: np.random.Generator, density: float, px: float, holes: np.ndarray,
            light: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Branching, tapering, jagged cracks: dark infill (or, ``light``, pale plaster filling them),
    chipped lighter lips; mask = crack + 1 px."""
    h, w = img.shape[:2]
    canvas = np.zeros((h, w), np.uint8)
    if density <= 0:
        return img, canvas.astype(bool)
    step, diag = max(2.0, 3.0 * px), math.hypot(h, w)
    drawn = [0.0]  # estimated mask area so far: each crack is marked with a 1 px lip each side

    def walk(x: float, y: float, ang: float, length: float, w0: float, level: int) -> None:
        n = max(3, int(length / step))
        head = ang + np.cumsum(rng.normal(0, 0.035, n))
        dirs = head + rng.normal(0, 0.5, n)
        pts = np.cumsum(np.stack([np.cos(dirs), np.sin(dirs)], 1) * step, 0) + (x, y)
        t = np.linspace(0, 1, n)
        wid = (0.7 + (w0 - 0.7) * (1 - t) ** 0.8) * np.interp(t, np.linspace(0, 1, 8), rng.uniform(0.75, 1.25, 8))
        q = np.round(stroke_outline(pts, wid) * 16).clip(-2**26, 2**26).astype(np.int32)
        cv2.fillPoly(canvas, [q], 255, cv2.LINE_AA, 4)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        drawn[0] += float(np.sum((wid + 2.2)[inside])) * step * 1.15
        if level < 2:
            for _ in range(rng.poisson((2.5 if level == 0 else 0.8) * min(1.0, math.sqrt(px)))):
                i = int(rng.uniform(0.1, 0.8) * n)
                side = rng.choice([-1, 1])
                walk(*pts[i], head[i] + side * rng.uniform(0.5, 1.2), length * rng.uniform(0.12, 0.35),
                     max(wid[i] * 0.7, 0.8), level + 1)

    budget = 0.01 * density * h * w  # a few long cracks whatever the image size
    for _ in range(max(1, round(12 * density))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        walk(x, y, rng.uniform(0, 2 * math.pi), rng.uniform(0.25, 0.5) * diag,
             rng.uniform(2.8, 4.5) * max(px, 0.4), 0)
        if drawn[0] >= budget:
            break
    core = (canvas > 80) & ~holes  # a crack stops at the edge of a loss
    mask = cv2.dilate(core.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~holes
    out = img.copy()
    a = canvas[core].astype(np.float32)[:, None] / 255 * 0.9
    tone = [0.80, 0.76, 0.68] if light else [0.17, 0.13, 0.10]
    fill = np.array(tone, np.float32) * rng.uniform(0.8, 1.2, (a.shape[0], 1)).astype(np.float32)
    out[core] += (np.minimum(fill, 1) - out[core]) * a
    lip = mask & ~core
    out[lip] += (1 - out[lip]) * 0.15
    return out, mask


def apply_damage(clean: np.ndarray, seed: int = 0, *, crack_density: float = 1.0, flaking: float = 1.0,
                 losses: float = 1.0, stains: float = 1.0, fading: float = 1.0, px: float | None = None,
                 light_cracks: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Damage a clean uint16 RGB painting; returns the damaged image and a bool mask per class.

    Each keyword scales its class (0 switches it off); ``px`` is the size of one pixel of the
    2048-wide demo in this image's pixels (crack width, rim and grain scale with it; default:
    from the image size); ``light_cracks`` fills cracks with pale plaster instead of dirt.
    Deterministic for a given seed.
    """
    if clean.ndim != 3 or clean.shape[2] != 3 or clean.dtype != np.uint16:
        raise ValueError(f"clean must be (H, W, 3) uint16, got {clean.shape} {clean.dtype}")
    h, w = clean.shape[:2]
    if px is None:
        px = min(w / 4, h / 3) / 512
    rngs = [np.random.default_rng([seed, 0x5EED, k]) for k in range(5)]
    clean_f = clean.astype(np.float32) * (1 / 65535)
    sal = _saliency(clean, 0.12 * min(h, w))

    k = _fading((h, w), rngs[0], fading)
    fade = k > 0.02
    lum = (clean_f @ _LUMA)[..., None]
    faded = lum + (clean_f - lum) * (1 - 0.6 * k[..., None])
    img = np.where(fade[..., None], faded + (1 - faded) * (0.25 * k[..., None]), clean_f)

    water, soot = _stains((h, w), rngs[1], stains, px)
    stain = (water > 0.03) | (soot > 0.05)
    brown = np.array([0.60, 0.42, 0.24], np.float32)
    water, soot = np.maximum(water - 0.025, 0), np.maximum(soot - 0.04, 0)  # ~no step at the mask edge
    stained = img * (1 - water[..., None] * (1 - brown))
    stained = stained * (1 - 0.6 * soot[..., None]) + 0.05 * soot[..., None]
    img = np.where(stain[..., None], stained, img)

    img, flake = _flaking(img, clean_f, rngs[2], flaking, sal, px)
    img, loss = _losses(img, rngs[3], losses, sal, px)
    img, crack = _cracks(img, rngs[4], crack_density, px, loss, light_cracks)

    masks = {"crack": crack, "flaking": flake & ~loss, "loss": loss,
             "stain": stain & ~loss & ~flake, "fading": fade & ~loss & ~flake}
    union = crack | flake | loss | stain | fade
    damaged = clean.copy()
    damaged[union] = (np.clip(img[union], 0, 1) * 65535 + 0.5).astype(np.uint16)
    return damaged, masks


def make_demo_mural(width: int = 2048, height: int = 1536, seed: int = 0) -> DemoMural:
    """The clean demo mural, its damaged version and the damage masks, all from one seed."""
    clean = make_clean_mural(width, height, seed)
    damaged, masks = apply_damage(clean, seed)
    return DemoMural(clean=clean, damaged=damaged, masks=masks)

"""Working scale for colour restoration: crops planned around the damage at the scale the
network was trained at, shrunk for the network, and the change of chroma brought back to
full resolution.

The change of a and b is taken at working scale, extended a few pixels beyond the region,
enlarged bilinearly and refined by a guided filter steered by the full-resolution lightness,
so colour edges follow the scan's sharp edges instead of bleeding; it is added to the
full-resolution a and b, so fine chroma texture is kept. Only masked pixels are converted back,
in bands of rows, so memory stays bounded at full resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generator

import cv2
import numpy as np

from muralstudio.core import masks as maskops
from muralstudio.core.hints import ColourHint
from muralstudio.ops.blend import from_float, to_float
from muralstudio.ops.colour import lab_to_rgb_in_gamut, rgb_to_lab
from muralstudio.ops.crop import Box, plan_crops
from muralstudio.ops.guided import guided_filter

MIN_REGION = 64  # a region is not shrunk below this many working pixels across
CELL = 512  # crop planning: grid cell for long sparse damage, in working pixels
GUIDE_EPS = 1e-3  # guided filter regularisation, guide = L / 100 (edges above ~3 L units kept)
BAND_PIXELS = 1 << 22  # full-resolution finishing works on bands of about this many pixels


# -- working scale ------------------------------------------------------------------------

def working_scale(shape: tuple[int, int], work_side: int) -> float:
    """The image's scale when processed as if its long side were ``work_side`` (never > 1)."""
    return min(1.0, work_side / max(shape))


def region_scale(scale: float, region_h: int, region_w: int) -> float:
    """``scale``, raised so a region of this size keeps at least MIN_REGION working pixels
    across (never above 1)."""
    return max(scale, min(1.0, MIN_REGION / max(region_h, region_w, 1)))


@dataclass(frozen=True)
class Job:
    """One crop to recolour: ``box`` (context included) at ``scale``; paste owned pixels
    inside ``paste``. ``size`` is the working (height, width)."""

    box: Box
    paste: Box
    scale: float
    size: tuple[int, int]

    @property
    def sy(self) -> float:
        return self.size[0] / self.box.height

    @property
    def sx(self) -> float:
        return self.size[1] / self.box.width


def _intersect(a: Box, b: Box) -> Box:
    return Box(max(a.y0, b.y0), max(a.x0, b.x0), min(a.y1, b.y1), min(a.x1, b.x1))


def plan_jobs(mask: np.ndarray, margin: int, work_side: int) -> list[Job]:
    """Crops around the damage, each with its working scale and ``margin`` working pixels of
    context (a small region raised in scale gets a box trimmed to its own margin)."""
    scale = working_scale(mask.shape, work_side)
    jobs = []
    for crop in plan_crops(mask, math.ceil(margin / scale), cell=max(CELL, math.ceil(CELL / scale))):
        p = crop.paste
        found = maskops.bbox(mask[p.slices])
        if found is None:
            continue
        y0, x0, y1, x1 = found
        owned = Box(p.y0 + y0, p.x0 + x0, p.y0 + y1, p.x0 + x1)
        s = region_scale(scale, owned.height, owned.width)
        box = crop.box
        if s > scale:  # less context is needed in full-resolution pixels
            e = owned.expand(math.ceil(margin / s), mask.shape)
            box = _intersect(box, e)
            p = _intersect(p, box)  # still holds every owned pixel: they lie in ``owned``
        if s >= 1.0:
            s, size = 1.0, (box.height, box.width)
        else:
            size = (max(1, round(box.height * s)), max(1, round(box.width * s)))
        jobs.append(Job(box, p, s, size))
    return jobs


def shrink(pixels: np.ndarray, region: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Working Lab (h, w, 3) and region (h, w) of a full-resolution crop: RGB area-averaged,
    then converted; a working pixel is region when any pixel it covers is."""
    h, w = size
    if (h, w) == region.shape:
        return rgb_to_lab(to_float(pixels)), region.copy()
    small = cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA).reshape(h, w, pixels.shape[2])
    # 8-bit coverage keeps memory low on whole-image masks; a working pixel less than 1/510
    # covered is missed, and its few masked pixels get the change carried past the region
    cover = cv2.resize(np.asarray(region, bool).view(np.uint8) * np.uint8(255), (w, h), interpolation=cv2.INTER_AREA)
    return rgb_to_lab(small), cover.reshape(h, w) > 0


def working_hints(hints: list[ColourHint], mask: np.ndarray, job: Job) -> list[tuple[float, float, float, float]]:
    """Hints on masked pixels inside the job's box, as (y, x, a, b) in working coordinates."""
    out = []
    b = job.box
    for h in hints:
        iy, ix = int(round(h.y)), int(round(h.x))
        if not (b.y0 <= iy < b.y1 and b.x0 <= ix < b.x1) or not mask[iy, ix]:
            continue
        lab = rgb_to_lab(np.asarray([h.rgb], np.float32))[0]
        out.append(((h.y - b.y0 + 0.5) * job.sy - 0.5, (h.x - b.x0 + 0.5) * job.sx - 0.5,
                    float(lab[1]), float(lab[2])))
    return out


# -- back to full resolution --------------------------------------------------------------

def extend(delta: np.ndarray, region: np.ndarray, steps: int) -> np.ndarray:
    """``delta`` carried ``steps`` pixels beyond ``region`` (each step the mean of the known
    neighbours), so interpolation near the region's edge does not pull towards zero."""
    d = np.where(region[..., None], delta, 0.0).astype(np.float32)
    valid = region.astype(np.float32)
    for _ in range(steps):
        if valid.all():
            break
        total = cv2.blur(d, (3, 3)).reshape(d.shape)
        count = cv2.blur(valid, (3, 3))
        grow = (valid == 0) & (count > 0)
        if not grow.any():
            break
        d[grow] = total[grow] / count[grow][:, None]
        valid[grow] = 1.0
    return d


def _coords(start: int, n: int, scale: float, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower indices, upper indices and weights of bilinear sampling (pixel centres aligned)."""
    pos = np.clip((np.arange(start, start + n, dtype=np.float64) + 0.5) * scale - 0.5, 0, size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, size - 1)
    return lo, hi, (pos - lo).astype(np.float32)


def upsample(delta: np.ndarray, y0: int, x0: int, h: int, w: int, sy: float, sx: float) -> np.ndarray:
    """Rows y0:y0+h, columns x0:x0+w of ``delta`` (working size) bilinearly enlarged by 1/sy, 1/sx."""
    lo, hi, f = _coords(y0, h, sy, delta.shape[0])
    rows = delta[lo] * (1 - f)[:, None, None] + delta[hi] * f[:, None, None]
    lo, hi, f = _coords(x0, w, sx, delta.shape[1])
    return (rows[:, lo] * (1 - f)[None, :, None] + rows[:, hi] * f[None, :, None]).astype(np.float32)


def guide_radius(scale: float) -> int:
    """Guided-filter radius in full-resolution pixels for chroma enlarged from ``scale``."""
    return max(2, round(3 / scale))


def finish(pixels: np.ndarray, hole: np.ndarray, delta: np.ndarray, region: np.ndarray, job: Job
           ) -> Generator[tuple[int, int], None, np.ndarray]:
    """Full-resolution result of the crop's ``paste`` box: ``pixels`` (the crop, image dtype)
    with a, b changed by ``delta`` (working size, made inside the working ``region``) where
    ``hole`` (the paste box's mask) is set; L kept.

    Works in bands of rows, yielding (bands done, bands in all) after each.
    """
    b, p = job.box, job.paste
    out = pixels[p.y0 - b.y0 : p.y1 - b.y0, p.x0 - b.x0 : p.x1 - b.x0].copy()
    found = maskops.bbox(hole)
    if found is None:
        return out
    fy0, fx0, fy1, fx1 = found
    oy, ox = p.y0 - b.y0 + fy0, p.x0 - b.x0 + fx0  # the holes' bounding box in crop coordinates
    hh, ww = fy1 - fy0, fx1 - fx0
    enlarge = job.scale < 1.0
    r, sub, halo = 0, 1, 0
    if enlarge:
        r = guide_radius(job.scale)
        sub = max(1, r // 4)
        halo = 2 * r + 3 * sub + 2  # the guided filter's reach, blocks and bilinear steps included
        delta = extend(delta, region, math.ceil(halo * job.scale) + 2)
    wx0, wx1 = max(0, ox - halo), min(b.width, ox + ww + halo)
    wx0 -= wx0 % sub
    rows = max(16, BAND_PIXELS // max(1, ww + 2 * halo))
    starts = list(range(0, hh, rows))
    for i, r0 in enumerate(starts):
        r1 = min(hh, r0 + rows)
        wy0, wy1 = max(0, oy + r0 - halo), min(b.height, oy + r1 + halo)
        wy0 -= wy0 % sub  # the guided filter's blocks then lie alike in every band
        lab = rgb_to_lab(to_float(pixels[wy0:wy1, wx0:wx1]))
        if enlarge:
            d = upsample(delta, wy0, wx0, wy1 - wy0, wx1 - wx0, job.sy, job.sx)
            d = guided_filter(lab[..., 0] / 100.0, d, r, GUIDE_EPS, sub)
        else:
            d = delta[wy0:wy1, wx0:wx1]
        inner = (slice(oy + r0 - wy0, oy + r1 - wy0), slice(ox - wx0, ox + ww - wx0))
        sel = hole[fy0 + r0 : fy0 + r1, fx0 : fx1]
        new = lab[inner][sel]
        new[:, 1:] += d[inner][sel]
        view = out[fy0 + r0 : fy0 + r1, fx0 : fx1]
        view[sel] = from_float(lab_to_rgb_in_gamut(new), pixels.dtype)
        yield i + 1, len(starts)
    return out

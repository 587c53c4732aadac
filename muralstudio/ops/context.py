"""No-reference figures for a candidate: how its fill compares with the paint around it.

Without the undamaged truth, a conservator still wants to know whether a fill is as
textured as its surroundings and whether it shifts their tone. Each hole is compared with
a ring of original paint around it (``RING`` px wide):

texture_ratio  mean Sobel gradient in the fill over that in the ring (1 = as textured,
               below 1 = smoother, as inpainting often is)
tone_shift     mean luminance of the fill minus that of the ring, on the 0-255 scale
seam           mean Sobel gradient on the hole's edge (``SEAM_BAND`` px either side) over
               that in the intact paint ``SEAM_GAP``..``RING`` px outside it: about 1 when
               the fill continues the paint, above 1 when its edge shows as a seam
"""

from __future__ import annotations

import math
from typing import Any, Callable, Generator

import cv2
import numpy as np

from muralstudio.core.candidate import Patch
from muralstudio.core.document import Mural
from muralstudio.core.progress import Progress
from muralstudio.ops.metrics import _luma, _sobel_mag

RING = 16
SEAM_BAND = 1  # px either side of the hole's edge: where a 3x3 Sobel sees both fill and paint
SEAM_GAP = 3  # the seam's reference ring starts this far out, clear of the edge's gradients
CONTEXT_INFO = {
    "texture_ratio": "Texture (fill/around)",
    "tone_shift": "Tone shift (0–255)",
    "seam": "Seam (edge/around)",
}
CONTEXT_HELP = {
    "texture_ratio": "the fill's mean gradient over that of the intact paint within 16 px around it "
                     "(1 = as textured, below 1 = smoother)",
    "tone_shift": "the fill's mean luminance minus that of the paint around it (0–255)",
    "seam": "the gradient across the fill's edge over that of the paint 3–16 px outside it "
            "(1 = seamless, above 1 = a visible seam)",
}
_EPS = 1e-6


def _grow(mask: np.ndarray, r: int) -> np.ndarray:
    """``mask`` dilated by ``r`` px (square neighbourhood); nothing grows in from the border."""
    k = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), k) > 0


def _seam_sums(grad: np.ndarray, hole: np.ndarray, damage: np.ndarray | None) -> tuple[float, int, float, int]:
    """Gradient sums and counts over the hole's edge band and over the intact ring outside it."""
    shrunk = cv2.erode(hole.astype(np.uint8), np.ones((2 * SEAM_BAND + 1,) * 2, np.uint8)) > 0
    band = _grow(hole, SEAM_BAND) & ~shrunk  # the image border is not an edge: erode keeps it
    ring = _grow(hole, RING) & ~_grow(hole, SEAM_GAP - 1)
    if damage is not None:
        other = damage & ~hole  # unrestored damage is neither fill nor paint
        band &= ~other
        ring &= ~other
    return float(grad[band].sum()), int(band.sum()), float(grad[ring].sum()), int(ring.sum())


def _seam_ratio(edge: float, n_edge: int, around: float, n_around: int) -> float:
    if n_edge == 0 or n_around == 0:
        return math.nan
    return (edge / n_edge + _EPS) / (around / n_around + _EPS)


def seam_score(image: np.ndarray, hole: np.ndarray, damage: np.ndarray | None = None) -> float:
    """How visible the edge of a filled hole is; ~1 seamless, > 1 a seam (nan: no edge or ring).

    ``image`` is the composited result (H, W[, C]), ``hole`` the filled pixels, ``damage``
    optionally all damaged pixels (other damage is left out of both averages).
    """
    hole = np.asarray(hole, bool)
    damage = None if damage is None else np.asarray(damage, bool)
    if hole.shape != image.shape[:2]:
        raise ValueError(f"hole shape {hole.shape} does not match image shape {image.shape[:2]}")
    if damage is not None and damage.shape != hole.shape:
        raise ValueError(f"damage shape {damage.shape} does not match image shape {hole.shape}")
    if not hole.any():
        return math.nan
    return _seam_ratio(*_seam_sums(_sobel_mag(_luma(image)), hole, damage))


def _patch_sums(doc: Mural, patch: Patch, damage: np.ndarray) -> tuple[float | int, ...] | None:
    """Gradient and luminance sums over the fill and its ring, then seam sums, for one patch."""
    px = doc.original.pixels
    h, w = patch.mask.shape
    r = RING + 1  # one more px, so that the Sobel gradients on the ring see real paint
    y0, x0 = max(0, patch.y - r), max(0, patch.x - r)
    y1, x1 = min(px.shape[0], patch.y + h + r), min(px.shape[1], patch.x + w + r)
    region = px[y0:y1, x0:x1].copy()
    hole = np.zeros(region.shape[:2], bool)
    iy, ix = patch.y - y0, patch.x - x0
    hole[iy : iy + h, ix : ix + w] = patch.mask
    sub = region[iy : iy + h, ix : ix + w]
    sub[patch.mask] = patch.pixels[patch.mask]
    if not hole.any():
        return None
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING + 1, 2 * RING + 1))
    ring = (cv2.dilate(hole.astype(np.uint8), k) > 0) & ~hole
    ring &= ~damage[y0:y1, x0:x1]  # only intact paint counts as surroundings
    if not ring.any():
        return None
    y = _luma(region)
    g = _sobel_mag(y)
    return (float(g[hole].sum()), float(g[ring].sum()), float(y[hole].sum()), float(y[ring].sum()),
            int(hole.sum()), int(ring.sum())) + _seam_sums(g, hole, damage[y0:y1, x0:x1])


def candidate_metrics(doc: Mural) -> dict[str, dict[str, float]]:
    """``{candidate id: {name: value}}`` for every candidate of ``doc`` (keys of CONTEXT_INFO)."""
    out: dict[str, dict[str, float]] = {}
    damage = doc.union_mask()
    for cand in doc.candidates:
        sums = [s for p in cand.patches if (s := _patch_sums(doc, p, damage)) is not None]
        if not sums:
            continue
        gh, gr, yh, yr, nh, nr, ge, ne, ga, na = (sum(col) for col in zip(*sums))
        out[cand.id] = {"texture_ratio": (gh / nh + _EPS) / (gr / nr + _EPS), "tone_shift": yh / nh - yr / nr,
                        "seam": _seam_ratio(ge, int(ne), ga, int(na))}
    return out


def with_context_metrics(exporter: Callable[..., Generator[Progress, None, Any]]
                         ) -> Callable[..., Generator[Progress, None, Any]]:
    """A report exporter that first measures the candidates and passes the figures on."""
    def run(target: Any, doc: Mural, **kwargs: Any) -> Generator[Progress, None, Any]:
        yield Progress(0.0, "Measuring the candidates")
        kwargs.update(metrics=candidate_metrics(doc), metric_labels=CONTEXT_INFO, metric_help=CONTEXT_HELP)
        return (yield from exporter(target, doc, **kwargs))

    return run

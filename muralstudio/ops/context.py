"""No-reference figures for a candidate: how its fill compares with the paint around it.

Without the undamaged truth, a conservator still wants to know whether a fill is as
textured as its surroundings and whether it shifts their tone. Each hole is compared with
a ring of original paint around it (``RING`` px wide):

texture_ratio  mean Sobel gradient in the fill over that in the ring (1 = as textured,
               below 1 = smoother, as inpainting often is)
tone_shift     mean luminance of the fill minus that of the ring, on the 0-255 scale
"""

from __future__ import annotations

from typing import Any, Callable, Generator

import cv2
import numpy as np

from muralstudio.core.candidate import Patch
from muralstudio.core.document import Mural
from muralstudio.core.progress import Progress
from muralstudio.ops.metrics import _luma, _sobel_mag

RING = 16
CONTEXT_INFO = {
    "texture_ratio": "Texture (fill/around)",
    "tone_shift": "Tone shift (0–255)",
}


def _patch_sums(doc: Mural, patch: Patch, damage: np.ndarray) -> tuple[float, float, float, float, int, int] | None:
    """Gradient and luminance sums over the fill and its ring for one patch."""
    px = doc.original.pixels
    h, w = patch.mask.shape
    y0, x0 = max(0, patch.y - RING), max(0, patch.x - RING)
    y1, x1 = min(px.shape[0], patch.y + h + RING), min(px.shape[1], patch.x + w + RING)
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
    return float(g[hole].sum()), float(g[ring].sum()), float(y[hole].sum()), float(y[ring].sum()), \
        int(hole.sum()), int(ring.sum())


def candidate_metrics(doc: Mural) -> dict[str, dict[str, float]]:
    """``{candidate id: {name: value}}`` for every candidate of ``doc`` (keys of CONTEXT_INFO)."""
    out: dict[str, dict[str, float]] = {}
    damage = doc.union_mask()
    for cand in doc.candidates:
        sums = [s for p in cand.patches if (s := _patch_sums(doc, p, damage)) is not None]
        if not sums:
            continue
        gh, gr, yh, yr, nh, nr = (sum(col) for col in zip(*sums))
        out[cand.id] = {"texture_ratio": (gh / nh + 1e-6) / (gr / nr + 1e-6), "tone_shift": yh / nh - yr / nr}
    return out


def with_context_metrics(exporter: Callable[..., Generator[Progress, None, Any]]
                         ) -> Callable[..., Generator[Progress, None, Any]]:
    """A report exporter that first measures the candidates and passes the figures on."""
    def run(target: Any, doc: Mural, **kwargs: Any) -> Generator[Progress, None, Any]:
        yield Progress(0.0, "Measuring the candidates")
        kwargs.update(metrics=candidate_metrics(doc), metric_labels=CONTEXT_INFO)
        return (yield from exporter(target, doc, **kwargs))

    return run

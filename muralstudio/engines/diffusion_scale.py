"""The multi-scale plan of the diffusion engine (S1): sizes, resampling and frequency fusion.

A damaged region is restored first at a coarse working size, then each finer scale starts
from the coarser result enlarged and partly re-noised; the fused result takes its low
frequencies from the coarser scale (composition) and its high ones from the finer (detail).
Pure numpy and OpenCV: no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from muralstudio.ops.fill import smooth_fill
from muralstudio.ops.guides import shrink_lines
from muralstudio.ops.texture import take_low


@dataclass(frozen=True)
class Scale:
    """One scale of a region: its working size and how it is sampled."""

    height: int
    width: int
    steps: int  # network evaluations
    start: float  # 1.0: from pure noise; less: from the coarser result re-noised to this time


def plan_scales(height: int, width: int, size: int, scales: int, steps: int, refine: float,
                strength: float = 1.0) -> list[Scale]:
    """Working sizes from coarse to fine for an (height, width) region.

    The coarsest fits ``size`` on its long side (or is the region itself when smaller); each
    next one doubles, up to ``scales`` of them and never beyond the region's own size. The
    coarsest starts from noise at time ``strength`` (1: pure noise; less: the smooth pre-fill
    partly noised); finer scales re-noise to time ``refine``. Each takes that share of ``steps``.
    """
    long = max(height, width)
    factor = min(1.0, size / long)
    plan: list[Scale] = []
    while len(plan) < max(1, scales):
        f = min(1.0, factor * 2 ** len(plan))
        h, w = max(8, round(height * f)), max(8, round(width * f))
        if plan:
            plan.append(Scale(h, w, max(1, round(steps * refine)), refine))
        else:
            plan.append(Scale(h, w, max(1, round(steps * strength)), strength))
        if f >= 1.0:
            break
    return plan


def pad_to(arr: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """``arr`` (h, w, ...) reflect-padded at the bottom and right to a multiple of ``multiple``."""
    h, w = arr.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    if not (ph or pw):
        return arr, (h, w)
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (arr.ndim - 2)
    return np.pad(arr, pad, mode="symmetric"), (h, w)


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, c) float image resized: area averaging to shrink, bicubic to enlarge."""
    if img.shape[:2] == (height, width):
        return img
    shrink = height * width < img.shape[0] * img.shape[1]
    out = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return out.reshape(height, width, -1)


def scale_inputs(filled: np.ndarray, hole: np.ndarray, guide: np.ndarray, scale: Scale
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image, hole and guide of a region at one scale. ``filled`` has its hole smoothly filled
    already, so no damaged pixel leaks into the known ones when shrinking; a shrunk pixel
    that covers any of the hole counts as hole."""
    h, w = scale.height, scale.width
    img = resize(filled, h, w)
    if hole.shape == (h, w):
        small = hole.copy()
    else:
        small = cv2.resize(hole.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 1e-3
    return smooth_fill(img, small), small, shrink_lines(guide, (h, w))


def fuse(coarse: np.ndarray, fine: np.ndarray, hole: np.ndarray, factor: float) -> np.ndarray:
    """Low frequencies of ``coarse`` (already enlarged to ``fine``'s size) with the high
    frequencies of ``fine``, inside ``hole``; ``factor`` is the enlargement between the scales."""
    return take_low(fine, coarse, hole, max(0.5, 0.6 * factor))

"""Finding and removing small isolated dots that a network leaves inside a fill.

The PConv network, asked to fill deep inside a large hole, sometimes puts a dark or light blob
there, some ten to twenty pixels across with a soft skirt: no paint looks like that, and the
eye goes straight to it (the partial-convolution bound of ``muralstudio.nets.pconv`` makes
them rarer, not rarer enough).
A closing (for dark features) or an opening (for light ones) with a disk of ``size`` pixels
finds everything thinner than the disk that stands out of its surroundings, dots and painted
lines alike; a dot is then told from a line by its extent, a connected part smaller than
``size`` each way. Found dots, with a rim for their halo, are refilled from the fill
around them by normalised convolution, fading into it over a second rim so that no disk
edge shows; the search repeats on the result, since a dot can hide beside another. A dot
that comes within ``depth`` pixels of the intact paint stays, so a row of painted pearls
that the network carried into the edge of a hole is kept. Only hole pixels change. Pure
numpy and OpenCV.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 25  # pixels: dark or light parts smaller than this each way count as dots
THRESHOLD = 0.12  # lightness (0-1) by which a dot stands out of its closing or opening
RIM = 5  # pixels around a found dot refilled with it: its soft skirt
DEPTH = 6  # pixels: dots nearer the intact paint than this are left alone
PASSES = 3  # rounds of finding and refilling: a dot can hide beside another until that one is gone


def _small_parts(candidates: np.ndarray, shallow: np.ndarray, size: int) -> np.ndarray:
    """The connected parts of ``candidates`` narrower and lower than ``size`` that stay out
    of ``shallow``."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    keep = (stats[:, cv2.CC_STAT_WIDTH] < size) & (stats[:, cv2.CC_STAT_HEIGHT] < size)
    keep[0] = False
    keep[np.unique(labels[shallow & candidates])] = False
    return keep[labels]


def find_specks(image: np.ndarray, hole: np.ndarray, size: int = SIZE,
                threshold: float = THRESHOLD, depth: int = DEPTH) -> np.ndarray:
    """Boolean map of the hole pixels of ``image`` (h, w, c) float in [0, 1] that belong to a
    dark or light dot smaller than ``size`` each way, standing ``threshold`` out of its
    surroundings and lying wholly ``depth`` pixels or more inside the hole."""
    hole = hole.astype(bool)
    shallow = hole & (cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5) < depth)
    if not (hole & ~shallow).any():
        return np.zeros(hole.shape, bool)
    img = image.astype(np.float32)
    if img.ndim == 2 or img.shape[2] < 3:
        luma = np.ascontiguousarray(img.reshape(hole.shape))
    else:
        luma = img[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    closed = cv2.morphologyEx(luma, cv2.MORPH_CLOSE, disk, borderType=cv2.BORDER_REFLECT)
    opened = cv2.morphologyEx(luma, cv2.MORPH_OPEN, disk, borderType=cv2.BORDER_REFLECT)
    dark = _small_parts(hole & (closed - luma > threshold), shallow, size)
    light = _small_parts(hole & (luma - opened > threshold), shallow, size)
    return dark | light


def _refill(image: np.ndarray, specks: np.ndarray, hole: np.ndarray, size: int, rim: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with ``specks`` and a ``rim`` around them (inside ``hole``) refilled from the
    pixels around them by normalised convolution, the refill fading into the fill over a
    further ``rim`` pixels so that it leaves no edge; and the map of the refilled pixels."""
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rim + 1, 2 * rim + 1))
    core = cv2.dilate(specks.astype(np.uint8), disk).astype(bool) & hole if rim > 0 else specks
    planes = image.astype(np.float32).reshape(*specks.shape, -1)
    keep = (~core).astype(np.float32)
    sigma = size / 3.0
    weight = cv2.GaussianBlur(keep, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    summed = cv2.GaussianBlur(planes * keep[..., None], (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    fill = summed.reshape(planes.shape) / np.maximum(weight, 1e-6)[..., None]
    # 1 on the refilled pixels, down to 0 at ``rim`` pixels beyond them; never outside the hole
    alpha = core.astype(np.float32)
    if rim > 0:
        outside = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, 5)
        alpha = np.clip(1.0 - outside / (rim + 1.0), 0.0, 1.0) * hole
    a = alpha[..., None]
    original = image.reshape(planes.shape)
    out = np.where(a > 0, planes + a * (fill - planes), original)
    return out.reshape(image.shape).astype(image.dtype), core


def remove_specks(image: np.ndarray, hole: np.ndarray, size: int = SIZE, threshold: float = THRESHOLD,
                  rim: int = RIM, depth: int = DEPTH, passes: int = PASSES) -> tuple[np.ndarray, int]:
    """``image`` with the dots :func:`find_specks` finds in ``hole`` (and a ``rim`` around
    them) refilled from the surrounding pixels; and how many pixels were refilled.

    A dot whose skirt runs into a neighbour's makes one part with it too large to be a dot,
    and is found only once the neighbour is refilled, so up to ``passes`` rounds are made,
    each on the last one's result, until no dot is left. Pixels outside the hole come back
    untouched.
    """
    hole = hole.astype(bool)
    out, refilled = image, np.zeros(hole.shape, bool)
    for _ in range(passes):
        specks = find_specks(out, hole, size, threshold, depth)
        if not specks.any():
            break
        out, core = _refill(out, specks, hole, size, rim)
        refilled |= core
    return out, int(refilled.sum())

"""Balancing the detail of a generated fill against its surroundings (S1's frequency step).

A learned fill's low frequencies (colour, composition) are usually right before its high
ones are: a small network that has not seen enough murals gives a fill that is smoother than
the paint around it. S1 balances the low and high frequencies of the generated region; here
each band of a small band-pass stack is scaled inside the hole so that its energy equals
that of the intact ring around the hole, which is the only evidence of how much texture the
mural has there. A fill's broad colour and shading can also be drawn towards a second
estimate (``take_low``), as S1 takes the low frequencies from another scale. Nothing outside
the hole changes. Pure numpy and OpenCV.
"""

from __future__ import annotations

import cv2
import numpy as np

SIGMAS = (1.0, 2.0, 4.0)  # band edges in pixels: fine grain, brush texture, small forms
RING = 32  # pixels of intact surroundings that set each band's target energy
MAX_GAIN = 3.0  # a band is never scaled by more than this (or less than its inverse)
# lightness (BT.601 luma) and two colour-opponent axes (blue and red difference), linear in RGB
_TO_OPPONENT = np.array([[0.299, 0.587, 0.114], [-0.169, -0.331, 0.5], [0.5, -0.419, -0.081]], np.float32)
_FROM_OPPONENT = np.linalg.inv(_TO_OPPONENT).astype(np.float32)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT).reshape(img.shape)


def band_stack(img: np.ndarray, sigmas: tuple[float, ...] = SIGMAS) -> tuple[list[np.ndarray], np.ndarray]:
    """Band-pass layers of ``img`` (h, w, c) float, finest first, and the low-pass rest;
    their sum is ``img``."""
    bands, prev = [], img
    for sigma in sigmas:
        low = _blur(img, sigma)
        bands.append(prev - low)
        prev = low
    return bands, prev


def ring_of(hole: np.ndarray, width: int = RING) -> np.ndarray:
    """Intact pixels within ``width`` of ``hole``."""
    distance = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    return (distance <= width) & ~hole


def band_gains(bands: list[np.ndarray], hole: np.ndarray, rings: list[np.ndarray],
               max_gain: float = MAX_GAIN) -> np.ndarray:
    """Per band and channel, (bands, c), the factor that gives the hole its ring's
    root-mean-square energy (one ring per band; 1 where a band's ring is empty)."""
    gains = np.ones((len(bands), bands[0].shape[2]), np.float32)
    for i, (band, ring) in enumerate(zip(bands, rings)):
        if not ring.any():
            continue
        e_hole = np.sqrt(np.mean(band[hole] ** 2, axis=0))
        e_ring = np.sqrt(np.mean(band[ring] ** 2, axis=0))
        ratio = np.where(e_hole > 1e-6, e_ring / np.maximum(e_hole, 1e-6), 1.0)
        gains[i] = np.clip(ratio, 1.0 / max_gain, max_gain)
    return gains


def _away_from(damage: np.ndarray, reach: float) -> np.ndarray:
    """Pixels farther than ``reach`` from ``damage``."""
    return cv2.distanceTransform((~damage).astype(np.uint8), cv2.DIST_L2, 5) > reach


def balance_detail(image: np.ndarray, hole: np.ndarray, amount: float = 1.0, ring: int = RING,
                   sigmas: tuple[float, ...] = SIGMAS, max_gain: float = MAX_GAIN,
                   unrestored: np.ndarray | None = None) -> np.ndarray:
    """``image`` (h, w, 3) float in [0, 1] with the detail bands of its ``hole`` scaled
    towards the energy of the ring around it; ``amount`` 0 leaves it, 1 matches fully.

    Lightness and the two colour-opponent channels are balanced apart, so a fill with too
    little grain but too much colour speckle gets more of the one and less of the other. The
    gains are taken over the whole of ``hole`` (callers pass one damaged region at a time);
    known pixels come back unchanged. Damage left ``unrestored`` (cracks one fills with
    another engine, say) is not intact paint: each band's ring keeps clear of it by twice the
    band's scale, as far as its edges spread into the band.
    """
    hole = hole.astype(bool)
    around = ring_of(hole, ring)
    if amount <= 0 or not hole.any() or not around.any():
        return image
    rings = [around] * len(sigmas)
    if unrestored is not None and unrestored.any():
        rings = [around & _away_from(unrestored, 2.0 * sigma) for sigma in sigmas]
    img = image.astype(np.float32)
    opp = img @ _TO_OPPONENT.T
    bands, rest = band_stack(opp, sigmas)
    gains = band_gains(bands, hole, rings, max_gain)
    out = rest.copy()
    for band, gain in zip(bands, gains):
        out += band * (1.0 + amount * (gain - 1.0))
    rgb = out @ _FROM_OPPONENT.T
    return np.where(hole[..., None], np.clip(rgb, 0.0, 1.0), img).astype(np.float32)


def take_low(fill: np.ndarray, base: np.ndarray, hole: np.ndarray, sigma: float, share: float = 1.0
             ) -> np.ndarray:
    """``fill`` (h, w, c) float in [0, 1] whose frequencies below ``sigma`` (Gaussian, pixels)
    move by ``share`` towards those of ``base`` inside ``hole``; its finer detail stays.

    Gives a finer scale the composition of the coarser one (share 1), and draws a varied
    generated fill part of the way towards a regression network's estimate, which is closer
    to the truth on average in colour and shading.
    """
    if share <= 0:
        return fill
    shift = _blur(np.asarray(base, np.float32) - fill, sigma)
    return np.where(hole[..., None], np.clip(fill + share * shift, 0.0, 1.0), fill).astype(np.float32)

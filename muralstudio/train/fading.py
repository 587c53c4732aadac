"""Synthetic fading of clean murals, and colour hints sampled from the truth.

Fading happens in Lab over a soft region: chroma is lost, lightness rises (pigments pale)
and hue drifts; red lead darkens towards brown, malachite and azurite pale more than other
pigments. A share of samples is made fully grey (old photographs) instead. The benchmark
uses the same functions with fixed seeds, so training and measurement agree on what
"faded" means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from muralstudio.demo.paint import fractal_noise
from muralstudio.ops.colour import rgb_to_lab


@dataclass
class FadedSample:
    """A faded Lab image, the region a conservator would mark, and the true Lab."""

    faded: np.ndarray  # (H, W, 3) float32 Lab
    mask: np.ndarray  # (H, W) bool
    truth: np.ndarray  # (H, W, 3) float32 Lab
    strength: np.ndarray | None = None  # (H, W) fading strength in [0, 1]; None for a grey image


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


def fade_strength(shape: tuple[int, int], rng: np.random.Generator, coverage: float) -> np.ndarray:
    """(H, W) float32 strength in [0, 1]: soft blobs covering about ``coverage`` of the area."""
    noise = fractal_noise(shape, rng, cells=rng.uniform(1.5, 4.0), octaves=3)
    t = float(np.quantile(noise, 1 - coverage))
    soft = rng.uniform(0.15, 0.6)
    return _smoothstep(t - 0.05, t + soft, noise).astype(np.float32)


def _hue_weight(hue: np.ndarray, centre: float, width: float) -> np.ndarray:
    d = np.abs((hue - centre + 180) % 360 - 180)
    return np.clip(1 - d / width, 0, 1)


def fade_lab(lab: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``lab`` faded with strength ``k`` (H, W): pigment-dependent loss of chroma, lightness
    and hue drift. Random amounts per call, so each sample fades differently."""
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a))
    vivid = np.clip(chroma / 40, 0, 1)
    red = _hue_weight(hue, 40, 45) * vivid  # red lead, vermilion
    green_blue = (_hue_weight(hue, 170, 50) + _hue_weight(hue, 250, 50)) * vivid  # malachite, azurite
    loss = rng.uniform(0.3, 0.9)
    keep = 1 - k * np.clip(loss + 0.25 * green_blue, 0, 1)
    lighten = rng.uniform(0, 20)
    darken = rng.uniform(0, 30) if rng.random() < 0.5 else 0.0
    new_L = L + k * lighten * (1 - L / 100) * (1 + 0.5 * green_blue) - k * darken * red
    new_hue = np.radians(hue + k * rng.uniform(-20, 20))
    new_c = chroma * keep
    # a yellowish-grey cast of dirt and binder is part of most fading
    cast = rng.uniform(-3, 6) * k
    out = np.stack([np.clip(new_L, 0, 100), new_c * np.cos(new_hue), new_c * np.sin(new_hue) + cast], -1)
    return out.astype(np.float32)


def faded_sample(rgb: np.ndarray, rng: np.random.Generator, grey_share: float = 0.2) -> FadedSample:
    """A training or benchmark sample from a clean uint8 RGB image.

    With probability ``grey_share`` the whole image becomes grey (a = b = 0, L kept);
    otherwise a soft region of 10–55 % of the area fades, a tenth of the time to grey.
    """
    truth = rgb_to_lab(rgb)
    h, w = rgb.shape[:2]
    if rng.random() < grey_share:
        faded = truth.copy()
        faded[..., 1:] = 0
        return FadedSample(faded, np.ones((h, w), bool), truth)
    k = fade_strength((h, w), rng, rng.uniform(0.1, 0.55))
    if rng.random() < 0.1:
        faded = truth.copy()
        faded[..., 1:] *= (1 - k)[..., None]
    else:
        faded = fade_lab(truth, k, rng)
    mask = k > 0.15
    faded = np.where(mask[..., None], faded, truth)  # the faint fringe outside the mark stays as it was
    return FadedSample(faded.astype(np.float32), mask, truth, k)


def sample_hints(truth: np.ndarray, mask: np.ndarray, count: int, rng: np.random.Generator,
                 jitter: float = 2.0) -> list[tuple[int, int, float, float]]:
    """``count`` hints (y, x, a, b) at random points of ``mask``, coloured from the truth (a
    3 × 3 mean) with a little noise, as a conservator picking a pigment colour would give."""
    ys, xs = np.nonzero(mask)
    if not len(ys) or count <= 0:
        return []
    pick = rng.choice(len(ys), min(count, len(ys)), replace=False)
    hints = []
    h, w = mask.shape
    for i in pick:
        y, x = int(ys[i]), int(xs[i])
        win = truth[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2, 1:].reshape(-1, 2).mean(axis=0)
        a, b = win + rng.normal(0, jitter, 2)
        hints.append((y, x, float(a), float(b)))
    return hints

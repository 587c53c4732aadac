"""Synthetic damage for training the detector: a clean patch in, the damaged patch and one
mask per class out.

The damage itself is drawn by the demo's generator (:func:`muralstudio.demo.damage.apply_damage`:
branching tapering cracks, flaking islands over plaster with lifted rims, bare-plaster and
neutral-fill losses, tide-line and soot stains, faded pigment); here each class is switched
on at random with a random strength, scale and crack infill, so the detector sees thin and
wide cracks, a few flakes and wide fields of them, and patches with no damage at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from muralstudio.core.damage import DamageClass
from muralstudio.demo.damage import apply_damage

CLASSES = tuple(c.value for c in DamageClass)  # the network's output channels, in this order


@dataclass(frozen=True)
class DamageMix:
    """How often each class appears in a sample and over which range of strength."""

    chance: tuple[float, ...] = (0.7, 0.45, 0.35, 0.35, 0.35)  # crack, flaking, loss, stain, fading
    strength: tuple[tuple[float, float], ...] = ((0.4, 2.5), (1.0, 8.0), (0.5, 4.0), (0.5, 2.0), (0.6, 2.0))
    scale: tuple[float, float] = (0.3, 1.6)  # crack width, rim and grain scale (1 = the demo at 2048 px)
    light_cracks: float = 0.25  # share of samples whose cracks are filled with pale plaster


def damage_patch(clean: np.ndarray, rng: np.random.Generator, mix: DamageMix = DamageMix()
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Damage an (H, W, 3) uint8 patch: the damaged uint8 patch and (5, H, W) bool masks."""
    on = [rng.random() < p for p in mix.chance]
    amounts = {name: float(rng.uniform(*r)) if flag else 0.0 for name, r, flag in zip(CLASSES, mix.strength, on)}
    damaged16, masks = apply_damage(
        clean.astype(np.uint16) * 257, int(rng.integers(2**31)),
        crack_density=amounts["crack"], flaking=amounts["flaking"], losses=amounts["loss"],
        stains=amounts["stain"], fading=amounts["fading"], px=float(rng.uniform(*mix.scale)),
        light_cracks=bool(rng.random() < mix.light_cracks))
    damaged = ((damaged16.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return damaged, np.stack([masks[c] for c in CLASSES])


def augment(img: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random one of the 8 flips and quarter turns, applied to image (H, W, 3) and labels (C, H, W)."""
    k = int(rng.integers(4))
    img, labels = np.rot90(img, k, axes=(0, 1)), np.rot90(labels, k, axes=(1, 2))
    if rng.random() < 0.5:
        img, labels = img[:, ::-1], labels[:, :, ::-1]
    return np.ascontiguousarray(img), np.ascontiguousarray(labels)


@dataclass
class Sample:
    """One training example: image, labels per class and which classes its labels speak for."""

    image: np.ndarray  # (H, W, 3) uint8
    labels: np.ndarray  # (C, H, W) bool
    known: np.ndarray  # (C,) bool: False where the source says nothing about a class


def synthetic_samples(clean: Iterator[np.ndarray], rng: np.random.Generator, mix: DamageMix = DamageMix()
                      ) -> Iterator[Sample]:
    """Endless damaged samples from an endless source of clean patches."""
    every = np.ones(len(CLASSES), bool)
    for patch in clean:
        img, labels = damage_patch(patch, rng, mix)
        yield Sample(img, labels, every)


def crack_photo_samples(images: list[np.ndarray], masks: list[np.ndarray], size: int,
                        rng: np.random.Generator) -> Iterator[Sample]:
    """Endless random crops of labelled crack photographs (CrackForest): only cracks are known,
    plus that there is no flaking or loss of paint on a road."""
    known = np.array([c in ("crack", "flaking", "loss") for c in CLASSES])
    ci = CLASSES.index("crack")
    while True:
        i = int(rng.integers(len(images)))
        img, mask = images[i], masks[i]
        h, w = mask.shape
        scale = size / min(h, w) if min(h, w) < size else 1.0
        if scale != 1.0:
            img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
            mask = cv2.resize(mask.astype(np.uint8), (img.shape[1], img.shape[0]),
                              interpolation=cv2.INTER_NEAREST).astype(bool)
            h, w = mask.shape
        y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        labels = np.zeros((len(CLASSES), size, size), bool)
        labels[ci] = mask[y : y + size, x : x + size]
        yield Sample(np.ascontiguousarray(img[y : y + size, x : x + size]), labels, known)


class SamplePool:
    """A pool of samples reused with fresh flips and turns; a few are replaced every batch, so
    the slow damage generator costs a fraction of a batch rather than a whole one."""

    def __init__(self, sources: list[tuple[Iterator[Sample], float]], size: int, rng: np.random.Generator) -> None:
        self.sources = [s for s, _ in sources]
        weights = np.array([w for _, w in sources], float)
        self.weights = weights / weights.sum()
        self.rng = rng
        self.pool = [self._draw() for _ in range(size)]

    def _draw(self) -> Sample:
        return next(self.sources[int(self.rng.choice(len(self.sources), p=self.weights))])

    def batch(self, n: int, refresh: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, H, W, 3) uint8 images, (N, C, H, W) bool labels, (N, C) bool known."""
        idx = self.rng.choice(len(self.pool), n, replace=False)
        out = [augment(self.pool[i].image, self.pool[i].labels, self.rng) for i in idx]
        known = np.stack([self.pool[i].known for i in idx])
        for i in self.rng.choice(len(self.pool), refresh, replace=False):
            self.pool[i] = self._draw()
        return np.stack([o[0] for o in out]), np.stack([o[1] for o in out]), known

"""Patch datasets over folders of mural images (S4): patches far apart, flips, rotations.

Images are held in memory as 8-bit RGB (the training sets are JPEG photographs). Each
round draws a few patch centres per image by farthest-point sampling, so one picture's
patches cover it rather than repeat one corner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from muralstudio.core.errors import TrainingError
from muralstudio.io.images import is_image_path, read_image

# Whole images kept out of every training run; quality figures are reported on them.
VALIDATION_IMAGES = (
    "dunhuang/xunmeng/九色鹿3.jpg",
    "dunhuang/xunmeng/人像画2.jpg",
    "dunhuang/xunmeng/山水画3.jpg",
    "dunhuang/xunmeng/经变画4.jpg",
    "dunhuang/xunmeng/说法图5.jpg",
    "dunhuang/kerr-photos/220-6-1.jpg",
    "dunhuang/kerr-photos/B-left.jpg",
)
# Not clean paintings: hand-masked copies, line drawings, photographs of real damage.
EXCLUDED = ("-toinpaint", "inpaint-domain.jpg", "line-drawings", "rxyhc-weathered")


def is_validation_image(path: Path) -> bool:
    text = path.as_posix()
    return any(text.endswith("/" + name) for name in VALIDATION_IMAGES)


def image_files(folders: list[Path], validation: bool = False) -> list[Path]:
    """Clean painting images under ``folders``: training ones, or the held-out validation set."""
    out = []
    for folder in folders:
        candidates = [folder] if folder.is_file() else sorted(folder.rglob("*"))
        for p in candidates:
            if not p.is_file() or not is_image_path(p) or any(e in p.as_posix() for e in EXCLUDED):
                continue
            if is_validation_image(p) == validation:
                out.append(p)
    return out


def load_rgb8(path: Path, max_side: int | None = None) -> np.ndarray:
    """An image as (H, W, 3) uint8 RGB, optionally shrunk so its long side is at most ``max_side``."""
    px = read_image(path).pixels
    if px.dtype == np.uint16:
        px = (px >> 8).astype(np.uint8)
    if px.shape[2] == 1:
        px = np.repeat(px, 3, axis=2)
    if max_side and max(px.shape[:2]) > max_side:
        s = max_side / max(px.shape[:2])
        px = cv2.resize(px, (round(px.shape[1] * s), round(px.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(px)


def far_apart(height: int, width: int, n: int, rng: np.random.Generator, candidates: int = 64,
              allowed: np.ndarray | None = None) -> np.ndarray:
    """``n`` points in [0, height) × [0, width), each as far as possible from those before.

    ``allowed`` (k, 2) restricts the candidates to those (y, x) positions.
    """
    if allowed is not None:
        pool = allowed[rng.choice(len(allowed), min(candidates, len(allowed)), replace=False)].astype(float)
    else:
        pool = np.stack([rng.uniform(0, height, candidates), rng.uniform(0, width, candidates)], 1)
    candidates = len(pool)
    chosen = [int(rng.integers(candidates))]
    dist = np.linalg.norm(pool - pool[chosen[0]], axis=1)
    for _ in range(1, min(n, candidates)):
        i = int(dist.argmax())
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(pool - pool[i], axis=1))
    return pool[chosen]


@dataclass
class PatchConfig:
    size: int = 256
    per_image: int = 25
    flip: float = 0.5
    rotate: float = 0.5
    max_angle: float = 30.0
    scale: tuple[float, float] = (0.5, 1.0)  # random shrink of the source, for scale variety


class PatchSource:
    """Endless patches from a list of images, with S4's placement and augmentation."""

    def __init__(self, images: list[np.ndarray], config: PatchConfig, seed: int = 0,
                 avoid: list[np.ndarray | None] | None = None) -> None:
        if not images:
            raise ValueError("no training images")
        self.images, self.config = images, config
        self.avoid = avoid or [None] * len(images)
        self.rng = np.random.default_rng(seed)
        self.allowed = [None if a is None else self._allowed_centres(a) for a in self.avoid]
        if avoid is not None and all(a is not None and not len(a) for a in self.allowed):
            raise TrainingError("No patch of the requested size fits between the damaged regions.")

    def _allowed_centres(self, avoid: np.ndarray) -> np.ndarray:
        """Centres whose largest (shrunk, rotated) source window stays clear of ``avoid``."""
        reach = int(math.ceil(self.config.size / self.config.scale[0] * math.sqrt(2) / 2)) + 1
        clear = cv2.erode((~avoid).astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8),
                          borderType=cv2.BORDER_CONSTANT, borderValue=0)
        ys, xs = np.nonzero(clear)
        keep = self.rng.choice(len(ys), min(len(ys), 200_000), replace=False) if len(ys) else []
        return np.stack([ys[keep], xs[keep]], 1) if len(ys) else np.zeros((0, 2), int)

    def _patch(self, img: np.ndarray, cy: float, cx: float, scale: float, avoid: np.ndarray | None
               ) -> np.ndarray | None:
        cfg, rng = self.config, self.rng
        angle = rng.uniform(-cfg.max_angle, cfg.max_angle) if rng.random() < cfg.rotate else 0.0
        src = cfg.size / scale
        reach = src * (abs(math.cos(math.radians(angle))) + abs(math.sin(math.radians(angle)))) / 2
        h, w = img.shape[:2]
        cy = float(np.clip(cy, reach, h - reach)) if h > 2 * reach else h / 2
        cx = float(np.clip(cx, reach, w - reach)) if w > 2 * reach else w / 2
        if avoid is not None:
            y0, y1 = int(max(0, cy - reach)), int(min(h, cy + reach + 1))
            x0, x1 = int(max(0, cx - reach)), int(min(w, cx + reach + 1))
            if avoid[y0:y1, x0:x1].any():
                return None
        m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
        m[:, 2] += cfg.size / 2 - np.array([cx, cy])
        out = cv2.warpAffine(img, m, (cfg.size, cfg.size), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT101)
        if rng.random() < cfg.flip:
            out = out[:, ::-1]
        return np.ascontiguousarray(out)

    def __iter__(self) -> Iterator[np.ndarray]:
        cfg, rng = self.config, self.rng
        while True:
            order = rng.permutation(len(self.images))
            made = 0
            for i in order:
                img, allowed = self.images[i], self.allowed[i]
                if allowed is not None and not len(allowed):
                    continue
                lo = max(cfg.scale[0], cfg.size / min(img.shape[:2]))
                for cy, cx in far_apart(img.shape[0], img.shape[1], cfg.per_image, rng,
                                        candidates=max(64, 2 * cfg.per_image), allowed=allowed):
                    scale = rng.uniform(min(lo, 1.0), max(lo, cfg.scale[1]))
                    patch = self._patch(img, cy, cx, min(scale, 1.0) if lo <= 1 else lo, self.avoid[i])
                    if patch is not None:
                        made += 1
                        yield patch
            if made == 0:
                raise TrainingError("No patch of the requested size fits between the damaged regions.")

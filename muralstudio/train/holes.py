"""Hole masks for training and validation: files of masks and generated damage shapes.

Generated kinds: S4's random walks, brush strokes, branching cracks and large losses.
Each mask is drawn to a hole ratio picked from a configurable mix of ratio ranges. Masks
are bool arrays, True = hole.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

RatioRange = tuple[float, float]

# Default mix: mostly the 10-30 % holes the restorer is judged on, some small and large ones.
DEFAULT_RATIOS: dict[RatioRange, float] = {(0.01, 0.10): 0.3, (0.10, 0.30): 0.5, (0.30, 0.50): 0.2}
DEFAULT_KINDS: dict[str, float] = {"file": 0.4, "walk": 0.15, "strokes": 0.2, "cracks": 0.1, "losses": 0.15}

# NVIDIA irregular masks: file index rises with hole ratio, bins of 2000 files, 10 % each
# from 1-10 %. Every VALIDATION_STRIDE-th file is kept out of training for validation.
IRREGULAR_BIN = 2000
VALIDATION_STRIDE = 20


def hole_ratio(mask: np.ndarray) -> float:
    return float(mask.mean())


def irregular_index(path: Path) -> int | None:
    m = re.search(r"(\d+)", path.stem)
    return int(m.group(1)) if m else None


def is_validation_mask(path: Path) -> bool:
    idx = irregular_index(path)
    return idx is not None and idx % VALIDATION_STRIDE == 0


def load_mask_file(path: Path) -> np.ndarray:
    """A mask image as bool (white = hole)."""
    a = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if a is None:
        raise OSError(f"cannot read mask {path}")
    return a > 127


def _walk(size: int, rng: np.random.Generator, canvas: np.ndarray) -> None:
    """S4's random walk: a brush that wanders with small turns."""
    y, x = rng.integers(0, size, 2)
    angle = rng.uniform(0, 2 * math.pi)
    width = int(rng.integers(max(2, size // 64), max(3, size // 16)))
    for _ in range(int(rng.integers(size // 4, size))):
        angle += rng.normal(0, 0.5)
        step = rng.uniform(1, max(2, size / 64))
        ny = int(np.clip(y + step * math.sin(angle), 0, size - 1))
        nx = int(np.clip(x + step * math.cos(angle), 0, size - 1))
        cv2.line(canvas, (int(x), int(y)), (nx, ny), 1, width)
        y, x = ny, nx


def _stroke(size: int, rng: np.random.Generator, canvas: np.ndarray) -> None:
    """A brush stroke: a few straight segments of one width, as a conservator would paint."""
    pts = [rng.integers(0, size, 2)]
    for _ in range(int(rng.integers(1, 5))):
        angle = rng.uniform(0, 2 * math.pi)
        length = rng.uniform(size / 10, size / 3)
        p = pts[-1] + np.array([length * math.cos(angle), length * math.sin(angle)])
        pts.append(np.clip(p, 0, size - 1).astype(int))
    width = int(rng.integers(max(3, size // 40), max(4, size // 10)))
    cv2.polylines(canvas, [np.array(pts, np.int32)], False, 1, width)


def _crack(size: int, rng: np.random.Generator, canvas: np.ndarray, depth: int = 0) -> None:
    """A thin jagged crack that may branch."""
    y, x = rng.uniform(0, size, 2)
    angle = rng.uniform(0, 2 * math.pi)
    width = int(rng.integers(1, 4))
    pts = [(x, y)]
    for _ in range(int(rng.integers(8, 30))):
        angle += rng.normal(0, 0.35)
        step = rng.uniform(size / 80, size / 25)
        x, y = x + step * math.cos(angle), y + step * math.sin(angle)
        pts.append((x, y))
        if depth < 2 and rng.random() < 0.08:
            sub = np.zeros_like(canvas)
            _crack(size, rng, sub, depth + 1)
            canvas |= sub
    cv2.polylines(canvas, [np.array(pts, np.int32)], False, 1, width)


def _loss(size: int, rng: np.random.Generator, canvas: np.ndarray) -> None:
    """A large paint loss: an irregular blob with a ragged edge."""
    cy, cx = rng.uniform(0, size, 2)
    r = rng.uniform(size / 16, size / 5)
    n = 24
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    radii = r * np.exp(np.cumsum(rng.normal(0, 0.15, n)) * 0.5)
    pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 1)
    if rng.random() < 0.7:
        ragged = (rng.random((size // 8 + 1, size // 8 + 1)) < 0.5).astype(np.uint8)
        ragged = cv2.resize(ragged, (size, size), interpolation=cv2.INTER_NEAREST)[:size, :size]
        edge = cv2.morphologyEx(canvas, cv2.MORPH_GRADIENT, np.ones((9, 9), np.uint8)) > 0
        canvas[edge & (ragged > 0)] = 1


_DRAW = {"walk": _walk, "strokes": _stroke, "cracks": _crack, "losses": _loss}


def generate(kind: str, size: int, ratio: RatioRange, rng: np.random.Generator) -> np.ndarray:
    """A generated ``size``² hole mask of ``kind`` with its hole ratio inside ``ratio`` (best effort)."""
    canvas = np.zeros((size, size), np.uint8)
    lo, hi = ratio
    for _ in range(200):
        trial = canvas.copy()
        _DRAW[kind](size, rng, trial)
        if trial.mean() > hi:
            if canvas.mean() >= lo:
                break
            continue
        canvas = trial
        if canvas.mean() >= lo:
            break
    return canvas > 0


@dataclass
class HoleSampler:
    """Draws training hole masks of one size from files and generators by a configured mix."""

    size: int
    files: list[Path] = field(default_factory=list)
    ratios: dict[RatioRange, float] = field(default_factory=lambda: dict(DEFAULT_RATIOS))
    kinds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_KINDS))
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self._cache: dict[Path, np.ndarray] = {}
        self._by_ratio: dict[RatioRange, list[Path]] = {r: [] for r in self.ratios}
        self._other: list[Path] = []
        for p in self.files:
            idx = irregular_index(p) if "irregular" in p.parts else None
            if idx is None:
                self._other.append(p)
                continue
            approx = 0.01 + 0.1 * (idx // IRREGULAR_BIN) + 0.05  # the bin's middle
            for r in self._by_ratio:
                if r[0] <= approx < r[1] + 0.05:
                    self._by_ratio[r].append(p)
                    break
        if not self.files:
            self.kinds = {k: w for k, w in self.kinds.items() if k != "file"}

    def _pick(self, weights: dict) -> object:
        keys = list(weights)
        w = np.array([weights[k] for k in keys], float)
        return keys[int(self.rng.choice(len(keys), p=w / w.sum()))]

    def _from_file(self, ratio: RatioRange) -> np.ndarray:
        pool = self._by_ratio.get(ratio) or []
        if self._other and (not pool or self.rng.random() < 0.25):
            pool = self._other
        if not pool:  # no file of this ratio: any file, its window picked for the ratio below
            pool = self.files
        path = pool[int(self.rng.integers(len(pool)))]
        mask = self._cache.get(path)
        if mask is None:
            mask = self._cache[path] = load_mask_file(path)
        h, w = mask.shape
        # a random window, so hole shapes come at several scales relative to the patch
        lo, hi = ratio
        for _ in range(6):
            side = int(self.rng.integers(min(self.size, h, w), min(h, w) + 1))
            y, x = self.rng.integers(0, h - side + 1), self.rng.integers(0, w - side + 1)
            window = mask[y : y + side, x : x + side]
            if lo <= window.mean() <= hi + 0.05:
                break
        mask = window
        out = cv2.resize(mask.astype(np.uint8), (self.size, self.size), interpolation=cv2.INTER_NEAREST) > 0
        k = int(self.rng.integers(4))
        out = np.rot90(out, k)
        return np.ascontiguousarray(out[:, ::-1] if self.rng.random() < 0.5 else out)

    def sample(self) -> np.ndarray:
        ratio = self._pick(self.ratios)
        kind = self._pick(self.kinds)
        if kind == "file":
            mask = self._from_file(ratio)
        else:
            mask = generate(str(kind), self.size, ratio, self.rng)
        if not mask.any():
            mask[self.size // 2 - 4 : self.size // 2 + 4, self.size // 2 - 4 : self.size // 2 + 4] = True
        return mask


def mask_files(folders: list[Path], validation: bool = False) -> list[Path]:
    """Mask images under ``folders``: training files, or the held-out validation ones."""
    out = []
    for folder in folders:
        for p in sorted(folder.rglob("*.png")):
            irregular = "irregular" in p.parts
            if validation:
                if irregular and is_validation_mask(p):
                    out.append(p)
            elif not (irregular and is_validation_mask(p)):
                out.append(p)
    return out

"""A contact sheet of the detector's synthetic training damage next to real weathered murals.

    python benchmarks/damage_samples.py [--out benchmarks/out/damage-samples.png] [--samples 12] [--seed 0]

Clean patches are cut from the training murals (validation images and photographs of real
damage left out) the way training cuts them (256 px, random scale and turn), then damaged by
``damage_patch``. Each sample is two cells: the damaged patch, and its masks painted over it in
the class colours (crack red, flaking orange, loss blue, stain purple, fading green). The last
rows are real weathered photographs from ``murals/dunhuang/rxyhc-weathered``, scaled whole
into the cells, to judge by eye whether the synthetic damage looks like the real one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from muralstudio.cli import report_errors
from muralstudio.commands.contact_sheet import BACKGROUND, ContactSheet
from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.train.damage import CLASSES, damage_patch
from muralstudio.train.patches import PatchConfig, PatchSource, image_files, load_rgb8

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "murals"
WEATHERED = DATA / "dunhuang" / "rxyhc-weathered"
CELL = 256
PER_ROW = 3  # samples per row (two cells each)


def overlay(image: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The masks (C, H, W) painted over the image in each class's colour, half opaque."""
    out = image.astype(np.float32)
    for c in reversed(range(len(CLASSES))):  # cracks last, on top
        colour = np.array(STYLES[DamageClass(CLASSES[c])].color, np.float32)
        out[masks[c]] = 0.45 * out[masks[c]] + 0.55 * colour
    return np.rint(out).astype(np.uint8)


def letterbox(image: np.ndarray, size: int = CELL) -> np.ndarray:
    """The whole image scaled into a ``size`` square, the rest filled with the sheet's background."""
    h, w = image.shape[:2]
    s = size / max(h, w)
    small = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    out = np.empty((size, size, 3), np.uint8)
    out[:] = BACKGROUND
    y, x = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


def synthetic(n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` (damaged patch, masks) pairs from clean training-mural patches."""
    rng = np.random.default_rng(seed)
    paths = image_files([DATA])
    chosen = [paths[i] for i in rng.choice(len(paths), min(len(paths), n), replace=False)]
    murals = [im for im in (load_rgb8(p, 2048) for p in chosen) if min(im.shape[:2]) >= CELL]
    source = iter(PatchSource(murals, PatchConfig(size=CELL, per_image=2, scale=(0.35, 1.0)), seed))
    return [damage_patch(next(source), rng) for _ in range(n)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "damage-samples.png")
    ap.add_argument("--samples", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"no murals at {DATA}")
    samples = synthetic(args.samples, args.seed)
    real = sorted(p for p in WEATHERED.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    real = [real[i] for i in np.linspace(0, len(real) - 1, 2 * PER_ROW * 2).round().astype(int)]
    rows = -(-len(samples) // PER_ROW) + -(-len(real) // (2 * PER_ROW))
    sheet = ContactSheet([(CELL, CELL)] * rows, 2 * PER_ROW)
    share = np.zeros(len(CLASSES))
    for i, (img, masks) in enumerate(samples):
        row, col = divmod(i, PER_ROW)
        present = [c for c, m in zip(CLASSES, masks) if m.any()]
        share += masks.mean(axis=(1, 2))
        sheet.put(row, 2 * col, img, f"synthetic #{i}")
        sheet.put(row, 2 * col + 1, overlay(img, masks), "+".join(present) or "no damage")
    first = -(-len(samples) // PER_ROW)
    for j, p in enumerate(real):
        row, col = divmod(j, 2 * PER_ROW)
        sheet.put(first + row, col, letterbox(load_rgb8(p)), f"real: {p.name}")
    path = sheet.write(args.out)
    print(f"{len(samples)} synthetic samples (mean share per class: "
          + ", ".join(f"{c} {100 * s / len(samples):.1f} %" for c, s in zip(CLASSES, share))
          + f") and {len(real)} real weathered photographs: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))

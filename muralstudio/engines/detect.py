"""Damage detection on scans of any size: the detector U-Net run tile by tile.

Each tile is taken with a margin of context on every side (reflected at the image border),
run through the network, and only its centre kept, so tiles join without seams and memory
is bounded by one tile whatever the scan's size. On CPUs with native bfloat16 arithmetic the
network runs mostly in bfloat16 (``precision`` auto; about 1.6x faster, and the detector's
figures on held-out data the same to within 0.001: ``muralstudio.nets.detector``). Probabilities are kept as 8-bit maps
(0-255 for 0-1), one per class. Like the inpainters, :func:`detect` is a generator that
yields Progress and stops when it is closed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generator, Sequence

import numpy as np

from muralstudio.core.damage import DamageClass
from muralstudio.core.errors import ModelError
from muralstudio.core.progress import Progress
from muralstudio.engines import models
from muralstudio.engines.precision import compute_dtype, dtype_name

if TYPE_CHECKING:
    from muralstudio.nets.detector import DamageUNet
    from muralstudio.nets.weights import Weights

SHIPPED = "detector"  # the manifest name of the shipped detector
CLASSES = tuple(c.value for c in DamageClass)  # the network's output channels, in this order
TILE = 1024  # pixels of each tile that are kept
MARGIN = 64  # context around each tile, cut off again
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class DetectRequest:
    image: np.ndarray  # (H, W, C) uint8 or uint16, C = 1 or 3 (alpha already set aside)
    weights: str = ""  # a file, or a shipped model name ("" = the shipped detector)
    device: str = "auto"
    tile: int = TILE
    precision: str = "auto"  # auto | float32 | bfloat16 (see muralstudio.engines.precision)


@dataclass
class Detection:
    """Probability maps per class, and what made them."""

    probabilities: np.ndarray  # (classes, H, W) uint8, 255 = certain
    classes: tuple[str, ...] = CLASSES
    weights_sha256: str = ""
    elapsed_s: float = 0.0
    meta: dict[str, object] = field(default_factory=dict)

    def probability(self, cls: str) -> np.ndarray:
        return self.probabilities[self.classes.index(cls)]

    def mask(self, cls: str, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        """Bool (H, W): where the class's probability reaches ``threshold``."""
        return self.probability(cls) >= max(1, round(threshold * 255))


def _check_classes(model: DamageUNet, weights: Weights) -> None:
    if model.config.classes != len(CLASSES):
        raise ModelError(f"{weights.path.name} detects {model.config.classes} classes, not {len(CLASSES)}.")


MODEL = models.NetworkSpec(SHIPPED, "Damage detection", "muralstudio.nets.detector", "DetectorConfig", "DamageUNet",
                           _check_classes)


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 view or copy of an 8/16-bit grey or RGB image."""
    px = image if image.ndim == 3 else image[:, :, None]
    if px.dtype == np.uint16:
        px = (px >> 8).astype(np.uint8)
    elif px.dtype != np.uint8:
        raise ValueError(f"images must be uint8 or uint16, not {px.dtype}")
    return np.repeat(px, 3, axis=2) if px.shape[2] == 1 else px[:, :, :3]


def tiles(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    """Boxes (y0, x0, y1, x1) of at most ``tile`` × ``tile`` covering the image, row by row."""
    return [(y, x, min(height, y + tile), min(width, x + tile))
            for y in range(0, height, tile) for x in range(0, width, tile)]


def _window(rgb: np.ndarray, box: tuple[int, int, int, int], margin: int, multiple: int
            ) -> tuple[np.ndarray, tuple[int, int]]:
    """The tile with ``margin`` of context, reflected where the image ends, padded to a multiple."""
    import cv2

    h, w = rgb.shape[:2]
    y0, x0, y1, x1 = box
    a0, b0, a1, b1 = max(0, y0 - margin), max(0, x0 - margin), min(h, y1 + margin), min(w, x1 + margin)
    th, tw = (y1 - y0) + 2 * margin, (x1 - x0) + 2 * margin
    th, tw = -(-th // multiple) * multiple, -(-tw // multiple) * multiple
    top, left = margin - (y0 - a0), margin - (x0 - b0)
    bottom, right = th - top - (a1 - a0), tw - left - (b1 - b0)
    crop = rgb[a0:a1, b0:b1]
    # reflection needs the crop to be larger than the padding; tiny images repeat their edge
    mode = cv2.BORDER_REFLECT_101 if min(crop.shape[:2]) > max(top, bottom, left, right) else cv2.BORDER_REPLICATE
    window = cv2.copyMakeBorder(np.ascontiguousarray(crop), top, bottom, left, right, mode)
    return window, (margin, margin)


def detect(request: DetectRequest) -> Generator[Progress, None, Detection]:
    """Probability maps of every damage class over ``request.image``."""
    import torch

    t0 = time.monotonic()
    yield Progress(0.0, "Loading the detector")
    model, weights, device = MODEL.load(request.weights, request.device)
    dtype = compute_dtype(request.precision, device)
    rgb = to_rgb8(request.image)
    h, w = rgb.shape[:2]
    out = np.zeros((len(CLASSES), h, w), np.uint8)
    boxes = tiles(h, w, max(64, request.tile))
    for i, box in enumerate(boxes):
        window, (oy, ox) = _window(rgb, box, MARGIN, model.multiple)
        x = torch.from_numpy(window).to(device).permute(2, 0, 1)[None].float().div_(255.0)
        with torch.inference_mode():
            prob = torch.sigmoid(model(x.contiguous(memory_format=torch.channels_last), dtype))[0]
        y0, x0, y1, x1 = box
        keep = prob[:, oy : oy + (y1 - y0), ox : ox + (x1 - x0)]
        out[:, y0:y1, x0:x1] = (keep * 255).round_().byte().cpu().numpy()
        yield Progress((i + 1) / len(boxes), f"Detecting damage: tile {i + 1} of {len(boxes)}")
    return Detection(out, CLASSES, weights.sha256, time.monotonic() - t0,
                     {"weights": str(weights.path.name), "device": str(device), "tile": request.tile,
                      "margin": MARGIN, "precision": dtype_name(dtype)})


def class_masks(detection: Detection, thresholds: dict[str, float] | float = DEFAULT_THRESHOLD,
                classes: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Bool masks of the chosen classes at their thresholds (one number for all, or per class)."""
    chosen = list(classes) if classes is not None else list(detection.classes)
    for c in chosen:
        if c not in detection.classes:
            raise ValueError(f"Unknown damage class '{c}'; use one of: {', '.join(detection.classes)}.")
    th = thresholds if isinstance(thresholds, dict) else {c: float(thresholds) for c in chosen}
    return {c: detection.mask(c, th.get(c, DEFAULT_THRESHOLD)) for c in chosen}


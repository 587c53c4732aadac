"""The shipped diffusion weights: documented, intact, and following guide lines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from muralstudio.core.candidate import apply_patches
from muralstudio.demo.mural import make_clean_mural
from muralstudio.engines import InpaintRequest, drive, get_engine
from muralstudio.nets.weights import MODELS_DIR, load_weights, manifest, sha256_of

ENTRY = manifest().get("models", {}).get("diffusion", {})


def test_manifest_documents_the_shipped_model():
    for key in ("file", "sha256", "bytes", "architecture", "config", "parameters", "training", "data", "figures"):
        assert key in ENTRY, key
    path = MODELS_DIR / ENTRY["file"]
    assert sha256_of(path) == ENTRY["sha256"] and path.stat().st_size == ENTRY["bytes"] < 16 * 2**20
    w = load_weights(path, "diffusion-unet")
    assert w.config == ENTRY["config"]


def guide_strength(seed: int) -> tuple[float, float]:
    """Mean gradient along a diagonal guide line inside a loss, restored with and without it."""
    mural = (make_clean_mural(512, 384, seed=3) >> 8).astype(np.uint8)
    img = np.ascontiguousarray(mural[64:320, 128:384])
    hole = np.zeros((256, 256), bool)
    hole[72:184, 72:184] = True
    guide = np.zeros((256, 256), np.uint8)
    cv2.line(guide, (40, 60), (216, 196), 255, 3)
    guide = guide > 0
    inside = cv2.erode(hole.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0  # away from the hole's rim
    along = cv2.dilate(guide.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    strengths = []
    for lines in (guide, None):
        result = drive(get_engine("diffusion").run(InpaintRequest(
            img, hole, {"candidates": 1, "seed": seed, "device": "cpu"}, guide=lines)))
        grey = cv2.cvtColor(apply_patches(img, result.patches), cv2.COLOR_RGB2GRAY).astype(np.float32)
        grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        strengths.append(float(grad[along & inside].mean()))
    return strengths[0], strengths[1]


@pytest.mark.parametrize("seed", [0, 1])
def test_restored_edges_follow_a_drawn_guide_line(seed):
    guided, plain = guide_strength(seed)
    assert guided > 1.5 * plain, (guided, plain)

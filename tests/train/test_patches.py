"""Patch sampling: validation images stay out, patches are spread out and avoid damage."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from muralstudio.train.patches import PatchConfig, PatchSource, far_apart, image_files


def test_validation_images_and_damaged_sets_are_kept_out(tmp_path: Path):
    for rel in ["dunhuang/xunmeng/九色鹿3.jpg", "dunhuang/xunmeng/other.jpg", "thai/case01-toinpaint.jpg",
                "dunhuang/rxyhc-weathered/a.jpg", "dunhuang/kerr-photos/B-left.jpg"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(p), np.full((40, 40, 3), 128, np.uint8))
    train = {p.name for p in image_files([tmp_path])}
    val = {p.name for p in image_files([tmp_path], validation=True)}
    assert train == {"other.jpg"}
    assert val == {"九色鹿3.jpg", "B-left.jpg"}


def test_far_apart_points_spread():
    rng = np.random.default_rng(0)
    pts = far_apart(1000, 1000, 9, rng)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2) + np.eye(9) * 1e9
    assert d.min() > 150


def test_patches_have_size_and_avoid_blocked_pixels():
    img = np.zeros((600, 600, 3), np.uint8)
    img[:, 300:] = 255  # the right half is "damaged" and white
    blocked = np.zeros((600, 600), bool)
    blocked[:, 290:] = True
    src = iter(PatchSource([img], PatchConfig(size=64, per_image=10), seed=1, avoid=[blocked]))
    patches = [next(src) for _ in range(40)]
    assert all(p.shape == (64, 64, 3) for p in patches)
    assert max(int(p.max()) for p in patches) == 0

"""Hole masks: generated kinds reach their ratio ranges, files are split train/validation."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from muralstudio.train.holes import HoleSampler, generate, is_validation_mask, mask_files


@pytest.mark.parametrize("kind", ["walk", "strokes", "cracks", "losses"])
def test_generated_masks_reach_their_ratio(kind: str):
    ratios = [generate(kind, 128, (0.10, 0.30), np.random.default_rng(i)).mean() for i in range(8)]
    assert all(0.05 <= r <= 0.30 for r in ratios), ratios
    assert np.median(ratios) >= 0.10


def test_cracks_are_thin():
    m = generate("cracks", 256, (0.02, 0.05), np.random.default_rng(0))
    eroded = cv2.erode(m.astype(np.uint8), np.ones((5, 5), np.uint8))
    assert eroded.sum() < 0.2 * m.sum()


def _write_masks(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        m = np.zeros((64, 64), np.uint8)
        m[: 4 + i % 20, :] = 255
        cv2.imwrite(str(folder / f"{i:05d}.png"), m)


def test_validation_masks_never_train(tmp_path: Path):
    _write_masks(tmp_path / "irregular", 60)
    train = mask_files([tmp_path / "irregular"])
    val = mask_files([tmp_path / "irregular"], validation=True)
    assert {p.name for p in val} == {"00000.png", "00020.png", "00040.png"}
    assert not set(train) & set(val)
    assert all(is_validation_mask(p) for p in val)


def test_sampler_mixes_files_and_generators(tmp_path: Path):
    _write_masks(tmp_path / "irregular", 40)
    s = HoleSampler(64, mask_files([tmp_path / "irregular"]), seed=3)
    masks = [s.sample() for _ in range(30)]
    assert all(m.shape == (64, 64) and m.dtype == bool and m.any() for m in masks)
    assert 0.01 < np.mean([m.mean() for m in masks]) < 0.6


def test_sampler_without_files_uses_generators_only():
    s = HoleSampler(64, [], seed=1)
    assert "file" not in s.kinds
    assert s.sample().any()

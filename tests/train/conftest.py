"""What the trainer tests share: a folder of small demo murals to train on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from muralstudio.demo.mural import make_clean_mural


@pytest.fixture
def murals(tmp_path: Path) -> Path:
    """Three 160 × 128 8-bit demo murals as PNG files in one folder."""
    folder = tmp_path / "murals"
    folder.mkdir()
    for i in range(3):
        img = (make_clean_mural(160, 128, seed=i) >> 8).astype(np.uint8)
        cv2.imwrite(str(folder / f"m{i}.png"), img[:, :, ::-1])
    return folder

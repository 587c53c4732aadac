"""A short real detector training run with a tiny network (a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from muralstudio.cli import main
from muralstudio.core.errors import TrainingError
from muralstudio.demo.mural import make_clean_mural
from muralstudio.engines.base import drive
from muralstudio.nets.weights import load_weights
from muralstudio.train.detector import DetectorTrainConfig, count, crack_pairs, scores, train_detector

TINY = {"classes": 5, "base": 4, "depth": 2, "max_width": 8}


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    murals = tmp_path / "murals"
    murals.mkdir()
    for i in range(3):
        img = (make_clean_mural(160, 128, seed=i) >> 8).astype(np.uint8)
        cv2.imwrite(str(murals / f"m{i}.png"), img[:, :, ::-1])
    cracks = tmp_path / "cracks"
    (cracks / "image").mkdir(parents=True)
    (cracks / "mask").mkdir()
    rng = np.random.default_rng(0)
    for i in range(7):
        img = rng.integers(90, 160, (64, 96, 3), dtype=np.uint8)
        mask = np.zeros((64, 96), np.uint8)
        cv2.line(mask, (0, int(rng.integers(64))), (95, int(rng.integers(64))), 255, 2)
        img[mask > 0] = 30
        cv2.imwrite(str(cracks / "image" / f"{i:03d}.jpg"), img)
        cv2.imwrite(str(cracks / "mask" / f"{i:03d}.png"), mask)
    return murals, cracks


def test_scores_from_counts():
    prob = np.zeros((1, 5, 4, 4))
    truth = np.zeros((1, 5, 4, 4), bool)
    truth[0, 0, :2] = True  # 8 crack pixels
    prob[0, 0, :1] = 0.9  # 4 found
    prob[0, 0, 3] = 0.9  # 4 false
    figures = scores(count(prob, truth))
    assert figures == {"crack_iou": round(4 / 12, 4), "crack_f1": 0.5}  # classes with nothing to find are left out


def test_crack_photographs_are_held_out_by_position(data):
    _, cracks = data
    held, kept = crack_pairs(cracks, True), crack_pairs(cracks, False)
    assert [p.stem for p, _ in held] == ["005"] and len(kept) == 6
    assert not {p for p, _ in held} & {p for p, _ in kept}


def test_training_writes_weights_that_validate(data, tmp_path):
    murals, cracks = data
    out = tmp_path / "det.pt"
    cfg = DetectorTrainConfig([str(murals)], str(out), 0.05, cracks=str(cracks), net=TINY, patch=64, batch=4,
                              pool=12, refresh=2, demo_share=0.0, validation_patches=4, validate_every=1.0,
                              checkpoint_every=1.0)
    logs: list[str] = []
    state = drive(train_detector(cfg, log=logs.append))
    assert state.step > 0 and "crackforest_f1" in state.best and "score" in state.best
    w = load_weights(out, "damage-unet")
    assert w.config == TINY and w.meta["classes"] == ["crack", "flaking", "loss", "stain", "fading"]
    assert json.loads(out.with_suffix(".json").read_text())["cracks"] == str(cracks)
    assert any("1 held out" in line for line in logs)


def test_cli_errors_are_one_line(data, tmp_path, capsys):
    murals, _ = data
    code = main(["train", "detector", "--data", str(murals), "--minutes", "0.01", "--out", str(tmp_path / "d.pt"),
                 "--cracks", str(tmp_path / "nowhere"), "-q"])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    code = main(["train", "pconv", "--data", str(murals), "--minutes", "0.01", "--out", str(tmp_path / "p.pt"),
                 "--cracks", str(murals), "-q"])
    assert code == 2 and "--cracks goes with train detector" in capsys.readouterr().err
    with pytest.raises(TrainingError, match="multiple of 4"):
        drive(train_detector(DetectorTrainConfig([str(murals)], str(tmp_path / "x.pt"), 0.01, net=TINY, patch=30)))

"""Training the diffusion denoiser: guides for samples and a short real run with a tiny network."""

from __future__ import annotations

import json

import cv2
import numpy as np
import torch

from muralstudio.cli import main
from muralstudio.engines.base import drive
from muralstudio.nets.weights import load_weights
from muralstudio.ops.guides import near_hole
from muralstudio.train.diffusion import DiffusionTrainConfig, train_diffusion, training_guide

TINY = {"base": 8, "depth": 2, "max_width": 16, "time_dim": 16}


def test_training_guides_are_edges_near_the_hole_and_can_leave_lines_out():
    img = np.zeros((64, 64, 3), np.uint8)
    for x in (12, 30, 48):
        img[:, x:] += 70  # three vertical steps
    hole = np.zeros((64, 64), bool)
    hole[20:44, 5:60] = True
    full = training_guide(img, hole, np.random.default_rng(0))
    assert full.any() and not (full & ~near_hole(hole)).any()
    n_full = cv2.connectedComponents(full.astype(np.uint8))[0] - 1
    fewer = [cv2.connectedComponents(training_guide(img, hole, np.random.default_rng(s), keep=0.4)
                                     .astype(np.uint8))[0] - 1 for s in range(6)]
    assert n_full >= 3 and min(fewer) < n_full


def test_training_writes_weights_that_validate_and_resumes(murals, tmp_path):
    out = tmp_path / "diff.pt"
    cfg = DiffusionTrainConfig([str(murals)], str(out), 0.05, drawings=[str(murals)], drawing_share=0.5,
                               net=TINY, patch=32, batch=4, validation_patches=4, validate_every=1.0,
                               checkpoint_every=1.0)
    logs: list[str] = []
    state = drive(train_diffusion(cfg, log=logs.append))
    assert state.step > 0
    assert {"psnr", "telea_psnr", "sharpness", "gmsd", "telea_gmsd", "gms"} <= set(state.best)
    w = load_weights(out, "diffusion-unet")
    assert w.config == TINY and w.meta["validation"]["gms"] == state.best["gms"]
    assert json.loads(out.with_suffix(".json").read_text())["patch"] == 32
    ckpt = torch.load(out.with_suffix(".ckpt"), map_location="cpu", weights_only=True)
    assert ckpt["average"].keys() == ckpt["model"].keys()  # the weight average is kept for resuming
    cfg.resume, cfg.minutes = True, 0.1
    again = drive(train_diffusion(cfg, log=logs.append))
    assert again.step > state.step and any("resumed at step" in line for line in logs)


def test_cli_trains_and_refuses_bad_options(murals, tmp_path, capsys):
    out = tmp_path / "d.pt"
    code = main(["train", "diffusion", "--data", str(murals), "--minutes", "0.02", "--out", str(out), "--patch", "32",
                 "--batch", "2", "--base", "8", "--depth", "2", "-q"])
    assert code == 0 and out.is_file()
    code = main(["train", "diffusion", "--data", str(murals), "--minutes", "0.01", "--out", str(out), "--force",
                 "--patch", "36", "-q"])
    assert code != 0 and "multiple of 8" in capsys.readouterr().err
    code = main(["train", "pconv", "--data", str(murals), "--minutes", "0.01", "--out", str(tmp_path / "p.pt"),
                 "--drawings", str(murals), "-q"])
    assert code != 0 and "--drawings goes with train diffusion" in capsys.readouterr().err
    code = main(["train", "diffusion", "--data", str(murals), "--minutes", "0.01", "--out", str(out), "--force",
                 "--ema", "1", "-q"])
    assert code != 0 and "--ema must be" in capsys.readouterr().err

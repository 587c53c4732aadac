"""Every trainer that takes ``--bf16`` really computes its steps in bfloat16, validates and saves
float32 weights, and records the choice beside them; without it nothing runs in bfloat16."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
import torch
import torch.nn.functional as F

from muralstudio.cli import main
from muralstudio.engines.base import drive
from muralstudio.nets.weights import load_weights
from muralstudio.train.colorize import ColorizeTrainConfig, train_colorize
from muralstudio.train.detector import DetectorTrainConfig, train_detector
from muralstudio.train.diffusion import DiffusionTrainConfig, train_diffusion
from muralstudio.train.inpaint import PConvTrainConfig, train_pconv


def _pconv(data: str, out: str, bf16: bool) -> tuple[Any, str]:
    cfg = PConvTrainConfig([data], out, 0.02, net={"base": 8, "depth": 3, "max_mult": 2}, patch=64, batch=2,
                           loss_weights={"perceptual": 0.0}, validation_patches=2, bf16=bf16)
    return train_pconv(cfg, log=lambda _: None), "pconv-unet"


def _diffusion(data: str, out: str, bf16: bool) -> tuple[Any, str]:
    cfg = DiffusionTrainConfig([data], out, 0.02, net={"base": 8, "depth": 2, "max_width": 16, "time_dim": 16},
                               patch=32, batch=2, validation_patches=2, bf16=bf16)
    return train_diffusion(cfg, log=lambda _: None), "diffusion-unet"


def _detector(data: str, out: str, bf16: bool) -> tuple[Any, str]:
    # three levels, so one runs in bfloat16 beside the two the detector keeps in float32
    cfg = DetectorTrainConfig([data], out, 0.02, net={"classes": 5, "base": 4, "depth": 3, "max_width": 8},
                              patch=64, batch=2, pool=6, refresh=1, demo_share=0.0, validation_patches=2, bf16=bf16)
    return train_detector(cfg, log=lambda _: None), "damage-unet"


def _colorize(data: str, out: str, bf16: bool) -> tuple[Any, str]:
    cfg = ColorizeTrainConfig([data], out, 0.02, net={"base": 4, "depth": 2, "max_width": 8}, patch=64, window=128,
                              batch=2, validation_patches=2, bf16=bf16)
    return train_colorize(cfg, log=lambda _: None), "colorize-unet4"


TRAINERS: dict[str, Callable[[str, str, bool], tuple[Any, str]]] = {
    "pconv": _pconv, "diffusion": _diffusion, "detector": _detector, "colorize": _colorize}


@pytest.fixture
def conv_dtypes(monkeypatch) -> list[torch.dtype]:
    """The dtype of every convolution's output while the test runs."""
    seen: list[torch.dtype] = []
    original = F.conv2d

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(F, "conv2d", recording)
    return seen


@pytest.mark.parametrize("model", sorted(TRAINERS))
@pytest.mark.parametrize("bf16", [True, False])
def test_bf16_steps_and_float32_weights(model, bf16, murals, tmp_path, conv_dtypes):
    out = tmp_path / f"{model}.pt"
    run, arch = TRAINERS[model](str(murals), str(out), bf16)
    state = drive(run)
    assert state.step > 0
    assert (torch.bfloat16 in conv_dtypes) == bf16
    assert torch.float32 in conv_dtypes  # validation (and the detector's finest levels) in float32
    assert json.loads(out.with_suffix(".json").read_text())["bf16"] is bf16
    w = load_weights(out, arch)
    assert all(torch.isfinite(v.float()).all() for v in w.state_dict.values())
    ckpt = torch.load(out.with_suffix(".ckpt"), map_location="cpu", weights_only=True)
    assert all(v.dtype == torch.float32 for v in ckpt["model"].values() if v.is_floating_point())


def test_cli_passes_bf16_on_and_refuses_it_for_features(murals, tmp_path, capsys):
    out = tmp_path / "d.pt"
    code = main(["train", "diffusion", "--data", str(murals), "--minutes", "0.01", "--out", str(out), "--patch", "32",
                 "--batch", "2", "--base", "8", "--depth", "2", "--bf16", "-q"])
    assert code == 0 and json.loads(out.with_suffix(".json").read_text())["bf16"] is True
    code = main(["train", "features", "--data", str(murals), "--minutes", "0.01", "--out", str(tmp_path / "f.pt"),
                 "--bf16", "-q"])
    assert code == 2 and "train features takes only" in capsys.readouterr().err

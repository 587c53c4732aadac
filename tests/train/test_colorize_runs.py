"""The colorization network's shape and a short real training run with a tiny network."""

from __future__ import annotations

import json

import torch

from muralstudio.cli import main
from muralstudio.engines.base import drive
from muralstudio.nets.colorize import ARCH, ColorizeConfig, ColorizeUNet, IN_CHANNELS, pack_inputs
from muralstudio.nets.weights import load_weights
from muralstudio.train.colorize import ColorizeTrainConfig, train_colorize

TINY = {"base": 4, "depth": 2, "max_width": 8}


def test_network_shape_and_size():
    net = ColorizeUNet(ColorizeConfig(**TINY))
    assert net.multiple == 8
    out = net(torch.zeros(2, IN_CHANNELS, 48, 64))
    assert out.shape == (2, 2, 48, 64)
    default = sum(p.numel() for p in ColorizeUNet().parameters())
    assert default * 2 < 16 * 2**20  # fp16 weights under 16 MiB


def test_network_corrects_the_estimate_not_the_faded_colour():
    net = ColorizeUNet(ColorizeConfig(**TINY))  # untrained: its correction is zero
    g = torch.Generator().manual_seed(0)
    lab = torch.rand(1, 3, 32, 32, generator=g) * torch.tensor([100.0, 60, 60]).view(1, 3, 1, 1)
    estimate = torch.rand(1, 2, 32, 32, generator=g) * 40 - 20
    zeros = torch.zeros(1, 1, 32, 32)
    out = net(pack_inputs(lab, estimate, zeros + 1, torch.rand(1, 2, 32, 32, generator=g), torch.zeros(1, 2, 32, 32), zeros))
    torch.testing.assert_close(out, estimate)


def test_training_writes_weights_that_validate(murals, tmp_path):
    out = tmp_path / "col.pt"
    cfg = ColorizeTrainConfig([str(murals)], str(out), 0.05, net=TINY, patch=64, window=128, batch=4, validation_patches=4,
                              validate_every=1.0, checkpoint_every=1.0)
    logs: list[str] = []
    state = drive(train_colorize(cfg, log=logs.append))
    assert state.step > 0
    assert {"de_faded", "de_baseline", "de_net", "de_hints5", "improvement"} <= set(state.best)
    w = load_weights(out, ARCH)
    assert w.config == TINY and w.meta["steps"] >= 0
    assert json.loads(out.with_suffix(".json").read_text())["patch"] == 64
    assert out.with_suffix(".ckpt").is_file()


def test_cli_refuses_what_colorize_does_not_take(murals, tmp_path, capsys):
    code = main(["train", "colorize", "--data", str(murals), "--minutes", "0.01", "--out", str(tmp_path / "c.pt"),
                 "--cracks", str(murals), "-q"])
    assert code == 2 and "--cracks goes with train detector" in capsys.readouterr().err
    code = main(["train", "colorize", "--data", str(murals), "--minutes", "0.01", "--out", str(tmp_path / "c.pt"),
                 "--patch", "72", "-q"])
    assert code == 2 and "multiple of 32" in capsys.readouterr().err
